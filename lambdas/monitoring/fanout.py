"""Drift at scale: a window too large for one invocation, fanned out on Step Functions Distributed Map.

The drift function sizes the window (a listing of its hour folders) and, above the threshold, starts
the fan-out state machine with ``fan_out_input``. The state machine maps over the window's capture
prefixes; for each, a Distributed Map whose S3 item reader lists the prefix hands batches of capture
objects to workers (``compute_partial``): each decodes its objects and writes the window's mergeable
partial statistics (bin counts, counts at the baseline's CDF points, category counts, record counters:
integers only). The reducer (``reduce_partials``) sums the partials per variant and concludes the run
exactly as a single pass would (``service.conclude_run``): the counts are the same integers, so PSI and
KS are the same numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from mlops_registry.core.baseline import FeatureBaseline
from mlops_registry.core.errors import InvalidEventError
from monitoring.drift import DEFAULT_CHUNK_ROWS, VariantWindow
from monitoring.models import DriftRunRequest, parse_request
from monitoring.service import (
    CHUNK_LINES,
    BaselineStore,
    DriftPorts,
    DriftRunResult,
    ServingVersion,
    batch_decoder,
    conclude_run,
    line_chunks,
    with_promoted_performance,
)

EXECUTION_NAME_LIMIT = 80


class ObjectLines(Protocol):
    def object_lines(self, key: str) -> Iterator[bytes]: ...


class PartialStore(Protocol):
    def put(self, key: str, partial: Mapping[str, Any]) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...

    def get_many(self, keys: Sequence[str]) -> Iterable[Any]: ...

    def delete(self, keys: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class FanOutRun:
    """The fan-out execution's input (what every worker and the reducer receive)."""

    request: DriftRunRequest
    package_arn: str
    version: int | None
    baseline_uri: str
    window_start: datetime
    window_end: datetime
    run_id: str
    bucket: str
    partials_prefix: str
    performance_baseline_uri: str | None = None

    def partials_of(self, variant: str | None = None) -> str:
        base = f"{self.partials_prefix}/{self.run_id}/"
        return base if variant is None else f"{base}{variant}/"


def execution_name(request: DriftRunRequest, end: datetime) -> str:
    """Deterministic per endpoint and window end (Step Functions names: <= 80 of [A-Za-z0-9-_])."""
    digest = hashlib.sha256(f"{request.endpoint_name}|{end.isoformat()}".encode()).hexdigest()[:16]
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in request.endpoint_name)
    return f"{stem[: EXECUTION_NAME_LIMIT - 35]}-{end:%Y%m%dT%H%M}-{digest}"


def fan_out_input(
    request: DriftRunRequest,
    serving: ServingVersion,
    start: datetime,
    end: datetime,
    *,
    bucket: str,
    prefixes: Sequence[Mapping[str, str]],
    partials_prefix: str,
    run_id: str,
    size: int,
) -> dict[str, Any]:
    return {
        "request": request.model_dump(mode="json", by_alias=True),
        "packageArn": serving.package_arn,
        "version": serving.version,
        "baselineUri": serving.baseline_uri,
        "performanceBaselineUri": serving.performance_baseline_uri,
        "windowStart": start.isoformat(),
        "windowEnd": end.isoformat(),
        "runId": run_id,
        "bucket": bucket,
        "partialsPrefix": partials_prefix,
        "prefixes": list(prefixes),
        "bytes": size,
    }


def parse_run(event: Mapping[str, Any]) -> FanOutRun:
    """The run from a worker's ``BatchInput`` or the reducer's input; names the missing field."""
    try:
        baseline_uri = event["baselineUri"]
        if not isinstance(baseline_uri, str) or not baseline_uri:
            raise InvalidEventError(f"baselineUri: {baseline_uri!r} is not an S3 URI")
        return FanOutRun(
            request=parse_request(event["request"]),
            package_arn=str(event["packageArn"]),
            version=event.get("version"),
            baseline_uri=baseline_uri,
            window_start=datetime.fromisoformat(event["windowStart"]),
            window_end=datetime.fromisoformat(event["windowEnd"]),
            run_id=str(event["runId"]),
            bucket=str(event["bucket"]),
            partials_prefix=str(event["partialsPrefix"]).strip("/"),
            performance_baseline_uri=event.get("performanceBaselineUri") or None,
        )
    except KeyError as error:
        raise InvalidEventError(f"fan-out input: missing field {error.args[0]!r}") from error
    except ValueError as error:
        raise InvalidEventError(f"fan-out input: {error}") from error


# --- worker -------------------------------------------------------------------------------------
def compute_partial(
    run: FanOutRun,
    variant: str,
    keys: Iterable[str],
    baseline: FeatureBaseline,
    source: ObjectLines,
    store: PartialStore,
    *,
    chunk_lines: int = CHUNK_LINES,
) -> dict[str, Any]:
    """Decode a batch of capture objects of one variant and store their partial statistics."""
    keys = list(keys)
    if variant not in run.request.variants:
        raise InvalidEventError(f"variant: {variant!r} is not one of {list(run.request.variants)}")
    decoder = batch_decoder(run.request.features, baseline)
    window = VariantWindow(variant, run.request.features, baseline, chunk_rows=DEFAULT_CHUNK_ROWS)
    for key in keys:
        blocks = getattr(source, "object_blocks", None)
        if blocks is not None:  # whole blocks of lines (the S3 source): no split into lines in Python
            for block in blocks(key):
                window.add_batch(decoder.decode_block(block, run.window_start, run.window_end))
        else:
            for chunk in line_chunks(source.object_lines(key), chunk_lines):
                window.add_batch(decoder.decode(chunk, run.window_start, run.window_end))
    partial = window.partial()
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
    key = f"{run.partials_of(variant)}{digest}.json"
    store.put(key, partial)
    return {"partial": key, "objects": len(keys), "rows": partial["rows"]}


# --- reducer ------------------------------------------------------------------------------------
def merge_partials(
    run: FanOutRun, baseline: FeatureBaseline, partials: Mapping[str, Iterable[Mapping[str, Any]]]
) -> list[VariantWindow]:
    windows = []
    for variant in run.request.variants:
        window = VariantWindow(variant, run.request.features, baseline)
        for partial in partials.get(variant, ()):
            window.merge(dict(partial))
        windows.append(window)
    return windows


def reduce_partials(
    run: FanOutRun, ports: DriftPorts, baselines: BaselineStore, store: PartialStore, *, delete: bool = True
) -> DriftRunResult:
    """Merge every worker's partial per variant and conclude the run as a single pass would."""
    baseline = with_promoted_performance(
        baselines.load(run.baseline_uri), run.package_arn, run.performance_baseline_uri, baselines
    )
    keys = store.keys(run.partials_of())
    partials: dict[str, list[Any]] = {variant: [] for variant in run.request.variants}
    for key, partial in zip(keys, store.get_many(keys), strict=True):
        variant = key[len(run.partials_of()) :].split("/", 1)[0]
        if variant in partials:
            partials[variant].append(partial)
    result = DriftRunResult("ok", run.request.group, run.request.endpoint_name, run.window_start, run.window_end)
    result.package_arn, result.version = run.package_arn, run.version
    result.variants = [w.finish(run.request.min_samples) for w in merge_partials(run, baseline, partials)]
    concluded = conclude_run(run.request, ports, result, baseline, run.window_end - timedelta(seconds=1))
    if delete and keys:
        store.delete(keys)
    return concluded
