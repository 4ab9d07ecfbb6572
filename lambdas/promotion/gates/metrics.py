"""Metrics gate: every configured metric present and finite, meets its baseline in its direction,
and does not regress beyond the tolerance against the current Production version (the champion).

Reports follow SageMaker's model-quality statistics format: sections of ``{metric: {"value": x}}``,
e.g. ``{"binary_classification_metrics": {"auc": {"value": 0.91}}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_registry.core.config import MetricThreshold
from promotion.gates.verdict import GateVerdict, as_finite_number

GATE = "metrics"


def evaluate(
    candidate: Mapping[str, Any],
    thresholds: Sequence[MetricThreshold],
    tolerance: float,
    champion: Mapping[str, Any] | None = None,
) -> GateVerdict:
    reasons: list[str] = []
    evidence: dict[str, Any] = {"tolerance": tolerance, "champion_compared": champion is not None, "metrics": {}}
    for threshold in thresholds:
        raw = candidate.get(threshold.name)
        value = as_finite_number(raw)
        record: dict[str, Any] = {
            "value": raw,
            "baseline": threshold.baseline,
            "direction": threshold.direction,
        }
        evidence["metrics"][threshold.name] = record
        if threshold.name not in candidate:
            reasons.append(f"{threshold.name}: missing from the candidate's metrics report")
            record["verdict"] = "missing"
            continue
        if value is None:
            reasons.append(f"{threshold.name}: {raw!r} is not a finite number")
            record["verdict"] = "invalid"
            continue
        higher = threshold.direction == "higher_is_better"
        meets_baseline = value >= threshold.baseline if higher else value <= threshold.baseline
        if not meets_baseline:
            relation = "below" if higher else "above"
            reasons.append(f"{threshold.name}: {value:g} is {relation} the baseline {threshold.baseline:g}")
            record["verdict"] = "below_baseline"
            continue
        if champion is not None:
            champion_value = as_finite_number(champion.get(threshold.name))
            record["champion"] = champion.get(threshold.name)
            if champion_value is None:
                reasons.append(f"{threshold.name}: the champion's value {champion.get(threshold.name)!r} is unusable")
                record["verdict"] = "champion_unusable"
                continue
            margin = tolerance * abs(champion_value)
            bound = champion_value - margin if higher else champion_value + margin
            record["allowed_bound"] = bound
            regressed = value < bound if higher else value > bound
            if regressed:
                reasons.append(
                    f"{threshold.name}: {value:g} regresses beyond tolerance {tolerance:g} "
                    f"against the champion's {champion_value:g} (bound {bound:g})"
                )
                record["verdict"] = "regressed"
                continue
        record["verdict"] = "pass"
    return GateVerdict(gate=GATE, passed=not reasons, reasons=reasons, evidence=evidence)
