"""Global feature attributions in SageMaker Clarify's ``explanations`` format.

``explanations.<method>.<label>.global_shap_values = {feature: mean |attribution|}`` with the method's
``expected_value``, one entry per model output (``label0``, ``label1``, ... or the class names), as
Clarify writes it. Two methods:

- ``kernel_shap`` (Clarify's own method name) computed with the ``shap`` library: a tree model gets
  ``shap.TreeExplainer`` (exact), a linear model ``shap.LinearExplainer``, anything else
  ``shap.KernelExplainer`` over a k-means summary of the data. The global value of a feature is the
  mean absolute SHAP value over the explained rows (Clarify's aggregation).
- ``permutation_importance`` where SHAP does not apply (a model only reachable through a predict
  function that shap cannot wrap, or on request): the mean drop of the model's score when one
  feature's column is shuffled, the algorithm of ``sklearn.inspection.permutation_importance`` with
  the same random stream (tests check both agree exactly). Its values are importances, not SHAP
  values; they are written under the same ``global_shap_values`` key so every reader of Clarify's
  format (the explainability gate, model cards) reads them, and ``"method"`` says which they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlops_registry.core.evidence.errors import EvidenceError

DEFAULT_REPEATS = 5
DEFAULT_BACKGROUND = 20
DEFAULT_SEED = 0


def _labels(count: int, names: Sequence[str] | None) -> list[str]:
    if names is not None:
        if len(names) != count:
            raise EvidenceError("label_names", list(names), f"the model has {count} outputs")
        return [str(n) for n in names]
    return [f"label{i}" for i in range(count)]


def _features(x: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(feature_names):
        raise EvidenceError("features", list(feature_names), f"the data has shape {x.shape}")
    if len(set(feature_names)) != len(feature_names):
        raise EvidenceError("features", list(feature_names), "feature names must be unique")
    return x


def shap_values(model: Any, x: np.ndarray, *, background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(values[rows, features, outputs], expected_values[outputs])`` from the fitting shap explainer."""
    import shap

    explainer_kind = _explainer_kind(model)
    if explainer_kind == "tree":
        explainer = shap.TreeExplainer(model)
        values = explainer.shap_values(x)
    elif explainer_kind == "linear":
        explainer = shap.LinearExplainer(model, background if background is not None else x)
        values = explainer.shap_values(x)
    else:
        summary = background if background is not None else shap.kmeans(x, min(DEFAULT_BACKGROUND, len(x))).data
        predict = model.predict_proba if hasattr(model, "predict_proba") else model.predict
        explainer = shap.KernelExplainer(predict, summary)
        values = explainer.shap_values(x, silent=True)
    array = np.asarray(values, dtype=np.float64)
    if isinstance(values, list):  # older shap: one array per output
        array = np.stack([np.asarray(v) for v in values], axis=-1)
    if array.ndim == 2:
        array = array[:, :, None]
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    return array, expected


def _explainer_kind(model: Any) -> str:
    name = type(model).__name__
    if any(marker in name for marker in ("Forest", "Tree", "GradientBoosting", "XGB", "LGBM")):
        return "tree"
    if hasattr(model, "coef_") and hasattr(model, "intercept_") and "SV" not in name:
        return "linear"
    return "kernel"


def shap_explanation(
    model: Any,
    x: np.ndarray,
    feature_names: Sequence[str],
    *,
    label_names: Sequence[str] | None = None,
    background: np.ndarray | None = None,
) -> dict[str, Any]:
    """Clarify's ``explanations.kernel_shap`` document for ``model`` on rows ``x``."""
    x = _features(x, feature_names)
    values, expected = shap_values(model, x, background=background)
    outputs = values.shape[2]
    labels = _labels(outputs, label_names)
    section: dict[str, Any] = {}
    for index, label in enumerate(labels):
        global_values = np.mean(np.abs(values[:, :, index]), axis=0)
        section[label] = {
            "global_shap_values": {f: float(v) for f, v in zip(feature_names, global_values, strict=True)},
            "expected_value": float(expected[index] if index < len(expected) else expected[0]),
        }
    return {"version": "1.0", "explanations": {"kernel_shap": section}}


