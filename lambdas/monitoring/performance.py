"""Performance drift: a configured endpoint metric's relative change from the version's baseline.

The baseline values live in the ``performance`` section of the version's baseline document (written
at promotion; see ``mlops_registry.core.baseline.with_performance_baseline``). For each configured metric
name the window's value is read as follows (``metric_source``):

- ``ModelLatency``, ``OverheadLatency``: ``AWS/SageMaker`` Average over the window (microseconds);
- ``Invocation5XXErrors``, ``Invocation4XXErrors``, ``InvocationModelErrors``: the error *rate*,
  Sum(errors) / Sum(``Invocations``) over the window, because raw counts scale with traffic;
- any other name is a model-quality metric a team publishes (e.g. ``auc`` from delayed ground
  truth) in ``MODEL_QUALITY_NAMESPACE`` with dimensions EndpointName and VariantName, Average.

Drift is ``|current - baseline| / |baseline|``; above the group's ``performanceDriftThreshold`` it is
a breach. A zero baseline has no relative change and is skipped (the absolute 5XX and latency
alarms cover it), as is a window with no value (no traffic): nothing is published for them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from mlops_registry.core.contracts import MODEL_QUALITY_NAMESPACE, SAGEMAKER_NAMESPACE

LATENCY_METRICS = frozenset({"ModelLatency", "OverheadLatency"})
ERROR_METRICS = frozenset({"Invocation5XXErrors", "Invocation4XXErrors", "InvocationModelErrors"})


@dataclass(frozen=True)
class MetricSource:
    namespace: str
    metric_name: str
    statistic: Literal["Average", "Sum"]
    kind: Literal["average", "error_rate"]


def metric_source(name: str) -> MetricSource:
    if name in LATENCY_METRICS:
        return MetricSource(SAGEMAKER_NAMESPACE, name, "Average", "average")
    if name in ERROR_METRICS:
        return MetricSource(SAGEMAKER_NAMESPACE, name, "Sum", "error_rate")
    return MetricSource(MODEL_QUALITY_NAMESPACE, name, "Average", "average")


@dataclass(frozen=True)
class PerformanceDrift:
    variant: str
    metric: str
    baseline: float
    current: float
    relative_change: float  # signed
    drift: float  # |relative_change|
    breached: bool


def relative_change(current: float, baseline: float) -> float | None:
    if baseline == 0 or not math.isfinite(current) or not math.isfinite(baseline):
        return None
    return (current - baseline) / abs(baseline)


def evaluate_performance(
    observed: Mapping[tuple[str, str], float | None],
    baseline: Mapping[str, float],
    metrics: Sequence[str],
    variants: Sequence[str],
    threshold: float,
) -> list[PerformanceDrift]:
    """Drift of every (variant, metric) with both a window value and a non-zero baseline."""
    results = []
    for metric in metrics:
        reference = baseline.get(metric)
        if reference is None:
            continue
        for variant in variants:
            current = observed.get((variant, metric))
            if current is None:
                continue
            change = relative_change(current, reference)
            if change is None:
                continue
            results.append(
                PerformanceDrift(variant, metric, reference, current, change, abs(change), abs(change) > threshold)
            )
    return results
