"""Sample reports in the formats the gates read (SageMaker model quality, Clarify bias/explainability).

Used by the pipeline tests and by the offline rehearsal; values are chosen against the example
groups in ``cdk.json``.
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np


def metrics_report(values: dict[str, Any], section: str = "binary_classification_metrics") -> dict[str, Any]:
    return {section: {name: {"value": value, "standard_deviation": 0.01} for name, value in values.items()}}


def bias_report(attributes: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """``{attribute: {facet value: {metric: value}}}`` → Clarify ``analysis.json`` shape."""
    return {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": "target",
            "facets": {
                attribute: [
                    {
                        "value_or_threshold": facet,
                        "metrics": [{"name": m, "description": m, "value": v} for m, v in metrics.items()],
                    }
                    for facet, metrics in facets.items()
                ]
                for attribute, facets in attributes.items()
            },
        },
    }


def explainability_report(attributions: dict[str, float]) -> dict[str, Any]:
    return {
        "version": "1.0",
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": attributions, "expected_value": 0.27}}},
    }


CHURN_FEATURES = [
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
    "contract_type",
    "payment_method",
]


def churn_reports(
    auc: float = 0.86, f1: float = 0.66, log_loss: float = 0.39, dppl: float = 0.04, di: float = 0.95
) -> dict[str, dict[str, Any]]:
    fair = {"DPPL": dppl, "DI": di}
    return {
        "metrics": metrics_report({"auc": auc, "f1": f1, "log_loss": log_loss}),
        "bias": bias_report(
            {"gender": {"F": fair, "M": {"DPPL": -dppl, "DI": 1.0}}, "age_band": {"18-30": fair, "60+": fair}}
        ),
        "explainability": explainability_report(
            dict(zip(CHURN_FEATURES, [0.31, 0.22, 0.12, 0.18, 0.11, 0.06], strict=True))
        ),
    }


# --- reports derived from a group's configuration (any valid cdk.json) --------------------------------
def passing_reports(group: Any) -> dict[str, Any]:
    """What a registrant of ``group`` (a ``GroupPolicy``) registers for the honest sample model: the
    reports its own evaluation computed (they pass every gate of the example groups and are reproduced
    on the holdout set), and the model itself under ``model`` (``register_version(**reports)``)."""
    model = sample_model(group)
    return {**json.loads(json.dumps(model.reports)), "model": model.archive}


def unfair_reports(group: Any) -> dict[str, Any] | None:
    """The sample model that discriminates (it learned a proxy of the first protected attribute), with
    its honest reports: it passes the metrics gate and its claims are reproduced, and the bias the
    platform computes on the holdout set fails the bias gate. None for a group without a fairness policy."""
    if group.fairness is None:
        return None
    model = sample_model(group, "proxy")
    return {**json.loads(json.dumps(model.reports)), "model": model.archive}


# --- real models on generated data (tests, sandbox, rehearsal) ---------------------------------------
# Each example group's data: features ~ N(0, 1); the label depends on every feature but the last
# through decreasing weights plus noise; the last feature carries no signal but is a proxy of the first
# protected attribute (shifted for its first value), so a model that learns it discriminates.
TRAINING_ROWS = 4000  # the registrant's training set; its validation split is half as large
HOLDOUT_ROWS = 2000  # the platform's holdout set, which staging validation scores with every version
HOLDOUT_SEED = 20261203
TRAINING_SEED = 7
FACET_VALUES = {"gender": ("F", "M"), "age_band": ("18-30", "31-60", "60+"), "region": ("eu", "us")}
# noise: the label's noise (binary: on the latent score; regression: its standard deviation);
# positive_rate: share of positive labels (binary). Tuned so the models land near the example reports.
PROFILES: dict[str, dict[str, float]] = {
    "churn-classifier": {"noise": 0.8, "positive_rate": 0.32},
    "fraud-detector": {"noise": 0.1, "positive_rate": 0.3},
    "recommender-ranker": {"noise": 1.05},
}
DEFAULT_PROFILE = {"noise": 0.5, "positive_rate": 0.3}
PROXY_SHIFT = 3.0
# How much the "proxy" model's historically biased training labels depend on the proxy feature: enough
# to discriminate (churn on the holdout set, by gender: DPPL -0.11 for F, DI 0.69 for M; the policy allows
# |DPPL| <= 0.1 and DI >= 0.8) while still meeting the metric baselines.
PROXY_EFFECT = 0.1


def _profile(group: Any) -> dict[str, float]:
    return PROFILES.get(group.name, DEFAULT_PROFILE)


def generate_rows(group: Any, rows: int, seed: int, *, proxy_effect: float = 0.0) -> dict[str, Any]:
    """Columns ``{name: values}`` of the group's generated data: features, facets and the label.
    ``proxy_effect`` > 0 makes the label depend on the proxy feature too (a biased training set)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    features = list(group.features)
    x = rng.normal(size=(rows, len(features)))
    facets = {name: rng.choice(FACET_VALUES.get(name, ("a", "b")), size=rows) for name in group.facet_columns}
    if facets:
        first = group.facet_columns[0]
        x[:, -1] += PROXY_SHIFT * (facets[first] == FACET_VALUES.get(first, ("a", "b"))[0])
    weights = np.array([1.0 / (rank + 1) for rank in range(len(features) - 1)] + [0.0])
    weights /= np.linalg.norm(weights)
    weights[-1] = proxy_effect
    profile = _profile(group)
    latent = x @ weights + rng.normal(scale=profile["noise"], size=rows)
    holdout = group.validation.holdout
    if holdout.problem_type == "binary":
        # The cut is a property of the population (a large sample of the unbiased score), not of this draw.
        population = np.random.default_rng(0).normal(size=(200_000, len(features) - 1))
        reference = population @ weights[:-1] + np.random.default_rng(1).normal(scale=profile["noise"], size=200_000)
        cut = float(np.quantile(reference, 1 - profile["positive_rate"]))
        label = (latent > cut).astype(np.float64) * holdout.positive_label
    else:
        label = holdout.threshold + latent
    columns: dict[str, Any] = {name: x[:, index] for index, name in enumerate(features)}
    columns.update(facets)
    columns[holdout.label_column] = label
    return columns


