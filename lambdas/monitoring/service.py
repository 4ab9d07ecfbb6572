"""One drift run: serving version -> baseline -> capture window -> statistics -> metrics and event.

``run_drift_check`` is the logic function the handler calls. It talks to AWS only through the small
ports below (implemented in ``monitoring.adapters``; in-memory fakes in the unit tests). Bad input
never stops a run: corrupt capture lines, malformed rows, values that are not numbers, features the
baseline does not describe and empty windows are counted and published as metrics; a statistic is
published only when it is a finite number computed from at least ``min_samples`` values.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from mlops_registry.core import contracts
from mlops_registry.core.baseline import FeatureBaseline, PerformanceBaseline
from mlops_registry.core.errors import ReportUnavailableError
from mlops_registry.core.observability import logger
from monitoring.capture import BatchDecoder
from monitoring.drift import DEFAULT_CHUNK_ROWS, VariantDrift, VariantWindow
from monitoring.models import DriftRunRequest
from monitoring.performance import PerformanceDrift, evaluate_performance

CHUNK_LINES = 8192  # capture lines decoded together (~4 MB of JSON lines): bounds memory, amortises Arrow


# --- ports ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServingVersion:
    package_arn: str
    version: int | None
    baseline_uri: str | None
    # Written at promotion and named on the package (mlops_registry.core.baseline); None for a version
    # promoted before the pipeline wrote one.
    performance_baseline_uri: str | None = None


class ServingVersions(Protocol):
    def production_version(self, group: str) -> ServingVersion | None: ...


class BaselineStore(Protocol):
    def load(self, uri: str) -> FeatureBaseline: ...

    def load_performance(self, uri: str, package_arn: str) -> PerformanceBaseline: ...


class CaptureSource(Protocol):
    def lines(self, endpoint: str, variant: str, start: datetime, end: datetime) -> Iterable[bytes | str]: ...

    def window_bytes(self, endpoint: str, variant: str, start: datetime, end: datetime) -> int: ...


class FanOut(Protocol):
    """Hands a window too large for one invocation to the Distributed Map fan-out."""

    threshold_bytes: int

    def start(
        self, request: DriftRunRequest, serving: ServingVersion, start: datetime, end: datetime, size: int
    ) -> str: ...


class PerformanceSource(Protocol):
    def window_values(
        self, endpoint: str, variants: Sequence[str], metrics: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[tuple[str, str], float | None]: ...


class MetricSink(Protocol):
    def publish(self, data: Sequence[MetricDatum]) -> None: ...


class DriftEvents(Protocol):
    def drift_detected(self, detail: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class DriftPorts:
    versions: ServingVersions
    baselines: BaselineStore
    captures: CaptureSource
    performance: PerformanceSource
    metrics: MetricSink
    events: DriftEvents


@dataclass(frozen=True)
class MetricDatum:
    name: str
    value: float
    dimensions: tuple[tuple[str, str], ...]
    timestamp: datetime
    unit: str = "None"


# --- result -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Breach:
    variant: str
    subject: str  # a feature or a performance metric
    statistic: str  # PSI | KS | PerformanceDrift
    value: float
    threshold: float


@dataclass
class DriftRunResult:
    status: str
    group: str
    endpoint: str
    window_start: datetime
    window_end: datetime
    package_arn: str | None = None
    version: int | None = None
    variants: list[VariantDrift] = field(default_factory=list)
    performance: list[PerformanceDrift] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)
    metrics_published: int = 0
    non_finite_dropped: int = 0
    event_sent: bool = False
    fan_out_execution: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "fanOutExecution": self.fan_out_execution,
            "group": self.group,
            "endpointName": self.endpoint,
            "version": self.version,
            "window": {"start": _iso(self.window_start), "end": _iso(self.window_end)},
            "records": {v.variant: v.records for v in self.variants},
            "corruptRecords": sum(v.corrupt_records for v in self.variants),
            "breaches": [b.__dict__ for b in self.breaches],
            "statistics": {
                v.variant: {
                    "rows": v.rows,
                    "features": {f.feature: {"psi": f.psi, "ks": f.ks, "samples": f.samples} for f in v.features},
                }
                for v in self.variants
            },
            "metricsPublished": self.metrics_published,
            "eventSent": self.event_sent,
        }


# --- the run ----------------------------------------------------------------------------------
def run_drift_check(
    request: DriftRunRequest,
    ports: DriftPorts,
    *,
    now: datetime | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    chunk_lines: int = CHUNK_LINES,
    fan_out: FanOut | None = None,
) -> DriftRunResult:
    """One drift run. With ``fan_out`` configured, a window whose capture exceeds its threshold is
    handed to the Distributed Map fan-out (``status == "fanned_out"``) instead of being read here."""
    start, end = request.window(now)
    result = DriftRunResult("ok", request.group, request.endpoint_name, start, end)
    stamp = end - timedelta(seconds=1)  # inside the window's CloudWatch period, not the next one
    serving, baseline = _serving_and_baseline(request, ports, result, stamp)
    if serving is None or baseline is None:
        return result

    if fan_out is not None:
        size = sum(ports.captures.window_bytes(request.endpoint_name, v, start, end) for v in request.variants)
        if size > fan_out.threshold_bytes:
            result.status = "fanned_out"
            result.fan_out_execution = fan_out.start(request, serving, start, end, size)
            logger.info(
                "window fanned out",
                extra={"bytes": size, "threshold": fan_out.threshold_bytes, "execution": result.fan_out_execution},
            )
            return result

    decoder = batch_decoder(request.features, baseline)
    for variant in request.variants:
        window = VariantWindow(variant, request.features, baseline, chunk_rows=chunk_rows)
        blocks = getattr(ports.captures, "blocks", None)
        if blocks is not None:  # whole blocks of lines (the S3 source): no split into lines in Python
            for block in blocks(request.endpoint_name, variant, start, end):
                window.add_batch(decoder.decode_block(block, start, end))
        else:
            for chunk in line_chunks(ports.captures.lines(request.endpoint_name, variant, start, end), chunk_lines):
                window.add_batch(decoder.decode(chunk, start, end))
        result.variants.append(window.finish(request.min_samples))
    return conclude_run(request, ports, result, baseline, stamp)


def _serving_and_baseline(
    request: DriftRunRequest, ports: DriftPorts, result: DriftRunResult, stamp: datetime
) -> tuple[ServingVersion | None, FeatureBaseline | None]:
    serving = ports.versions.production_version(request.group)
    if serving is None:
        logger.warning("no Production version; nothing to compare", extra={"group": request.group})
        result.status = "no_production_version"
        _publish(result, ports, _run_flags(request, contracts.NO_PRODUCTION_VERSION, stamp))
        return None, None
    result.package_arn, result.version = serving.package_arn, serving.version
    baseline = _load_baseline(serving, ports)
    if baseline is None:
        result.status = "baseline_unavailable"
        _publish(result, ports, _run_flags(request, contracts.BASELINE_UNAVAILABLE, stamp))
    return serving, baseline


def conclude_run(
    request: DriftRunRequest, ports: DriftPorts, result: DriftRunResult, baseline: FeatureBaseline, stamp: datetime
) -> DriftRunResult:
    """Performance drift, breaches, metrics and the event: the same whether the variants' statistics
    came from one pass or from merged fan-out partials."""
    if baseline.performance is not None and request.performance_metrics:
        observed = ports.performance.window_values(
            request.endpoint_name, request.variants, request.performance_metrics, result.window_start, result.window_end
        )
        result.performance = evaluate_performance(
            observed,
            baseline.performance.metrics,
            request.performance_metrics,
            request.variants,
            request.performance_drift_threshold,
        )

    result.breaches = find_breaches(request, result.variants, result.performance)
    _publish(result, ports, drift_metric_data(request, result.variants, result.performance, stamp))
    if result.breaches:
        ports.events.drift_detected(drift_event_detail(request, result))
        result.event_sent = True
    logger.info("drift run finished", extra={"summary": result.summary()})
    return result


def _load_baseline(serving: ServingVersion, ports: DriftPorts) -> FeatureBaseline | None:
    if serving.baseline_uri is None:
        logger.error("the Production version references no baseline", extra={"package": serving.package_arn})
        return None
    try:
        baseline = ports.baselines.load(serving.baseline_uri)
    except ReportUnavailableError as error:  # BaselineFormatError included
        logger.error("baseline unavailable", extra={"uri": serving.baseline_uri, "error": str(error)})
        return None
    return with_promoted_performance(baseline, serving.package_arn, serving.performance_baseline_uri, ports.baselines)


def with_promoted_performance(
    baseline: FeatureBaseline, package_arn: str, uri: str | None, baselines: BaselineStore
) -> FeatureBaseline:
    """The feature baseline with the performance baseline written at promotion (when the package
    names one) in place of its own ``performance`` section. An unreadable or invalid one is logged and
    leaves the baseline as it is: feature drift still runs, performance drift has no reference."""
    if uri is None:
        return baseline
    try:
        performance = baselines.load_performance(uri, package_arn)
    except ReportUnavailableError as error:  # BaselineFormatError included
        logger.error("performance baseline unavailable", extra={"uri": uri, "error": str(error)})
        return baseline
    return dataclasses.replace(baseline, performance=performance)


def batch_decoder(features: Sequence[str], baseline: FeatureBaseline) -> BatchDecoder:
    categorical = [name for name, spec in baseline.features.items() if spec.type == "categorical"]
    return BatchDecoder(features, categorical=categorical)


def line_chunks(lines: Iterable[bytes | str], size: int) -> Iterator[list[bytes]]:
    """Capture lines in chunks of ``size`` (the unit of column-wise decoding; bounds memory)."""
    chunk: list[bytes] = []
    for line in lines:
        chunk.append(line.encode() if isinstance(line, str) else line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def find_breaches(
    request: DriftRunRequest, variants: Sequence[VariantDrift], performance: Sequence[PerformanceDrift]
) -> list[Breach]:
    breaches = []
    for variant in variants:
        for feature in variant.features:
            if feature.psi is not None and feature.psi > request.psi_threshold:
                breaches.append(Breach(variant.variant, feature.feature, "PSI", feature.psi, request.psi_threshold))
            if feature.ks is not None and feature.ks > request.ks_threshold:
                breaches.append(Breach(variant.variant, feature.feature, "KS", feature.ks, request.ks_threshold))
    for item in performance:
        if item.breached:
            breaches.append(
                Breach(item.variant, item.metric, "PerformanceDrift", item.drift, request.performance_drift_threshold)
            )
    return breaches


# --- metrics ----------------------------------------------------------------------------------
def drift_metric_data(
    request: DriftRunRequest,
    variants: Sequence[VariantDrift],
    performance: Sequence[PerformanceDrift],
    stamp: datetime,
) -> list[MetricDatum]:
    endpoint = (contracts.DIMENSION_ENDPOINT, request.endpoint_name)
    data: list[MetricDatum] = []

    def add(name: str, value: float | None, *dimensions: tuple[str, str], unit: str = "None") -> None:
        if value is not None:
            data.append(MetricDatum(name, float(value), (endpoint, *dimensions), stamp, unit))

    for variant in variants:
        v = (contracts.DIMENSION_VARIANT, variant.variant)
        add(contracts.CAPTURE_RECORDS, variant.records, v, unit="Count")
        add(contracts.CAPTURED_ROWS, variant.rows, v, unit="Count")
        add(contracts.CORRUPT_RECORDS, variant.corrupt_records, v, unit="Count")
        add(contracts.MALFORMED_ROWS, variant.malformed_rows, v, unit="Count")
        add(contracts.UNEXPECTED_FEATURE_VALUES, variant.unexpected_values, v, unit="Count")
        add(contracts.FEATURES_MISSING_FROM_BASELINE, len(variant.features_missing_from_baseline), v, unit="Count")
        add(contracts.EMPTY_WINDOW, 1 if variant.empty else 0, v, unit="Count")
        for feature in variant.features:
            f = (contracts.DIMENSION_FEATURE, feature.feature)
            add(contracts.FEATURE_SAMPLES, feature.samples, v, f, unit="Count")
            add(contracts.MISSING_VALUES, feature.missing, v, f, unit="Count")
            if feature.kind == "numeric":
                add(contracts.NON_NUMERIC_VALUES, feature.non_numeric, v, f, unit="Count")
            add(contracts.FEATURE_PSI, feature.psi, v, f)
            add(contracts.FEATURE_KS, feature.ks, v, f)
    for item in performance:
        add(
            contracts.PERFORMANCE_DRIFT,
            item.drift,
            (contracts.DIMENSION_VARIANT, item.variant),
            (contracts.DIMENSION_METRIC, item.metric),
        )
    return data


def _run_flags(request: DriftRunRequest, name: str, stamp: datetime) -> list[MetricDatum]:
    return [
        MetricDatum(
            name,
            1.0,
            ((contracts.DIMENSION_ENDPOINT, request.endpoint_name), (contracts.DIMENSION_VARIANT, variant)),
            stamp,
            "Count",
        )
        for variant in request.variants
    ]


def _publish(result: DriftRunResult, ports: DriftPorts, data: Sequence[MetricDatum]) -> None:
    finite = [d for d in data if math.isfinite(d.value)]
    result.non_finite_dropped = len(data) - len(finite)
    if result.non_finite_dropped:
        logger.error("dropped non-finite statistics", extra={"count": result.non_finite_dropped})
    ports.metrics.publish(finite)
    result.metrics_published = len(finite)


# --- the event --------------------------------------------------------------------------------
def drift_event_detail(request: DriftRunRequest, result: DriftRunResult) -> dict[str, Any]:
    """The ``ModelDriftDetected`` detail: enough for a retraining job to act without a lookup."""
    run_key = f"{request.endpoint_name}|{_iso(result.window_end)}"
    return {
        "runId": hashlib.sha256(run_key.encode()).hexdigest()[:32],  # duplicate deliveries share it
        "group": request.group,
        "version": result.version,
        "modelPackageArn": result.package_arn,
        "endpointName": request.endpoint_name,
        "window": {"start": _iso(result.window_start), "end": _iso(result.window_end)},
        "thresholds": {
            "psi": request.psi_threshold,
            "ks": request.ks_threshold,
            "performanceDrift": request.performance_drift_threshold,
        },
        "features": sorted({b.subject for b in result.breaches if b.statistic in ("PSI", "KS")}),
        "performanceMetrics": sorted({b.subject for b in result.breaches if b.statistic == "PerformanceDrift"}),
        "breaches": [
            {"variant": b.variant, "subject": b.subject, "statistic": b.statistic, "value": b.value}
            for b in result.breaches
        ],
        "statistics": {
            variant.variant: {
                "records": variant.records,
                "corruptRecords": variant.corrupt_records,
                "features": {
                    f.feature: {"psi": f.psi, "ks": f.ks, "samples": f.samples}
                    for f in variant.features
                    if f.psi is not None
                },
            }
            for variant in result.variants
        },
        "performance": [
            {
                "variant": p.variant,
                "metric": p.metric,
                "baseline": p.baseline,
                "current": p.current,
                "relativeChange": p.relative_change,
            }
            for p in result.performance
        ],
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
