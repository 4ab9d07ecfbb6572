"""Sample reports in the formats the gates read (SageMaker model quality, Clarify bias/explainability).

Used by the pipeline tests and by the offline rehearsal; values are chosen against the example
groups in ``cdk.json``.
"""

from __future__ import annotations

from typing import Any


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
def passing_reports(group: Any, improvement: float = 0.0) -> dict[str, dict[str, Any]]:
    """Reports that pass every gate of ``group`` (a ``GroupPolicy``): each metric a margin beyond its
    baseline (``improvement`` more, for a version that must beat the champion), every fairness metric
    at the middle of its allowed range, attributions over every configured feature."""
    values = {}
    for metric in group.metrics:
        margin = max(abs(metric.baseline) * 0.05, 0.01) * (1.0 + improvement)
        values[metric.name] = (
            metric.baseline + margin if metric.direction == "higher_is_better" else metric.baseline - margin
        )
    return {
        "metrics": metrics_report(values),
        "bias": bias_report(_facets(group, fair=True)),
        "explainability": explainability_report(_attributions(group.features)),
    }


def unfair_reports(group: Any) -> dict[str, dict[str, Any]] | None:
    """Reports that pass the metrics gate and fail the bias gate; None for a group without a fairness policy."""
    if group.fairness is None:
        return None
    reports = passing_reports(group)
    reports["bias"] = bias_report(_facets(group, fair=False))
    return reports


def _facets(group: Any, fair: bool) -> dict[str, dict[str, dict[str, float]]]:
    if group.fairness is None:
        return {}
    metrics = {}
    for threshold in group.fairness.thresholds:
        middle = (threshold.min + threshold.max) / 2
        width = max(threshold.max - threshold.min, 0.1)
        metrics[threshold.metric] = round(middle if fair else threshold.max + width, 4)
    return {attribute: {"a": dict(metrics), "b": dict(metrics)} for attribute in group.fairness.protected_attributes}


def _attributions(features: Any) -> dict[str, float]:
    weights = [1.0 / (rank + 2) for rank in range(len(features))]
    total = sum(weights)
    return {feature: round(weight / total, 4) for feature, weight in zip(features, weights, strict=True)}