def permutation_importances(
    predict: Callable[[np.ndarray], np.ndarray],
    score: Callable[[np.ndarray, np.ndarray], float],
    x: np.ndarray,
    y: np.ndarray,
    *,
    repeats: int = DEFAULT_REPEATS,
    seed: int = DEFAULT_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` over ``repeats`` of ``score(y, predict(x)) - score(y, predict(x with one column
    shuffled))`` per feature, with scikit-learn's random stream for a given integer ``seed``."""
    if repeats < 1:
        raise EvidenceError("repeats", repeats, "must be at least 1")
    x = np.asarray(x, dtype=np.float64)
    baseline = score(y, predict(x))
    # scikit-learn: one seed drawn from RandomState(seed), then every column reshuffles from that seed.
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    importances = np.empty((x.shape[1], repeats))
    for column in range(x.shape[1]):
        rng = np.random.RandomState(column_seed)
        permuted = x.copy()
        order = np.arange(len(x))
        for repeat in range(repeats):
            rng.shuffle(order)
            permuted[:, column] = permuted[order, column]
            importances[column, repeat] = baseline - score(y, predict(permuted))
    return importances.mean(axis=1), importances.std(axis=1)


def permutation_explanation(
    predict: Callable[[np.ndarray], np.ndarray],
    score: Callable[[np.ndarray, np.ndarray], float],
    x: np.ndarray,
    y: np.ndarray,
    feature_names: Sequence[str],
    *,
    label_name: str = "label0",
    repeats: int = DEFAULT_REPEATS,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """Clarify-format explanations with permutation importances (``method: permutation_importance``)."""
    x = _features(x, feature_names)
    means, stds = permutation_importances(predict, score, x, np.asarray(y), repeats=repeats, seed=seed)
    return {
        "version": "1.0",
        "explanations": {
            "permutation_importance": {
                label_name: {
                    "method": "permutation_importance",
                    "global_shap_values": {f: float(v) for f, v in zip(feature_names, means, strict=True)},
                    "importances_std": {f: float(v) for f, v in zip(feature_names, stds, strict=True)},
                    "expected_value": float(score(np.asarray(y), predict(x))),
                    "repeats": repeats,
                    "seed": seed,
                }
            }
        },
    }


def explain(
    model: Any,
    x: np.ndarray,
    y: np.ndarray | None,
    feature_names: Sequence[str],
    *,
    method: str = "auto",
    label_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """SHAP where it applies (a model object shap can wrap), permutation importance otherwise."""
    if method not in ("auto", "shap", "permutation"):
        raise EvidenceError("method", method, "must be 'auto', 'shap' or 'permutation'")
    if method in ("auto", "shap"):
        try:
            return shap_explanation(model, x, feature_names, label_names=label_names)
        except (ImportError, TypeError, ValueError, AttributeError) as error:  # shap cannot wrap the model
            if method == "shap":
                raise EvidenceError("method", "shap", f"shap cannot explain {type(model).__name__}: {error}") from error
    if y is None:
        raise EvidenceError("label", None, "permutation importance needs the labels")
    score = getattr(model, "score", None)
    if score is None:
        raise EvidenceError("model", type(model).__name__, "has no score(x, y); cannot compute permutation importance")
    return permutation_explanation(
        model.predict, lambda truth, predicted: _score_predictions(model, truth, predicted), x, y, feature_names
    )


def _score_predictions(model: Any, truth: np.ndarray, predicted: np.ndarray) -> float:
    """The estimator's default score from predictions: accuracy for classifiers, R² for regressors."""
    if getattr(model, "_estimator_type", None) == "classifier" or hasattr(model, "classes_"):
        return float(np.mean(np.asarray(truth) == np.asarray(predicted)))
    truth = np.asarray(truth, dtype=np.float64)
    residual = float(np.sum((truth - predicted) ** 2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    return 1.0 - residual / total if total else (1.0 if residual == 0 else 0.0)
