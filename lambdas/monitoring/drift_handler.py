"""Drift Lambda: invoked by one EventBridge Scheduler schedule per managed endpoint.

The schedule's input is a ``DriftRunRequest`` (group, endpoint, variants, features, thresholds,
window; ``windowEnd`` is the schedule's ``<aws.scheduler.scheduled-time>``, so a retried invocation
computes the same window and publishes the same datapoints).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from registry_core.observability import count, instrumented, set_correlation_id

from monitoring.adapters import (
    CloudWatchMetricSink,
    CloudWatchPerformanceSource,
    EventBridgeDriftEvents,
    S3BaselineStore,
    S3CaptureSource,
    SageMakerServingVersions,
)
from monitoring.models import Settings, parse_request
from monitoring.service import DriftPorts, run_drift_check


@functools.cache
def ports() -> DriftPorts:
    """Adapters built once per cold start from the validated environment."""
    settings = Settings.from_environment()
    return DriftPorts(
        versions=SageMakerServingVersions(),
        baselines=S3BaselineStore(),
        captures=S3CaptureSource(settings.capture_bucket, settings.capture_prefix),
        performance=CloudWatchPerformanceSource(),
        metrics=CloudWatchMetricSink(settings.namespace),
        events=EventBridgeDriftEvents(settings.event_bus_name, settings.event_source, settings.event_detail_type),
    )


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_request(event)
    now = datetime.now(UTC)
    _, end = request.window(now)
    set_correlation_id(f"{request.endpoint_name}@{end.isoformat()}")
    result = run_drift_check(request, ports(), now=now)
    count("DriftRuns")
    count("DriftEventsSent", 1 if result.event_sent else 0)
    return result.summary()
