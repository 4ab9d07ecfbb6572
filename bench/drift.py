"""Drift benchmark: PSI + KS over 1,000,000 rows x 20 features, against a one-pass NumPy floor.

Two measurements on the same synthetic window (seeded; a mix of continuous, skewed and integer
features, so ties are common):

- statistics: the drift Lambda's accumulators fed the window as float chunks, the way they are fed
  after decoding; the floor is one NumPy pass that reads every value once (a sum per feature chunk),
  timed on the same chunks in the same run;
- end to end: data-capture JSON lines (one row per record, as SageMaker writes a real-time request)
  with CSV, JSON and BASE64 (CSV inside) payloads, through the Lambda's column-wise decoder
  (``BatchDecoder``: pyarrow for the JSON lines and the CSV payloads, orjson for JSON payloads) in
  the run's chunks, and the accumulators (no S3: lines come from memory). Reported as a ratio to the
  statistics-only figure of the same run.

Throughput is feature values per CPU second of this process (NumPy runs these operations on one
core, so that is per core); wall time is reported beside it. Peak memory is tracemalloc's peak of
allocations made during each pass (the benchmark's own copy of the window is made before and is not
counted: a real run never holds the window). Times are printed, never asserted.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

import json  # noqa: E402

from monitoring.adapters import PARTIAL_READ_THREADS  # noqa: E402
from monitoring.capture import BatchDecoder, capture_line  # noqa: E402
from monitoring.drift import DEFAULT_CHUNK_ROWS, NumericAccumulator, VariantWindow  # noqa: E402
from monitoring.service import CHUNK_LINES, line_chunks  # noqa: E402
from registry_core.baseline import build_feature_baseline, read_feature_baseline  # noqa: E402

from infra import constants  # noqa: E402

ROWS = 1_000_000
FEATURES = 20
TRAINING_ROWS = 200_000
DISTINCT_LINES = 20_000  # end to end: a pool of real capture lines, cycled to reach ROWS
PEAK_CHUNKS = 4
CAPTURED_AT = datetime(2026, 1, 31, 10, 30, tzinfo=UTC)
WINDOW_START, WINDOW_END = datetime(2026, 1, 31, 10, 0, tzinfo=UTC), datetime(2026, 1, 31, 11, 0, tzinfo=UTC)
E2E_ROWS = {"CSV": ROWS, "JSON": ROWS // 4, "BASE64": ROWS // 4}
CAPTURE_OBJECT_MB = 16  # assumed size of one capture object (SageMaker rolls capture files every few minutes)
S3_GET_SECONDS = 0.03  # assumed latency of one small S3 GET
SEED = 20260131


def _columns(rng: np.random.Generator, rows: int, shift: float) -> np.ndarray:
    """(features, rows) float64: contiguous per feature, as the decoder's column buffers are."""
    data = np.empty((FEATURES, rows), dtype=np.float64)
    for index in range(FEATURES):
        kind = index % 4
        if kind == 0:
            data[index] = rng.normal(shift, 1.0, rows)
        elif kind == 1:
            data[index] = rng.lognormal(1.0 + shift / 10, 0.6, rows)
        elif kind == 2:
            data[index] = rng.integers(0, 30, rows) + round(shift)  # ties
        else:
            data[index] = np.round(rng.gamma(2.0, 10.0, rows) + shift, 1)  # rounded: ties
    return data


