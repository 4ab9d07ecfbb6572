"""Performance drift: where each configured metric is read from, and its relative change."""

from __future__ import annotations

import pytest
from monitoring.performance import (
    MODEL_QUALITY_NAMESPACE,
    evaluate_performance,
    metric_source,
    relative_change,
)


def test_drift_performance_metric_sources() -> None:
    assert metric_source("ModelLatency").statistic == "Average"
    assert metric_source("Invocation5XXErrors").kind == "error_rate"
    quality = metric_source("auc")
    assert (quality.namespace, quality.statistic) == (MODEL_QUALITY_NAMESPACE, "Average")


def test_drift_relative_change_is_undefined_for_a_zero_baseline() -> None:
    assert relative_change(120.0, 100.0) == pytest.approx(0.2)
    assert relative_change(80.0, -100.0) == pytest.approx(1.8)
    assert relative_change(0.1, 0.0) is None
    assert relative_change(float("nan"), 1.0) is None


def test_drift_performance_breach_is_beyond_the_threshold_in_either_direction() -> None:
    observed = {("A", "auc"): 0.6, ("B", "auc"): 0.79, ("A", "ModelLatency"): 1300.0, ("B", "ModelLatency"): None}
    results = evaluate_performance(
        observed, {"auc": 0.8, "ModelLatency": 1000.0}, ["auc", "ModelLatency", "f1"], ["A", "B"], 0.2
    )
    by_key = {(r.variant, r.metric): r for r in results}
    assert set(by_key) == {("A", "auc"), ("B", "auc"), ("A", "ModelLatency")}
    assert by_key[("A", "auc")].breached and by_key[("A", "auc")].relative_change == pytest.approx(-0.25)
    assert not by_key[("B", "auc")].breached
    assert by_key[("A", "ModelLatency")].breached
