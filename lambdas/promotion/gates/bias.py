"""Bias gate: fairness metrics for every protected attribute within the configured bounds.

Reports follow SageMaker Clarify's ``analysis.json``: ``post_training_bias_metrics`` (and
``pre_training_bias_metrics``) hold ``facets: {attribute: [{value_or_threshold, metrics: [{name,
value}]}]}``. Every facet value of every protected attribute must report every thresholded metric.

A package may reference one report (``Bias.Report``) or Clarify's two jobs separately, as the SageMaker
SDK registers them (``Bias.PreTrainingReport``, ``Bias.PostTrainingReport``); ``merge_reports`` joins
any of them into one document, so pre-training metrics (CI, DPL, ...) and post-training metrics
(DPPL, DI, ...) are judged together, and a pre-training report alone is read too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_registry.core.config import FairnessPolicy, FairnessWaiver
from promotion.gates.verdict import GateVerdict, as_finite_number

GATE = "bias"
SECTIONS = ("post_training_bias_metrics", "pre_training_bias_metrics")


def merge_reports(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One analysis document from several: each section's facet entries concatenated in report order
    (a metric reported twice keeps its first value)."""
    merged: dict[str, Any] = {}
    for report in reports:
        for section in SECTIONS:
            body = report.get(section)
            if not isinstance(body, Mapping) or not isinstance(body.get("facets"), Mapping):
                continue
            target = merged.setdefault(section, {"facets": {}})
            for attribute, entries in body["facets"].items():
                if isinstance(entries, list):
                    target["facets"].setdefault(attribute, []).extend(entries)
            for key in ("label", "label_value_or_threshold"):
                if key in body:
                    target.setdefault(key, body[key])
    return merged


def _facet_metrics(report: Mapping[str, Any], attribute: str) -> dict[str, dict[str, Any]] | None:
    """``{facet value: {metric: raw value}}`` for one attribute, merged over pre/post sections."""
    merged: dict[str, dict[str, Any]] = {}
    seen = False
    for section in SECTIONS:
        facets = report.get(section, {}).get("facets", {}) if isinstance(report.get(section), Mapping) else {}
        entries = facets.get(attribute) if isinstance(facets, Mapping) else None
        if not isinstance(entries, list):
            continue
        seen = True
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            facet_value = str(entry.get("value_or_threshold", "?"))
            bucket = merged.setdefault(facet_value, {})
            for metric in entry.get("metrics", []) or []:
                if isinstance(metric, Mapping) and "name" in metric:
                    bucket.setdefault(str(metric["name"]), metric.get("value"))
    return merged if seen else None


def evaluate(report: Mapping[str, Any], policy: FairnessPolicy) -> GateVerdict:
    reasons: list[str] = []
    evidence: dict[str, Any] = {
        "thresholds": [t.model_dump() for t in policy.thresholds],
        "attributes": {},
    }
    for attribute in policy.protected_attributes:
        facets = _facet_metrics(report, attribute)
        if not facets:
            reasons.append(f"{attribute}: protected attribute absent from the bias report")
            evidence["attributes"][attribute] = "absent"
            continue
        evidence["attributes"][attribute] = facets
        for facet_value, metrics in facets.items():
            for threshold in policy.thresholds:
                label = f"{attribute}={facet_value} {threshold.metric}"
                if threshold.metric not in metrics:
                    reasons.append(f"{label}: missing from the bias report")
                    continue
                value = as_finite_number(metrics[threshold.metric])
                if value is None:
                    reasons.append(f"{label}: {metrics[threshold.metric]!r} is not a finite number")
                elif not threshold.min <= value <= threshold.max:
                    reasons.append(f"{label}: {value:g} outside [{threshold.min:g}, {threshold.max:g}]")
    return GateVerdict(gate=GATE, passed=not reasons, reasons=reasons, evidence=evidence)


def waived(waiver: FairnessWaiver | None) -> GateVerdict:
    """A group configured without protected attributes passes on its recorded waiver, never silently."""
    if waiver is None:
        return GateVerdict.deny(GATE, "no fairness policy and no fairness waiver in the group's configuration")
    return GateVerdict(
        gate=GATE,
        passed=True,
        reasons=[],
        evidence={"waived": True, "reason": waiver.reason, "approved_by": waiver.approved_by},
    )
