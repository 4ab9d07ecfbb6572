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
