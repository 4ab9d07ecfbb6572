"""Model quality: the evidence library's statistics.json against scikit-learn on the same predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as sk

from mlops_registry.core.evidence import quality
from mlops_registry.core.evidence.errors import EvidenceError

TOLERANCE = 1e-12


def _value(document: dict, section: str, name: str) -> float:
    return float(document[section][name]["value"])


def test_binary_metrics_at_a_threshold_agree_with_scikit_learn() -> None:
    # Given: labels, probability scores with ties, a threshold of 0.4
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    scores = np.round(np.clip(labels * 0.3 + rng.uniform(0, 0.7, 500), 0, 1), 2)  # rounding makes ties
    # When
    doc = quality.binary_classification(labels, positive_label=1, scores=scores, threshold=0.4)
    # Then
    predicted = (scores >= 0.4).astype(int)
    section = "binary_classification_metrics"
    expected = {
        "accuracy": sk.accuracy_score(labels, predicted),
        "precision": sk.precision_score(labels, predicted, zero_division=0),
        "recall": sk.recall_score(labels, predicted, zero_division=0),
        "f1": sk.f1_score(labels, predicted, zero_division=0),
        "f0_5": sk.fbeta_score(labels, predicted, beta=0.5, zero_division=0),
        "f2": sk.fbeta_score(labels, predicted, beta=2, zero_division=0),
        "auc": sk.roc_auc_score(labels, scores),
        "true_negative_rate": sk.recall_score(labels, predicted, pos_label=0, zero_division=0),
    }
    worst = max(abs(_value(doc, section, name) - value) for name, value in expected.items())
    assert worst <= TOLERANCE
    tn, fp, fn, tp = sk.confusion_matrix(labels, predicted).ravel()
    assert doc[section]["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    fpr, tpr, _ = sk.roc_curve(labels, scores, drop_intermediate=False)
    curve = doc[section]["receiver_operating_characteristic_curve"]
    assert np.allclose(curve["false_positive_rates"], fpr) and np.allclose(curve["true_positive_rates"], tpr)
    assert doc["dataset"] == {"item_count": 500, "evaluation_time": doc["dataset"]["evaluation_time"], "threshold": 0.4}
    assert float(doc[section]["auc"]["standard_deviation"]) > 0
    print(f"binary quality vs scikit-learn: max |difference| {worst:.3g}")


def test_text_labels_and_predicted_labels() -> None:
    labels = np.asarray(["yes", "no", "yes", "no"], dtype=object)
    predicted = np.asarray(["yes", "yes", "no", "no"], dtype=object)
    doc = quality.binary_classification(labels, positive_label="yes", predicted_labels=predicted, bootstrap=0)
    assert doc["binary_classification_metrics"]["accuracy"] == {"value": 0.5, "standard_deviation": "NaN"}
    assert "auc" not in doc["binary_classification_metrics"]


def test_multiclass_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    labels = rng.choice(["cat", "dog", "bird"], 300, p=[0.5, 0.3, 0.2])
    predicted = np.where(rng.uniform(size=300) < 0.7, labels, rng.choice(["cat", "dog", "bird", "fish"], 300))
    doc = quality.multiclass_classification(labels, predicted)
    section = "multiclass_classification_metrics"
    expected = {
        "accuracy": sk.accuracy_score(labels, predicted),
        "weighted_precision": sk.precision_score(labels, predicted, average="weighted", zero_division=0),
        "weighted_recall": sk.recall_score(labels, predicted, average="weighted", zero_division=0),
        "weighted_f1": sk.f1_score(labels, predicted, average="weighted", zero_division=0),
        "weighted_f0_5": sk.fbeta_score(labels, predicted, beta=0.5, average="weighted", zero_division=0),
        "weighted_f2": sk.fbeta_score(labels, predicted, beta=2, average="weighted", zero_division=0),
    }
    worst = max(abs(_value(doc, section, name) - value) for name, value in expected.items())
    assert worst <= TOLERANCE
    assert doc[section]["confusion_matrix"]["cat"]["cat"] == int(np.sum((labels == "cat") & (predicted == "cat")))
    print(f"multiclass quality vs scikit-learn: max |difference| {worst:.3g}")


def test_regression_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(9)
    truth = rng.normal(50, 10, 400)
    predicted = truth + rng.normal(0, 3, 400)
    doc = quality.regression(truth, predicted)
    section = "regression_metrics"
    expected = {
        "mae": sk.mean_absolute_error(truth, predicted),
        "mse": sk.mean_squared_error(truth, predicted),
        "rmse": math.sqrt(sk.mean_squared_error(truth, predicted)),
        "r2": sk.r2_score(truth, predicted),
    }
    worst = max(abs(_value(doc, section, name) - value) for name, value in expected.items())
    assert worst <= 1e-9
    print(f"regression quality vs scikit-learn: max |difference| {worst:.3g}")


def test_the_metrics_gate_reads_the_computed_report() -> None:
    from mlops_registry.core.reports import flatten_metrics

    doc = quality.binary_classification(np.asarray([1, 0, 1, 0]), scores=np.asarray([0.9, 0.2, 0.6, 0.7]))
    values = flatten_metrics(doc)
    assert values["auc"] == pytest.approx(0.75)
    assert values["accuracy"] == pytest.approx(0.75)


def test_bad_input_names_the_field() -> None:
    with pytest.raises(EvidenceError, match="'scores'"):
        quality.binary_classification(np.asarray([1, 0]), scores=np.asarray([0.5, math.nan]))
    with pytest.raises(EvidenceError, match="'predictions'"):
        quality.binary_classification(np.asarray([1, 0]))
    with pytest.raises(EvidenceError, match="'label'"):
        quality.regression(np.asarray(["a", "b"], dtype=object), np.asarray([1.0, 2.0]))
