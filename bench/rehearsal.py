"""Pipeline overhead per promotion in the offline rehearsal (register → terminal state, emulated)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.app import synthesized


def run() -> dict[str, Any]:
    from demo.rehearsal import rehearse

    outdir, templates = synthesized()
    started = time.perf_counter()
    ok, rehearsal = rehearse(outdir, templates, Path(tempfile.mkdtemp()) / "rehearsal.html", log=lambda _line: None)
    total = time.perf_counter() - started
    durations = list(rehearsal.durations.values())
    return {"ok": ok, "total_s": total, "promotions": len(durations), "per_promotion_s": durations}


def report(figures: dict[str, Any]) -> str:
    durations = figures["per_promotion_s"]
    mean = sum(durations) / len(durations) if durations else 0.0
    return "\n".join(
        [
            "== rehearsal (make demo's scenario, after synth)",
            f"{'passed' if figures['ok'] else 'FAILED'} in {figures['total_s']:.1f}s; {figures['promotions']} promotions, "
            f"pipeline overhead per promotion mean {mean:.2f}s (min {min(durations, default=0):.2f}s, max {max(durations, default=0):.2f}s)",
        ]
    )
