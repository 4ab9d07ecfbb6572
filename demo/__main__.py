"""``make demo``: synthesize every stack offline, then rehearse the whole lifecycle on an emulator.

Prints only the story; what the emulator and the functions log goes to ``reports/demo.log``.
``--config`` rehearses another ``cdk.json`` (the scenario derives from its groups).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from offline.environment import collect_less_often, freeze_the_survivors, use_offline_environment

use_offline_environment()
collect_less_often()

REPORTS = Path("reports")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description="synthesize and rehearse offline")
    parser.add_argument("--config", type=Path, default=None, help="cdk.json to rehearse (default: the repository's)")
    parser.add_argument("--env", default=None, help="environment in the config (default: its context's env)")
    parser.add_argument("--reports", type=Path, default=REPORTS, help="folder for rehearsal.html and demo.log")
    args = parser.parse_args(argv)
    args.reports.mkdir(parents=True, exist_ok=True)
    report, log_path = args.reports / "rehearsal.html", args.reports / "demo.log"
    story = sys.stdout

    def say(line: str = "") -> None:
        story.write(line + "\n")
        story.flush()

    with log_path.open("w") as log_file, _quiet(log_file):
        return _run(args, report, log_path, say)


@contextlib.contextmanager
def _quiet(log_file: TextIO) -> Iterator[None]:
    """Everything but the story (emulator warnings, function logs, Python warnings) into the log file."""
    logging.basicConfig(stream=log_file, level=logging.INFO, force=True)
    logging.captureWarnings(True)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            yield


def _run(args: argparse.Namespace, report: Path, log_path: Path, say: Callable[..., None]) -> int:
    from demo.rehearsal import rehearse
    from demo.synth_summary import brief
    from infra.app_factory import CDK_JSON
    from infra.config import CONTEXT_KEY, ENV_CONTEXT_KEY, load
    from offline.synth import synthesize

    config_path = args.config or CDK_JSON
    context = json.loads(config_path.read_text())["context"]
    if args.env:
        context[ENV_CONTEXT_KEY] = args.env
    config = load({CONTEXT_KEY: context.get(CONTEXT_KEY)}, context.get(ENV_CONTEXT_KEY)).config
    say(f"== synthesizing environment {config.name!r} from {config_path} (cdk-nag AwsSolutions enabled)")
    started = time.perf_counter()
    outdir = Path(tempfile.mkdtemp(prefix="demo-cdk.out."))
    templates = synthesize(outdir, context)
    say(brief(templates))
    say(
        f"synthesized {len(templates)} stacks in {time.perf_counter() - started:.1f}s; cdk-nag: 0 unacknowledged findings"
    )
    say()
    say(
        "== rehearsal on an embedded AWS emulator (moto, in-process): synthesized state machine, real Lambdas, real CLI"
    )
    say("   identities: alice (data scientist) registers, bob (review board) approves")
    started = time.perf_counter()
    ok, rehearsal = rehearse(outdir, templates, report, log=say, config=config)
    elapsed = time.perf_counter() - started

    say("\n== timeline (stage changes, in order)")
    for step, mark in enumerate(rehearsal.report.timeline, start=1):
        say(f"  {step:3d}. {mark.lane:26s} {mark.stage:11s} {mark.label}")
    if rehearsal.drift_lines:
        say(f"\n== drift per feature ({rehearsal.drift_group})")
        for line in rehearsal.drift_lines:
            say(f"  {line}")
    say("\n== audit ledger")
    for row in rehearsal.report.ledger_rows:
        at, group, version, source, target, decision, actor, _reason = row
        say(f"  {at[:19]}  {group:19s} v{version:<3s} {source:>11s} -> {target:11s} {decision:11s} {actor}")
    durations = list(rehearsal.durations.values())
    if durations:
        say(
            f"\npipeline wall time per promotion (register → terminal state, emulated): "
            f"mean {sum(durations) / len(durations):.2f}s over {len(durations)} promotions"
        )
    say(f"\nHTML report: {report.resolve()}")
    say(f"emulator and function logs: {log_path.resolve()}")
    if rehearsal.mlflow is not None:
        say(
            f"MLflow server log: {rehearsal.mlflow.log_path.resolve()} (SQLite, artifacts: {rehearsal.mlflow.directory})"
        )
    say(f"rehearsal {'PASSED' if ok else 'FAILED'} in {elapsed:.1f}s after synth")
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    freeze_the_survivors()  # its emulated world ends with the process: no collection walks it again
    sys.exit(code)
