"""Drift benchmark: PSI + KS over 1,000,000 rows x 20 features, against a one-pass NumPy floor.

Two measurements on the same synthetic window (seeded; a mix of continuous, skewed and integer
features, so ties are common):

- statistics: the drift Lambda's accumulators fed the window as float chunks, the way they are fed
  after decoding; the floor is one NumPy pass that reads every value once (a sum per feature chunk),
  timed on the same chunks in the same run;
- end to end: the same number of rows as CSV data-capture lines (JSON records, one row each) through
  the Lambda's decoder, buffering, conversion and accumulators (no S3: lines come from memory).

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
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

from monitoring.capture import CaptureDecoder, capture_line  # noqa: E402
from monitoring.drift import DEFAULT_CHUNK_ROWS, NumericAccumulator, VariantWindow  # noqa: E402
from registry_core.baseline import build_feature_baseline, read_feature_baseline  # noqa: E402

ROWS = 1_000_000
FEATURES = 20
TRAINING_ROWS = 200_000
DISTINCT_LINES = 20_000  # end to end: a pool of real capture lines, cycled to reach ROWS
PEAK_CHUNKS = 4
CAPTURED_AT = datetime(2026, 1, 31, 10, 30, tzinfo=UTC)
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

    pool = [
        capture_line(",".join(f"{window[i, row]:.6g}" for i in range(FEATURES)), inference_time=CAPTURED_AT).encode()
        for row in range(DISTINCT_LINES)
    ]

    def lines(count: int) -> Iterator[bytes]:
        for index in range(count):
            yield pool[index % DISTINCT_LINES]

    def end_to_end(count: int = ROWS) -> Any:
        decoder = CaptureDecoder(names)
        variant = VariantWindow("Primary", names, baseline)
        for line in lines(count):
            variant.add_rows(decoder.decode(line).rows)
        return variant.finish(min_samples=1)

    e2e_wall, e2e_cpu, e2e_result = _timed(end_to_end)
    # tracemalloc slows Python-level parsing several times over: its peak is taken over the first
    # PEAK_CHUNKS flushes only; the buffer is emptied at every flush, so the peak does not grow after.
    e2e_peak = _peak(lambda: end_to_end(PEAK_CHUNKS * DEFAULT_CHUNK_ROWS))
    assert e2e_result.rows == ROWS and all(f.samples == ROWS for f in e2e_result.features)
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
        "e2e_wall_s": e2e_wall,
        "e2e_cpu_s": e2e_cpu,
        "e2e_values_per_cpu_s": values / e2e_cpu,
        "e2e_vs_floor": e2e_cpu / floor_cpu,
        "e2e_peak_mb": e2e_peak / 2**20,
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
            f"end to end from CSV capture lines (decode, buffer, convert, statistics): {figures['e2e_cpu_s']:.1f} CPU s "
            f"({figures['e2e_wall_s']:.1f} s wall) -> {figures['e2e_values_per_cpu_s'] / 1e6:,.2f} M values/s "
            f"per core, {figures['e2e_vs_floor']:.0f}x the floor; peak memory {figures['e2e_peak_mb']:.1f} MB "
            f"(over the first {PEAK_CHUNKS} flushes of {DEFAULT_CHUNK_ROWS:,} rows; flat after)",
            f"baseline build ({TRAINING_ROWS:,} training rows): {figures['baseline_build_s']:.2f} s; "
            f"sanity: max PSI {figures['max_psi']:.3f}, max KS {figures['max_ks']:.3f} for a 0.3 shift",
        ]
    )


if __name__ == "__main__":
    print(report(run()))
