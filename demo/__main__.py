"""``make demo``: synthesize every stack offline, then rehearse the whole lifecycle on an emulator."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from offline.environment import use_offline_environment

use_offline_environment()

REPORT = Path("reports") / "rehearsal.html"


def main() -> int:
    from aws_cdk import App

    from demo.rehearsal import rehearse
    from demo.synth_summary import describe
    from infra.app_factory import CDK_JSON, build_app

    print("== synthesizing the dev environment (cdk-nag AwsSolutions enabled)")
    started = time.perf_counter()
    outdir = Path(tempfile.mkdtemp(prefix="demo-cdk.out."))
    context = json.loads(CDK_JSON.read_text())["context"]
    app = App(context={**context, "aws:cdk:enable-asset-metadata": True}, outdir=str(outdir))
    build_app(app)
    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    print(describe(templates))
    print(
        f"synthesized {len(templates)} stacks in {time.perf_counter() - started:.1f}s; cdk-nag: 0 unacknowledged findings\n"
    )

    print(
        "== rehearsal on an embedded AWS emulator (moto, in-process): synthesized state machine, real Lambdas, real CLI"
    )
    started = time.perf_counter()
    ok, rehearsal = rehearse(outdir, templates, REPORT)
    elapsed = time.perf_counter() - started

    print("\n== timeline (stage changes)")
    origin = rehearsal.report.timeline[0].at if rehearsal.report.timeline else None
    for mark in rehearsal.report.timeline:
        offset = (mark.at - origin).total_seconds() if origin else 0.0
        print(f"  +{offset:6.2f}s  {mark.lane:26s} {mark.stage:12s} {mark.label[:110]}")
    if getattr(rehearsal, "drift_lines", None):
        print("\n== drift per feature (churn-classifier, Primary)")
        for line in rehearsal.drift_lines:
            print(f"  {line}")
    if getattr(rehearsal, "mlflow_lines", None):
        print("\n== MLflow (a real tracking server on 127.0.0.1)")
        for line in rehearsal.mlflow_lines:
            print(f"  {line}")
    print("\n== audit ledger")
    for row in rehearsal.report.ledger_rows:
        at, group, version, source, target, decision, actor, reason = row
        print(
            f"  {at}  {group:19s} v{version:<3s} {source:>11s} -> {target:11s} {decision:11s} {actor[-38:]:38s} {reason[:70]}"
        )
    durations = list(rehearsal.durations.values())
    if durations:
        print(
            f"\npipeline wall time per promotion (register → terminal state, emulated): "
            f"mean {sum(durations) / len(durations):.2f}s over {len(durations)} promotions"
        )
    print(f"\nHTML report: {REPORT.resolve()}")
    print(f"rehearsal {'PASSED' if ok else 'FAILED'} in {elapsed:.1f}s after synth")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
