"""Model quality in SageMaker Model Monitor's model-quality ``statistics.json`` format.

Sections and metric names are Model Monitor's (``binary_classification_metrics``,
``multiclass_classification_metrics``, ``regression_metrics``), each metric ``{"value": x,
"standard_deviation": s}``. ``standard_deviation`` is the bootstrap standard deviation of the metric
(``bootstrap`` resamples with a fixed seed, as Model Monitor reports it); 0 resamples write "NaN".
Definitions agree with scikit-learn (tests/unit/test_evidence_quality.py): precision, recall and F
scores are 0 where undefined (scikit-learn's ``zero_division=0``); AUC is the Mann-Whitney statistic
with mid-ranks for tied scores (``roc_auc_score``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from mlops_registry.core.evidence.errors import EvidenceError

DEFAULT_BOOTSTRAP = 20
SEED = 20240229


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def _f_beta(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    denominator = b2 * precision + recall
    return float((1 + b2) * precision * recall / denominator) if denominator else 0.0


def roc_auc(truth: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties counting 1/2."""
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    # mid-ranks for ties: a run of equal scores from position start to end ranks (start + end) / 2 + 1
    first = np.r_[True, sorted_scores[1:] != sorted_scores[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(sorted_scores)] - 1
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = ((starts + ends) / 2.0 + 1.0)[np.cumsum(first) - 1]
    rank_sum = float(ranks[truth].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def _roc_curve(truth: np.ndarray, scores: np.ndarray) -> tuple[list[float], list[float], list[float], list[float]]:
    """ROC (fpr, tpr) and precision-recall points at every distinct score threshold, highest first."""
    order = np.argsort(-scores, kind="mergesort")
    ordered_scores, ordered_truth = scores[order], truth[order]
    distinct = np.r_[np.where(np.diff(ordered_scores))[0], len(ordered_truth) - 1]
    tps = np.cumsum(ordered_truth)[distinct].astype(np.float64)
    fps = (distinct + 1 - tps).astype(np.float64)
    positives, negatives = float(truth.sum()), float(len(truth) - truth.sum())
    fpr = [0.0, *(fps / negatives if negatives else fps * 0).tolist()]
    tpr = [0.0, *(tps / positives if positives else tps * 0).tolist()]
    precisions = (tps / (tps + fps)).tolist()
    recalls = (tps / positives if positives else tps * 0).tolist()
    return fpr, tpr, precisions, recalls


def _binary_values(truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None) -> dict[str, float]:
    tp = float(np.sum(truth & predicted))
    tn = float(np.sum(~truth & ~predicted))
    fp = float(np.sum(~truth & predicted))
    fn = float(np.sum(truth & ~predicted))
    n = len(truth)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    # The best constant classifier predicts the majority label for every row.
    positive_majority = truth.sum() * 2 >= n
    constant_precision = _ratio(float(truth.sum()), n) if positive_majority else 0.0
    constant_recall = 1.0 if positive_majority and truth.any() else 0.0
    values = {
        "recall": recall,
        "precision": precision,
        "accuracy": _ratio(tp + tn, n),
        "recall_best_constant_classifier": constant_recall,
        "precision_best_constant_classifier": constant_precision,
        "accuracy_best_constant_classifier": _ratio(max(float(truth.sum()), float(n - truth.sum())), n),
        "true_positive_rate": recall,
        "true_negative_rate": _ratio(tn, tn + fp),
        "false_positive_rate": _ratio(fp, fp + tn),
        "false_negative_rate": _ratio(fn, fn + tp),
        "f0_5": _f_beta(precision, recall, 0.5),
        "f1": _f_beta(precision, recall, 1.0),
        "f2": _f_beta(precision, recall, 2.0),
        "f0_5_best_constant_classifier": _f_beta(constant_precision, constant_recall, 0.5),
        "f1_best_constant_classifier": _f_beta(constant_precision, constant_recall, 1.0),
        "f2_best_constant_classifier": _f_beta(constant_precision, constant_recall, 2.0),
    }
    if scores is not None:
        values["auc"] = roc_auc(truth, scores)
    return values


def _bootstrap_std(
    compute: Callable[[np.ndarray], dict[str, float]], rows: int, names: Sequence[str], resamples: int
) -> dict[str, float]:
    if resamples <= 0:
        return {}
    rng = np.random.default_rng(SEED)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(resamples):
        values = compute(rng.integers(0, rows, size=rows))
        for name in names:
            samples[name].append(values[name])
    return {
        name: float(np.nanstd(np.asarray(v))) if not np.all(np.isnan(v)) else math.nan for name, v in samples.items()
    }


def _section(values: dict[str, float], deviations: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        deviation = deviations.get(name, math.nan)
        out[name] = {
            "value": value if math.isfinite(value) else "NaN",
            "standard_deviation": deviation if math.isfinite(deviation) else "NaN",
        }
    return out


def _document(rows: int, section: str, body: dict[str, Any], evaluated_at: datetime | None) -> dict[str, Any]:
    moment = (evaluated_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": 0.0,
        "dataset": {
            "item_count": rows,
            "evaluation_time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
        section: body,
    }


def _positive(values: np.ndarray, positive_label: Any, field: str) -> np.ndarray:
    if values.dtype.kind == "f":
        try:
            target = float(positive_label)
        except (TypeError, ValueError):
            raise EvidenceError(
                field, positive_label, "the column is numeric; the positive label must be a number"
            ) from None
        return values == target
    return values.astype(str) == str(positive_label)


def binary_classification(
    labels: np.ndarray,
    *,
    positive_label: Any = 1,
    scores: np.ndarray | None = None,
    predicted_labels: np.ndarray | None = None,
    threshold: float = 0.5,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    evaluated_at: datetime | None = None,
) -> dict[str, Any]:
    """``binary_classification_metrics``: predictions are ``scores >= threshold`` (or ``predicted_labels``)."""
    truth = _positive(np.asarray(labels), positive_label, "label")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if len(scores) != len(truth) or not np.all(np.isfinite(scores)):
            raise EvidenceError("scores", f"{len(scores)} values", "must be finite, one per label")
        if not math.isfinite(threshold):
            raise EvidenceError("threshold", threshold, "must be a finite number")
        predicted = scores >= threshold
    elif predicted_labels is not None:
        predicted = _positive(np.asarray(predicted_labels), positive_label, "predicted label")
    else:
        raise EvidenceError("predictions", None, "give scores (with a threshold) or predicted labels")
    if len(predicted) != len(truth):
        raise EvidenceError("predictions", len(predicted), f"need one prediction per label ({len(truth)})")

    def compute(index: np.ndarray) -> dict[str, float]:
        return _binary_values(truth[index], predicted[index], None if scores is None else scores[index])

    values = compute(np.arange(len(truth)))
    body = _section(values, _bootstrap_std(compute, len(truth), list(values), bootstrap))
    tp = int(np.sum(truth & predicted))
    fp = int(np.sum(~truth & predicted))
    fn = int(np.sum(truth & ~predicted))
    tn = int(np.sum(~truth & ~predicted))
    body["confusion_matrix"] = {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    if scores is not None:
        fpr, tpr, precisions, recalls = _roc_curve(truth, scores)
        body["receiver_operating_characteristic_curve"] = {"false_positive_rates": fpr, "true_positive_rates": tpr}
        body["precision_recall_curve"] = {"precisions": precisions, "recalls": recalls}
    document = _document(len(truth), "binary_classification_metrics", body, evaluated_at)
    if scores is not None:
        document["dataset"]["threshold"] = threshold
    return document


def _multiclass_values(truth: np.ndarray, predicted: np.ndarray, classes: Sequence[str]) -> dict[str, float]:
    n = len(truth)
    support = {c: float(np.sum(truth == c)) for c in classes}
    majority = max(classes, key=lambda c: (support[c], -list(classes).index(c)))
    values: dict[str, float] = {"accuracy": _ratio(float(np.sum(truth == predicted)), n)}
    for suffix, guess in (("", predicted), ("_best_constant_classifier", np.full(n, majority, dtype=object))):
        weighted = {"recall": 0.0, "precision": 0.0, "f0_5": 0.0, "f1": 0.0, "f2": 0.0}
        for c in classes:
            tp = float(np.sum((truth == c) & (guess == c)))
            precision = _ratio(tp, float(np.sum(guess == c)))
            recall = _ratio(tp, support[c])
            weight = _ratio(support[c], n)
            weighted["recall"] += weight * recall
            weighted["precision"] += weight * precision
            for beta, key in ((0.5, "f0_5"), (1.0, "f1"), (2.0, "f2")):
                weighted[key] += weight * _f_beta(precision, recall, beta)
        for key, value in weighted.items():
            values[f"weighted_{key}{suffix}"] = value
    values["accuracy_best_constant_classifier"] = _ratio(support[majority], n)
    return values


def multiclass_classification(
    labels: np.ndarray,
    predicted_labels: np.ndarray,
    *,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    evaluated_at: datetime | None = None,
) -> dict[str, Any]:
    """``multiclass_classification_metrics``: accuracy and support-weighted precision, recall and F scores."""
    truth = np.asarray([_class_name(v) for v in np.asarray(labels)], dtype=object)
    predicted = np.asarray([_class_name(v) for v in np.asarray(predicted_labels)], dtype=object)
    if len(truth) != len(predicted):
        raise EvidenceError("predicted label", len(predicted), f"need one prediction per label ({len(truth)})")
    classes = sorted(set(truth.tolist()) | set(predicted.tolist()))

    def compute(index: np.ndarray) -> dict[str, float]:
        return _multiclass_values(truth[index], predicted[index], classes)

    values = compute(np.arange(len(truth)))
    body = _section(values, _bootstrap_std(compute, len(truth), list(values), bootstrap))
    body["confusion_matrix"] = {t: {p: int(np.sum((truth == t) & (predicted == p))) for p in classes} for t in classes}
    return _document(len(truth), "multiclass_classification_metrics", body, evaluated_at)


def _class_name(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _regression_values(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    errors = truth - predicted
    mse = float(np.mean(errors**2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    residual = float(np.sum(errors**2))
    # scikit-learn: a constant target scores 1 when fitted exactly, else 0
    r2 = (1.0 if residual == 0.0 else 0.0) if total == 0.0 else 1.0 - residual / total
    return {"mae": float(np.mean(np.abs(errors))), "mse": mse, "rmse": math.sqrt(mse), "r2": r2}


def regression(
    labels: np.ndarray,
    predictions: np.ndarray,
    *,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    evaluated_at: datetime | None = None,
) -> dict[str, Any]:
    """``regression_metrics``: mae, mse, rmse, r2."""
    truth = np.asarray(labels, dtype=np.float64) if np.asarray(labels).dtype.kind in "fiub" else None
    predicted = np.asarray(predictions, dtype=np.float64) if np.asarray(predictions).dtype.kind in "fiub" else None
    if truth is None or not np.all(np.isfinite(truth)):
        raise EvidenceError("label", "non-numeric", "regression needs finite numeric labels")
    if predicted is None or not np.all(np.isfinite(predicted)) or len(predicted) != len(truth):
        raise EvidenceError("prediction", "non-numeric", "regression needs one finite numeric prediction per label")

    def compute(index: np.ndarray) -> dict[str, float]:
        return _regression_values(truth[index], predicted[index])

    values = compute(np.arange(len(truth)))
    body = _section(values, _bootstrap_std(compute, len(truth), list(values), bootstrap))
    return _document(len(truth), "regression_metrics", body, evaluated_at)
