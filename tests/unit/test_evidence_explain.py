"""Explainability: SHAP attributions are additive and agree with shap's explainers; permutation
importances agree exactly with scikit-learn's ``permutation_importance``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsRegressor

from mlops_registry.core.evidence import explain
from mlops_registry.core.evidence.errors import EvidenceError

FEATURES = ["Age", "Capital Gain", "Education-Num", "Hours per week"]


def _data(n: int = 200, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = x[:, 0] * 2.0 + x[:, 1] - 0.5 * x[:, 2] + rng.normal(0, 0.2, n)
    return x, y


def test_tree_shap_values_add_up_to_the_model_output() -> None:
    # Given a random forest regressor
    x, y = _data()
    model = RandomForestRegressor(n_estimators=20, max_depth=4, random_state=0).fit(x, y)
    # When
    values, expected = explain.shap_values(model, x[:50])
    # Then: expected value + sum of attributions = prediction, row by row
    reconstructed = expected[0] + values[:, :, 0].sum(axis=1)
    worst = float(np.max(np.abs(reconstructed - model.predict(x[:50]))))
    assert worst <= 1e-9
    document = explain.shap_explanation(model, x[:50], FEATURES)
    global_values = document["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert list(global_values) == FEATURES
    assert max(global_values, key=global_values.get) == "Age"  # the strongest effect
    print(f"tree SHAP additivity: max |difference| {worst:.3g}")


def test_global_values_agree_with_shaps_own_explainer_for_every_label() -> None:
    import shap

    # Given a three-class forest: one label per class
    x, y = _data()
    classes = np.digitize(y, [-1.0, 1.0])
    model = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(x, classes)
    document = explain.shap_explanation(model, x[:40], FEATURES, label_names=["low", "mid", "high"])
    reference = shap.TreeExplainer(model)(x[:40]).values  # rows x features x classes
    section = document["explanations"]["kernel_shap"]
    assert list(section) == ["low", "mid", "high"]
    worst = 0.0
    for index, label in enumerate(section):
        expected = np.mean(np.abs(reference[:, :, index]), axis=0)
        ours = np.asarray([section[label]["global_shap_values"][f] for f in FEATURES])
        worst = max(worst, float(np.max(np.abs(ours - expected))))
    assert worst <= 1e-12
    print(f"multi-label SHAP vs shap.TreeExplainer: max |difference| {worst:.3g}")


def test_linear_shap_is_the_closed_form() -> None:
    # Given a logistic regression: linear SHAP in log-odds is coef * (x - mean(background))
    x, y = _data()
    model = LogisticRegression().fit(x, y > 0)
    background = x[:100]  # shap summarises a larger background by sampling 100 rows
    values, _ = explain.shap_values(model, x[:30], background=background)
    closed_form = model.coef_[0] * (x[:30] - background.mean(axis=0))
    assert np.max(np.abs(values[:, :, 0] - closed_form)) <= 1e-9


def test_kernel_shap_is_efficient_for_a_model_without_a_specialised_explainer() -> None:
    # Given a k-NN regressor (neither tree nor linear): KernelExplainer over a background summary
    x, y = _data(80)
    model = KNeighborsRegressor(n_neighbors=5).fit(x, y)
    background = x[:10]
    values, expected = explain.shap_values(model, x[:5], background=background)
    # Then: attributions sum to f(x) - E[f(background)]
    reconstructed = expected[0] + values[:, :, 0].sum(axis=1)
    assert np.max(np.abs(reconstructed - model.predict(x[:5]))) <= 1e-6


def test_permutation_importance_agrees_with_scikit_learn_exactly() -> None:
    # Given a classifier scored by accuracy
    x, y = _data()
    labels = (y > 0).astype(int)
    model = LogisticRegression().fit(x, labels)
    # When
    means, stds = explain.permutation_importances(
        model.predict, lambda truth, predicted: float(np.mean(truth == predicted)), x, labels, repeats=7, seed=3
    )
    reference = permutation_importance(model, x, labels, n_repeats=7, random_state=3)
    # Then
    worst = float(
        max(np.max(np.abs(means - reference.importances_mean)), np.max(np.abs(stds - reference.importances_std)))
    )
    assert worst <= 1e-12
    print(f"permutation importance vs scikit-learn: max |difference| {worst:.3g}")


def test_explain_falls_back_to_permutation_importance() -> None:
    class OpaqueModel:
        """Reachable only through predict/score: shap's explainers cannot wrap its predict function."""

        classes_ = np.asarray([0, 1])

        def predict(self, rows: np.ndarray) -> np.ndarray:
            return (rows[:, 0] > 0).astype(int)

        def score(self, rows: np.ndarray, truth: np.ndarray) -> float:
            return float(np.mean(self.predict(rows) == truth))

    x, y = _data()
    document = explain.explain(OpaqueModel(), x, (y > 0).astype(int), FEATURES, method="permutation")
    section = document["explanations"]["permutation_importance"]["label0"]
    assert section["method"] == "permutation_importance"
    assert max(section["global_shap_values"], key=section["global_shap_values"].get) == "Age"


def test_bad_input_names_the_field() -> None:
    x, _ = _data(20)
    with pytest.raises(EvidenceError, match="'features'"):
        explain.shap_explanation(RandomForestRegressor(), x, FEATURES[:3])
    with pytest.raises(EvidenceError, match="'method'"):
        explain.explain(None, x, None, FEATURES, method="lime")