def holdout_csv(group: Any, rows: int = HOLDOUT_ROWS, seed: int = HOLDOUT_SEED) -> bytes:
    """The group's governed holdout set as CSV with a header row (what the platform team uploads)."""
    return _holdout_csv(group.model_dump_json(by_alias=True), rows, seed)


@functools.lru_cache(maxsize=32)
def _holdout_csv(policy_json: str, rows: int, seed: int) -> bytes:
    """The same bytes for the same policy, size and seed (the draw is seeded): generated once a process."""
    import csv
    import io

    from mlops_registry.core.config import read_published

    group = read_published(policy_json)
    columns = generate_rows(group, rows, seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = list(columns)
    writer.writerow(names)
    for index in range(rows):
        writer.writerow(
            [repr(float(columns[n][index])) if n not in group.facet_columns else columns[n][index] for n in names]
        )
    return buffer.getvalue().encode()


@dataclass(frozen=True)
class SampleModel:
    """A trained scikit-learn model, its ``model.tar.gz`` (``model.joblib`` inside) and the reports its
    training run computes with the evidence library on a validation split (what a registrant claims)."""

    group: str
    kind: str
    estimator: Any
    archive: bytes
    reports: dict[str, dict[str, Any]]


def sample_model(group: Any, kind: str = "honest", seed: int = TRAINING_SEED) -> SampleModel:
    """``honest``: trained on unbiased data; ``proxy``: trained on historically biased labels that
    depend on the proxy feature (it discriminates by the first protected attribute). Both are
    evaluated on a fresh unbiased draw, as a registrant evaluates on current data."""
    return _sample_model(group.model_dump_json(by_alias=True), kind, seed)


@functools.lru_cache(maxsize=32)
def _sample_model(policy_json: str, kind: str, seed: int) -> SampleModel:
    import tarfile
    import tempfile
    import time
    from pathlib import Path

    import joblib
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import log_loss, ndcg_score

    from mlops_registry.core.config import read_published
    from mlops_registry.core.evidence.dataset import from_columns
    from mlops_registry.core.evidence.holdout import HoldoutSpec, evidence_from_outputs, transform_matrix

    if kind not in ("honest", "proxy"):
        raise ValueError(f"kind {kind!r} must be 'honest' or 'proxy'")
    group = read_published(policy_json)
    proxy = PROXY_EFFECT if kind == "proxy" else 0.0
    training = generate_rows(group, TRAINING_ROWS, seed, proxy_effect=proxy)
    x = np.column_stack([training[name] for name in group.features])
    y = training[group.validation.holdout.label_column]
    binary = group.validation.holdout.problem_type == "binary"
    estimator = LogisticRegression(max_iter=1000) if binary else LinearRegression()
    estimator.fit(x, y)
    # The registrant's own evaluation on a validation split, with the same library the platform uses.
    # Evaluated on a fresh draw of the population (unbiased labels), as the holdout is.
    validation = from_columns(generate_rows(group, TRAINING_ROWS // 2, seed + 1))
    spec = HoldoutSpec.from_policy(json.loads(policy_json))
    outputs = predict_outputs(estimator, transform_matrix(validation, spec))
    evidence = evidence_from_outputs(validation, spec, outputs)
    metrics = json.loads(json.dumps(evidence.metrics))
    # Metrics the registrant's own training code adds (the platform's quality library does not compute them).
    y_validation = validation.column(group.validation.holdout.label_column)
    predictions = outputs[: validation.rows]
    if binary:
        value = log_loss(y_validation == group.validation.holdout.positive_label, predictions, labels=[False, True])
        metrics["binary_classification_metrics"]["log_loss"] = {"value": float(value), "standard_deviation": 0.0}
    else:
        value = ndcg_score(np.clip(y_validation, 0, None)[None, :], predictions[None, :], k=10)
        metrics["regression_metrics"]["ndcg_at_10"] = {"value": float(value), "standard_deviation": 0.0}
    reports = {"metrics": metrics, "bias": evidence.bias or {}, "explainability": evidence.explainability or {}}
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "model.joblib"
        joblib.dump(estimator, path)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            info = archive.gettarinfo(str(path), arcname="model.joblib")
            info.mtime = int(time.mktime((2026, 1, 1, 0, 0, 0, 0, 0, 0)))
            with path.open("rb") as handle:
                archive.addfile(info, handle)
    return SampleModel(group.name, kind, estimator, buffer.getvalue(), reports)


def predict_outputs(estimator: Any, x: Any) -> Any:
    """What the model's container answers per row: P(positive) for a classifier, the value for a regressor."""
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(x)[:, -1]
    return estimator.predict(x)
