"""Explainability gate: feature attributions present for the model's features and not degenerate.

Reports follow SageMaker Clarify's ``analysis.json``: ``explanations.kernel_shap.<label>.
global_shap_values = {feature: value}``. Every configured feature needs a finite attribution, and
the attributions may not all be zero (a degenerate explainer run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promotion.gates.verdict import GateVerdict, as_finite_number

GATE = "explainability"
ZERO = 1e-12


def _global_attributions(report: Mapping[str, Any]) -> dict[str, Any] | None:
    explanations = report.get("explanations")
    if not isinstance(explanations, Mapping):
        return None
    for method in explanations.values():
        if not isinstance(method, Mapping):
            continue
        for label in method.values():
            if isinstance(label, Mapping) and isinstance(label.get("global_shap_values"), Mapping):
                return dict(label["global_shap_values"])
        if isinstance(method.get("global_shap_values"), Mapping):
            return dict(method["global_shap_values"])
    return None


def evaluate(report: Mapping[str, Any], features: Sequence[str]) -> GateVerdict:
    attributions = _global_attributions(report)
    if attributions is None:
        return GateVerdict.deny(GATE, "no global feature attributions in the explainability report")
    reasons: list[str] = []
    values: dict[str, float] = {}
    for feature in features:
        if feature not in attributions:
            reasons.append(f"{feature}: no attribution in the explainability report")
            continue
        value = as_finite_number(attributions[feature])
        if value is None:
            reasons.append(f"{feature}: attribution {attributions[feature]!r} is not a finite number")
            continue
        values[feature] = value
    total = sum(abs(v) for v in values.values())
    if values and total <= ZERO:
        reasons.append("all feature attributions are zero: the explanation is degenerate")
    covered = len(values) / len(features) if features else 0.0
    evidence = {"features": list(features), "attributions": attributions, "coverage": covered, "total_abs": total}
    return GateVerdict(gate=GATE, passed=not reasons, reasons=reasons, evidence=evidence)
