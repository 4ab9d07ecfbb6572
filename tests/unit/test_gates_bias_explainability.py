"""Bias and explainability gates on tables of cases."""

from __future__ import annotations

import math
from typing import Any

import pytest
from promotion.gates import bias, explainability

from mlops_registry.core.config import FairnessPolicy, FairnessThreshold
from offline.samples import bias_report, explainability_report

POLICY = FairnessPolicy(
    protected_attributes=["gender"],
    thresholds=[FairnessThreshold(metric="DPPL", min=-0.1, max=0.1), FairnessThreshold(metric="DI", min=0.8, max=1.25)],
)


@pytest.mark.parametrize(
    ("facets", "passed", "fragment"),
    [
        ({"F": {"DPPL": 0.05, "DI": 0.9}}, True, ""),
        ({"F": {"DPPL": 0.1, "DI": 0.8}}, True, ""),  # on the bounds
        ({"F": {"DPPL": -0.1, "DI": 1.25}}, True, ""),
        ({"F": {"DPPL": 0.1001, "DI": 0.9}}, False, "gender=F DPPL: 0.1001 outside [-0.1, 0.1]"),
        ({"F": {"DPPL": 0.0, "DI": 0.7999}}, False, "gender=F DI: 0.7999 outside [0.8, 1.25]"),
        ({"F": {"DI": 0.9}}, False, "gender=F DPPL: missing"),
        ({"F": {"DPPL": math.nan, "DI": 0.9}}, False, "is not a finite number"),
        ({"F": {"DPPL": "0.0", "DI": 0.9}}, False, "'0.0' is not a finite number"),
        ({"F": {"DPPL": 0.0, "DI": 0.9}, "M": {"DPPL": 0.3, "DI": 0.9}}, False, "gender=M DPPL"),
    ],
)
def test_bias_gate_cases(facets: dict[str, Any], passed: bool, fragment: str) -> None:
    verdict = bias.evaluate(bias_report({"gender": facets}), POLICY)
    assert verdict.passed is passed, verdict.reasons
    if fragment:
        assert any(fragment in r for r in verdict.reasons), verdict.reasons


def test_bias_gate_denies_an_absent_attribute_or_report() -> None:
    assert bias.evaluate(bias_report({"age": {"x": {"DPPL": 0.0, "DI": 1.0}}}), POLICY).reasons == [
        "gender: protected attribute absent from the bias report"
    ]
    assert not bias.evaluate({}, POLICY).passed


def test_bias_gate_reads_pre_training_metrics_too() -> None:
    report = bias_report({"gender": {"F": {"DPPL": 0.0}}})
    report["pre_training_bias_metrics"] = {
        "facets": {"gender": [{"value_or_threshold": "F", "metrics": [{"name": "DI", "value": 0.95}]}]}
    }
    assert bias.evaluate(report, POLICY).passed


FEATURES = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("attributions", "passed", "fragment"),
    [
        ({"a": 0.5, "b": 0.3, "c": 0.2}, True, ""),
        ({"a": 0.5, "b": 0.3, "c": 0.0}, True, ""),
        ({"a": -0.5, "b": 0.3, "c": 0.2, "extra": 1.0}, True, ""),
        ({"a": 0.5, "b": 0.3}, False, "c: no attribution"),
        ({"a": 0.0, "b": 0.0, "c": 0.0}, False, "degenerate"),
        ({"a": math.nan, "b": 0.3, "c": 0.2}, False, "a: attribution nan"),
        ({"a": "x", "b": 0.3, "c": 0.2}, False, "a: attribution 'x'"),
    ],
)
def test_explainability_gate_cases(attributions: dict[str, Any], passed: bool, fragment: str) -> None:
    verdict = explainability.evaluate(explainability_report(attributions), FEATURES)
    assert verdict.passed is passed, verdict.reasons
    if fragment:
        assert any(fragment in r for r in verdict.reasons), verdict.reasons


def test_explainability_gate_denies_a_report_without_attributions() -> None:
    verdict = explainability.evaluate({"explanations": {}}, FEATURES)
    assert verdict.reasons == ["no global feature attributions in the explainability report"]
    assert not explainability.evaluate({"something": 1}, FEATURES).passed