def _timed(function: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _peak(function: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run() -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    names = [f"f{index:02d}" for index in range(FEATURES)]
    training = _columns(rng, TRAINING_ROWS, 0.0)
    started = time.perf_counter()
    document = build_feature_baseline({name: training[i] for i, name in enumerate(names)})
    baseline_seconds = time.perf_counter() - started
    baseline = read_feature_baseline(document)
    window = _columns(rng, ROWS, 0.3)
    values = ROWS * FEATURES
    bounds = [(start, min(start + DEFAULT_CHUNK_ROWS, ROWS)) for start in range(0, ROWS, DEFAULT_CHUNK_ROWS)]

    def floor() -> float:
        total = 0.0
        for start, stop in bounds:
            for index in range(FEATURES):
                total += float(np.add.reduce(window[index, start:stop]))
        return total

    def statistics() -> list[Any]:
        accumulators = [NumericAccumulator(baseline.features[name]) for name in names]  # type: ignore[arg-type]
        for start, stop in bounds:
            for index, accumulator in enumerate(accumulators):
                accumulator.add(window[index, start:stop])
        return [accumulator.result(min_samples=1) for accumulator in accumulators]

    floor()  # page the window in before timing
    floor_wall, floor_cpu, _ = _timed(floor)
    stats_wall, stats_cpu, results = _timed(statistics)
    stats_peak = _peak(statistics)

    def pool_for(encoding: str) -> list[bytes]:
        lines = []
        for row in range(DISTINCT_LINES):
            values = [float(f"{window[i, row]:.6g}") for i in range(FEATURES)]
            if encoding == "JSON":
                data = json.dumps(dict(zip(names, values, strict=True)))
                line = capture_line(data, content_type="application/json", encoding="JSON", inference_time=CAPTURED_AT)
            else:
                data = ",".join(f"{v:.6g}" for v in values)
                line = capture_line(data, encoding=encoding, inference_time=CAPTURED_AT)
            lines.append(line.encode())
        return lines

    def end_to_end(pool: list[bytes], count: int) -> Any:
        decoder = BatchDecoder(names)
        variant = VariantWindow("Primary", names, baseline)
        lines = (pool[index % DISTINCT_LINES] for index in range(count))
        for chunk in line_chunks(lines, CHUNK_LINES):
            variant.add_batch(decoder.decode(chunk, WINDOW_START, WINDOW_END))
        return variant.finish(min_samples=1)

    e2e: dict[str, dict[str, float]] = {}
    for encoding, count in E2E_ROWS.items():
        pool = pool_for(encoding)
        wall, cpu, result = _timed(lambda pool=pool, count=count: end_to_end(pool, count))  # type: ignore[misc]
        assert result.rows == count and all(f.samples == count for f in result.features), encoding
        e2e[encoding] = {
            "rows": count,
            "wall_s": wall,
            "cpu_s": cpu,
            "values_per_cpu_s": count * FEATURES / cpu,
            "line_bytes": sum(map(len, pool)) / len(pool),
        }
    e2e_peak = _peak(lambda: end_to_end(pool_for("CSV"), PEAK_CHUNKS * CHUNK_LINES))
    scale = _scale(names, baseline, end_to_end, pool_for("CSV"), e2e)
    return {
        "rows": ROWS,
        "features": FEATURES,
        "values": values,
        "cpu_count": os.cpu_count(),
        "baseline_build_s": baseline_seconds,
        "floor_wall_s": floor_wall,
        "floor_cpu_s": floor_cpu,
        "floor_values_per_cpu_s": values / floor_cpu,
        "stats_wall_s": stats_wall,
        "stats_cpu_s": stats_cpu,
        "stats_values_per_cpu_s": values / stats_cpu,
        "stats_vs_floor": stats_cpu / floor_cpu,
        "stats_peak_mb": stats_peak / 2**20,
        "window_mb": window.nbytes / 2**20,
        "max_psi": max(r.psi for r in results),
        "max_ks": max(r.ks for r in results),
        "e2e": e2e,
        "e2e_values_per_cpu_s": e2e["CSV"]["values_per_cpu_s"],
        "e2e_vs_stats": e2e["CSV"]["values_per_cpu_s"] / (values / stats_cpu),
        "e2e_peak_mb": e2e_peak / 2**20,
        "scale": scale,
    }


def _scale(
    names: list[str],
    baseline: Any,
    end_to_end: Callable[[list[bytes], int], Any],
    pool: list[bytes],
    e2e: dict[str, Any],
) -> dict[str, Any]:
    """Fan-out figures: the single-invocation ceiling and the projected wall time of a 10 B-value window."""
    import orjson

    slowest = min(e2e.values(), key=lambda e: e["rows"] * e["line_bytes"] / e["cpu_s"])
    bytes_per_s = slowest["rows"] * slowest["line_bytes"] / slowest["cpu_s"]
    values_per_byte = FEATURES / slowest["line_bytes"]
    ceiling_bytes = bytes_per_s * constants.LAMBDA_MAX_SECONDS * constants.DRIFT_FANOUT_SAFETY
    # one worker's partial (one capture object), and what merging it costs the reducer
    window = VariantWindow("Primary", names, baseline)
    worker = VariantWindow("Primary", names, baseline)
    decoder = BatchDecoder(names)
    worker.add_batch(decoder.decode(pool[:CHUNK_LINES], WINDOW_START, WINDOW_END))
    blob = orjson.dumps(worker.partial())
    merges = 200

    def merge_all() -> None:
        for _ in range(merges):
            window.merge(orjson.loads(blob))

    _, cpu, _ = _timed(merge_all)
    merge_s = cpu / merges
    csv = e2e["CSV"]
    csv_values_per_s = csv["values_per_cpu_s"]
    target_values = 10_000_000_000
    object_bytes = CAPTURE_OBJECT_MB * 2**20
    objects = target_values / (FEATURES / csv["line_bytes"]) / object_bytes
    worker_s = object_bytes * (FEATURES / csv["line_bytes"]) / csv_values_per_s
    waves = objects / constants.DRIFT_FANOUT_MAX_CONCURRENCY
    reduce_s = objects * merge_s + objects / PARTIAL_READ_THREADS * S3_GET_SECONDS
    return {
        "threshold_bytes": constants.DRIFT_FANOUT_THRESHOLD_BYTES,
        "measured_slowest_bytes_per_s": bytes_per_s,
        "ceiling_bytes": ceiling_bytes,
        "ceiling_values": ceiling_bytes * values_per_byte,
        "partial_kb": len(blob) / 1024,
        "merge_ms": merge_s * 1000,
        "objects": objects,
        "worker_s": worker_s,
        "waves": waves,
        "reduce_s": reduce_s,
        "projected_s": waves * worker_s + reduce_s,
        "single_s": target_values / csv_values_per_s,
        "concurrency": constants.DRIFT_FANOUT_MAX_CONCURRENCY,
    }


def report(figures: dict[str, Any]) -> str:
    rows, features = figures["rows"], figures["features"]
    return "\n".join(
        [
            f"== drift ({rows:,} rows x {features} features = {figures['values']:,} values; "
            f"{figures['cpu_count']} cores, one used)",
            f"one-pass NumPy floor (sum per feature chunk): {figures['floor_cpu_s']:.3f} CPU s "
            f"-> {figures['floor_values_per_cpu_s'] / 1e6:,.0f} M values/s per core",
            f"PSI + KS statistics (sort per chunk, binary searches): {figures['stats_cpu_s']:.2f} CPU s "
            f"({figures['stats_wall_s']:.2f} s wall) -> {figures['stats_values_per_cpu_s'] / 1e6:,.1f} M values/s "
            f"per core, {figures['stats_vs_floor']:.1f}x the floor; peak memory {figures['stats_peak_mb']:.1f} MB "
            f"(window itself: {figures['window_mb']:.0f} MB, never held by the Lambda)",
            *[
                f"end to end from capture JSON lines, {encoding} payloads ({e['rows']:,} rows, {e['line_bytes']:.0f} B/line; "
                f"decode + statistics): {e['cpu_s']:.2f} CPU s ({e['wall_s']:.2f} s wall) -> "
                f"{e['values_per_cpu_s'] / 1e6:,.1f} M values/s per core = "
                f"{e['values_per_cpu_s'] / figures['stats_values_per_cpu_s']:.2f}x the statistics-only figure"
                for encoding, e in figures["e2e"].items()
            ],
            f"end-to-end peak memory {figures['e2e_peak_mb']:.1f} MB (over {PEAK_CHUNKS} chunks of {CHUNK_LINES:,} lines; "
            "flat after: one chunk is held at a time)",
            *_scale_report(figures["scale"]),
            f"baseline build ({TRAINING_ROWS:,} training rows): {figures['baseline_build_s']:.2f} s; "
            f"sanity: max PSI {figures['max_psi']:.3f}, max KS {figures['max_ks']:.3f} for a 0.3 shift",
        ]
    )


def _scale_report(scale: dict[str, Any]) -> list[str]:
    return [
        f"single-invocation ceiling: {scale['measured_slowest_bytes_per_s'] / 1e6:.0f} MB/s (slowest payload kind) x "
        f"{constants.LAMBDA_MAX_SECONDS} s x {constants.DRIFT_FANOUT_SAFETY} margin = {scale['ceiling_bytes'] / 1e9:.1f} GB "
        f"of capture ({scale['ceiling_values'] / 1e9:.2f} B values); deployed fan-out threshold "
        f"{scale['threshold_bytes'] / 1e9:.1f} GB (constants.DRIFT_FANOUT_THRESHOLD_BYTES)",
        f"fan-out, 10 B-value window (CSV payloads, {CAPTURE_OBJECT_MB} MB capture objects -> {scale['objects']:,.0f} "
        f"workers, {scale['worker_s']:.1f} s each, concurrency {scale['concurrency']}): projected "
        f"{scale['projected_s'] / 60:.1f} min wall ({scale['waves']:.0f} waves + reduce {scale['reduce_s']:.0f} s: "
        f"{scale['partial_kb']:.0f} KB partial, {scale['merge_ms']:.1f} ms to merge each, reads "
        f"{PARTIAL_READ_THREADS} at a time at ~{S3_GET_SECONDS * 1000:.0f} ms) vs {scale['single_s'] / 3600:.1f} h in "
        "one invocation (beyond Lambda's 15 minutes)",
    ]


if __name__ == "__main__":
    print(report(run()))
