"""Staging validation benchmark: the evidence library's throughput on a holdout, as the function runs it.

For holdouts of growing size (the churn example group's generated data, CSV with a header), times the
two steps the validation function runs in one invocation each: ``start`` (read the CSV, write the
transform input with the permuted copies) and ``poll`` (read the CSV and the transform's output,
compute quality, bias and explanations). The function's runtime has NumPy but not scikit-learn, so the
FlipTest metric is left out here as it is there. Peak memory is tracemalloc's peak during a second,
untimed ``poll`` (tracing slows Python down several times).
The deployed threshold (``infra.constants.VALIDATION_HOLDOUT_MAX_BYTES``) is derived from these
figures (docs/evidence.md); times are printed, never asserted.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROWS = (4_000, 32_000, 128_000)


def run(rows: tuple[int, ...] = ROWS) -> list[dict[str, Any]]:
    import numpy as np

    sys.modules.setdefault("sklearn.neighbors", None)  # type: ignore[arg-type]  # as in the function
    from infra.config import load_config
    from mlops_registry.core.config import publish
    from mlops_registry.core.evidence.dataset import read_csv
    from mlops_registry.core.evidence.holdout import HoldoutSpec, evidence_from_outputs, read_outputs, transform_input
    from offline.samples import holdout_csv, predict_outputs, sample_model

    context = json.loads((Path(__file__).resolve().parents[1] / "cdk.json").read_text())["context"]
    group = load_config(context, "dev").group("churn-classifier")
    spec = HoldoutSpec.from_policy(publish(group))
    model = sample_model(group)
    results = []
    for count in rows:
        body = holdout_csv(group, rows=count)
        started = time.perf_counter()
        transform = transform_input(read_csv(body), spec)
        start_seconds = time.perf_counter() - started
        matrix = np.loadtxt(transform.decode().splitlines(), delimiter=",")
        output = "".join(f"{float(v)!r}\n" for v in predict_outputs(model.estimator, matrix)).encode()
        started = time.perf_counter()
        evidence_from_outputs(read_csv(body), spec, read_outputs(output, len(matrix)))
        poll_seconds = time.perf_counter() - started
        tracemalloc.start()  # a second pass: tracing slows Python down several times
        evidence_from_outputs(read_csv(body), spec, read_outputs(output, len(matrix)))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results.append(
            {
                "rows": count,
                "bytes": len(body),
                "start_s": start_seconds,
                "poll_s": poll_seconds,
                "poll_bytes_per_s": len(body) / poll_seconds,
                "peak_memory_x": peak / len(body),
            }
        )
    return results


def report(results: list[dict[str, Any]]) -> str:
    lines = ["Staging validation (evidence library, function runtime without scikit-learn)"]
    for r in results:
        lines.append(
            f"  {r['rows']:>7,} rows, {r['bytes'] / 1e6:6.1f} MB: start {r['start_s']:6.2f} s, "
            f"poll {r['poll_s']:6.2f} s ({r['poll_bytes_per_s'] / 1e6:.2f} MB/s), "
            f"peak memory {r['peak_memory_x']:.1f}x the CSV"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
