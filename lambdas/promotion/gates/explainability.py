"""Explainability gate: feature attributions present for the model's features and not degenerate.

Reports follow SageMaker Clarify's ``analysis.json``: ``explanations.<method>.<label>.
global_shap_values = {feature: value}``, one ``<label>`` per model output (``label0``, ``label1``, ...
or class names) and possibly several methods (``kernel_shap``; other sections such as ``pdp`` are
lists and are skipped). A single-output report may also put ``global_shap_values`` directly under the
method. The gate judges every label of the report, or only the label the group configures
(``explainabilityLabel``): each judged label needs a finite attribution for every configured feature,
and its attributions may not all be zero (a degenerate explainer run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promotion.gates.verdict import GateVerdict, as_finite_number

GATE = "explainability"
ZERO = 1e-12
SINGLE_LABEL = "label0"


def label_attributions(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{label: {feature: raw attribution}}`` over every method; the first method naming a label wins."""
    explanations = report.get("explanations")
    if not isinstance(explanations, Mapping):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for method in explanations.values():
        if not isinstance(method, Mapping):
            continue  # e.g. "pdp": a list of partial dependence plots
        if isinstance(method.get("global_shap_values"), Mapping):
            found.setdefault(SINGLE_LABEL, dict(method["global_shap_values"]))
            continue
        for label, body in method.items():
            if isinstance(body, Mapping) and isinstance(body.get("global_shap_values"), Mapping):
                found.setdefault(str(label), dict(body["global_shap_values"]))
    return found


def _judge(label: str, attributions: Mapping[str, Any], features: Sequence[str], reasons: list[str]) -> dict[str, Any]:
    prefix = f"{label}: " if label else ""
    values: dict[str, float] = {}
    for feature in features:
        if feature not in attributions:
            reasons.append(f"{prefix}{feature}: no attribution in the explainability report")
            continue
        value = as_finite_number(attributions[feature])
        if value is None:
            reasons.append(f"{prefix}{feature}: attribution {attributions[feature]!r} is not a finite number")
            continue
        values[feature] = value
    total = sum(abs(v) for v in values.values())
    if values and total <= ZERO:
        reasons.append(f"{prefix}all feature attributions are zero: the explanation is degenerate")
    covered = len(values) / len(features) if features else 0.0
    return {"attributions": dict(attributions), "coverage": covered, "total_abs": total}


def evaluate(report: Mapping[str, Any], features: Sequence[str], label: str | None = None) -> GateVerdict:
    labels = label_attributions(report)
    if not labels:
        return GateVerdict.deny(GATE, "no global feature attributions in the explainability report")
    if label is not None and label not in labels:
        return GateVerdict.deny(
            GATE, f"label {label!r} (explainabilityLabel) is not in the explainability report; it has {sorted(labels)}"
        )
    judged = [label] if label is not None else list(labels)
    reasons: list[str] = []
    per_label = {name: _judge(name if len(judged) > 1 else "", labels[name], features, reasons) for name in judged}
    evidence: dict[str, Any] = {"features": list(features), "labels": judged, "per_label": per_label}
    if len(judged) == 1:  # the single-label evidence keeps its flat shape
        evidence.update(per_label[judged[0]])
    return GateVerdict(gate=GATE, passed=not reasons, reasons=reasons, evidence=evidence)
