"""Drift Lambda: invoked by one EventBridge Scheduler schedule per managed endpoint.

The schedule's input is a ``DriftRunRequest`` (group, endpoint, variants, features, thresholds,
window; ``windowEnd`` is the schedule's ``<aws.scheduler.scheduled-time>``, so a retried invocation
computes the same window and publishes the same datapoints).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mlops_registry.core.aws import warm_state
from mlops_registry.core.observability import count, instrumented, set_correlation_id
from monitoring.adapters import (
    CloudWatchMetricSink,
    CloudWatchPerformanceSource,
    EventBridgeDriftEvents,
    S3BaselineStore,
    S3CaptureSource,
    S3PartialStore,
    SageMakerServingVersions,
    StepFunctionsFanOut,
)
from monitoring.fanout import compute_partial, parse_run, reduce_partials
from monitoring.models import Settings, parse_request
from monitoring.service import DriftPorts, run_drift_check


@warm_state
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


@warm_state
def fan_out() -> StepFunctionsFanOut | None:
    """The fan-out, when the function's environment names its state machine."""
    settings = Settings.from_environment()
    if not settings.fan_out_state_machine_arn:
        return None
    return StepFunctionsFanOut(
        settings.fan_out_state_machine_arn,
        settings.fan_out_threshold_bytes,
        settings.capture_bucket,
        S3CaptureSource(settings.capture_bucket, settings.capture_prefix),
        settings.partials_prefix,
    )


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_request(event)
    now = datetime.now(UTC)
    _, end = request.window(now)
    set_correlation_id(f"{request.endpoint_name}@{end.isoformat()}")
    result = run_drift_check(request, ports(), now=now, fan_out=fan_out())
    count("DriftRuns")
    count("DriftRunsFannedOut", 1 if result.status == "fanned_out" else 0)
    count("DriftEventsSent", 1 if result.event_sent else 0)
    return result.summary()


@instrumented
def fan_out_worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One Distributed Map item: ``{"key": <capture object>, "variant": ..., "run": <fan-out input>}``."""
    run = parse_run(event.get("run") or {})
    set_correlation_id(f"{run.request.endpoint_name}@{run.window_end.isoformat()}")
    keys = [str(event["key"])] if event.get("key") else []
    settings = Settings.from_environment()
    baseline = ports().baselines.load(run.baseline_uri)
    return compute_partial(
        run,
        str(event.get("variant")),
        keys,
        baseline,
        S3CaptureSource(run.bucket, settings.capture_prefix),
        S3PartialStore(run.bucket),
    )


@instrumented
def fan_out_reducer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = parse_run(event)
    set_correlation_id(f"{run.request.endpoint_name}@{run.window_end.isoformat()}")
    result = reduce_partials(run, ports(), ports().baselines, S3PartialStore(run.bucket))
    count("DriftRuns")
    count("DriftEventsSent", 1 if result.event_sent else 0)
    return result.summary()
