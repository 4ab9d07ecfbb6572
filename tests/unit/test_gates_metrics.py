"""Metrics gate on a table of cases: thresholds just inside/outside, missing, NaN, wrong types."""

from __future__ import annotations

import math
from typing import Any

import pytest
from promotion.gates import metrics

from mlops_registry.core.config import MetricThreshold

THRESHOLDS = [
    MetricThreshold(name="auc", baseline=0.80, direction="higher_is_better"),
    MetricThreshold(name="log_loss", baseline=0.45, direction="lower_is_better"),
]
GOOD = {"auc": 0.85, "log_loss": 0.40}


@pytest.mark.parametrize(
    ("candidate", "champion", "passed", "fragment"),
    [
        (GOOD, None, True, ""),
        ({"auc": 0.80, "log_loss": 0.45}, None, True, ""),  # exactly at both baselines
        ({"auc": 0.7999, "log_loss": 0.40}, None, False, "auc: 0.7999 is below the baseline 0.8"),
        ({"auc": 0.85, "log_loss": 0.4501}, None, False, "log_loss: 0.4501 is above the baseline 0.45"),
        ({"log_loss": 0.40}, None, False, "auc: missing"),
        ({"auc": math.nan, "log_loss": 0.40}, None, False, "auc: nan is not a finite number"),
        ({"auc": math.inf, "log_loss": 0.40}, None, False, "auc: inf is not a finite number"),
        ({"auc": "0.9", "log_loss": 0.40}, None, False, "auc: '0.9' is not a finite number"),
        ({"auc": True, "log_loss": 0.40}, None, False, "auc: True is not a finite number"),
        ({"auc": None, "log_loss": 0.40}, None, False, "auc: None is not a finite number"),
        # champion comparison with tolerance 0.01 (relative): auc bound 0.90*0.99 = 0.891
        ({"auc": 0.891, "log_loss": 0.40}, {"auc": 0.90, "log_loss": 0.40}, True, ""),
        ({"auc": 0.8909, "log_loss": 0.40}, {"auc": 0.90, "log_loss": 0.40}, False, "auc: 0.8909 regresses"),
        # lower is better: bound 0.40*1.01 = 0.404
        ({"auc": 0.9, "log_loss": 0.404}, {"auc": 0.90, "log_loss": 0.40}, True, ""),
        ({"auc": 0.9, "log_loss": 0.4041}, {"auc": 0.90, "log_loss": 0.40}, False, "log_loss: 0.4041 regresses"),
        ({"auc": 0.9, "log_loss": 0.40}, {"auc": "bad", "log_loss": 0.40}, False, "champion's value 'bad' is unusable"),
    ],
)
def test_metrics_gate_cases(
    candidate: dict[str, Any], champion: dict[str, Any] | None, passed: bool, fragment: str
) -> None:
    verdict = metrics.evaluate(candidate, THRESHOLDS, tolerance=0.01, champion=champion)
    assert verdict.passed is passed, verdict.reasons
    if fragment:
        assert any(fragment in reason for reason in verdict.reasons), verdict.reasons
    assert set(verdict.evidence["metrics"]) == {"auc", "log_loss"}


def test_every_failure_is_reported_not_just_the_first() -> None:
    verdict = metrics.evaluate({"auc": 0.1, "log_loss": 9.0}, THRESHOLDS, tolerance=0.0)
    assert len(verdict.reasons) == 2


def test_evidence_records_inputs_thresholds_and_result() -> None:
    verdict = metrics.evaluate(GOOD, THRESHOLDS, tolerance=0.01, champion={"auc": 0.84, "log_loss": 0.41})
    auc = verdict.evidence["metrics"]["auc"]
    assert auc == {
        "value": 0.85,
        "baseline": 0.8,
        "direction": "higher_is_better",
        "champion": 0.84,
        "allowed_bound": pytest.approx(0.8316),
        "verdict": "pass",
    }
