"""The offline rehearsal (``make demo``) runs in the suite too, so CI proves every step of it, once, as
``python -m demo`` on a variant of the sample configuration where the blue/green ``churn-classifier`` is
switched to ``ab_test``: the scenario derives from the config (every kind of step still runs: the
blue/green story on fraud-detector, two A/B tests, drift, rollback and the MLflow story), the output
carries only the story, and the demo starts and stops its own MLflow server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo.rehearsal import plan

REPO_ROOT = Path(__file__).resolve().parents[2]
# What must never reach the demo's output: emulator warnings, Python warnings, tracebacks, JSON dumps,
# the emulator's placeholder identities.
NOISE = re.compile(r"warning|No Moto|Traceback|^\s*[{\[]\"|fake-|user/moto", re.IGNORECASE | re.MULTILINE)
STEP = re.compile(r"^  (PASS|FAIL)  (.+)\n        (.+)  \(\d+\.\d+s\)$", re.MULTILINE)


def _section(out: str, title: str) -> list[str]:
    """The lines of an ``== title`` section of the demo's output, up to the next blank line."""
    block = out.split(f"== {title}", 1)[1].split("\n", 1)[1]
    return block.split("\n\n", 1)[0].splitlines()


def _variant(tmp_path: Path) -> tuple[Path, Any]:
    from infra.config import CONTEXT_KEY, ENV_CONTEXT_KEY, load

    document = json.loads((REPO_ROOT / "cdk.json").read_text())
    churn = next(g for g in document["context"]["registry"]["groups"] if g["name"] == "churn-classifier")
    churn["deployment"]["mode"] = "ab_test"
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps(document))
    context = document["context"]
    return path, load({CONTEXT_KEY: context[CONTEXT_KEY]}, context.get(ENV_CONTEXT_KEY)).config


@pytest.mark.long
def test_make_demo_rehearses_every_step_of_a_config_and_prints_only_the_story(tmp_path: Path) -> None:
    # Given the sample config with churn-classifier switched from blue/green to an A/B test
    config_path, config = _variant(tmp_path)
    reports = tmp_path / "reports"
    # When the demo runs on it, as `make demo` does
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--config", str(config_path), "--reports", str(reports)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "rehearsal PASSED" in out

    # Then every step of the config's plan ran, in order, and passed
    steps = STEP.findall(out)
    titles = [title for title, _ in plan(config)]
    assert [title for _, title, _ in steps] == titles
    failed = {title: detail for verdict, title, detail in steps if verdict != "PASS"}
    assert not failed, failed
    # and each group got its story: the blue/green one on the remaining blue/green group, two A/B tests
    assert [t.split(":")[0] for t in titles[1:]] == ["fraud-detector"] * 4 + [
        "churn-classifier",
        "recommender-ranker",
        "fraud-detector",
        "fraud-detector",
        "fraud-detector",
        "fraud-detector",
        "churn-classifier",
    ]
    details = [detail for _, _, detail in steps]
    assert "bias evidence computed by the platform on the holdout set: s3://" in details[1]
    assert "gate denied" in details[2]
    assert "validation gate denied: self-reported recall " in details[3] and "on the holdout set" in details[3]
    assert "v1 Archived" in details[4]
    assert "challenger v2 won" in details[5] and "challenger v2 won" in details[6]
    assert "ModelDriftDetected emitted" in details[7]
    assert "RolledBack; v3 keeps serving" in details[8]
    # Versions registered from real MLflow runs: champion, replaced (archived, no alias), A/B challenger
    assert "MLflow fraud-detector aliases: champion → version" in details[9]
    assert "Archived, no alias" in details[10]
    assert "challenger → version" in details[11] and "champion → version" in details[11]

    # and the ledger names who decided: alice registered, bob approved; rejections, archives, rollbacks
    ledger = _section(out, "audit ledger")
    decisions = {line.split()[6] for line in ledger}
    assert {"entered", "rejected", "archived", "rolled_back"} <= decisions, decisions
    actors = {line.split()[-1] for line in ledger}
    assert {a.rsplit("/", 1)[-1] for a in actors if a.startswith("arn:")} == {"alice", "bob"}, actors
    stages = {line.split()[3] for line in _section(out, "timeline (stage changes, in order)")}
    assert stages >= {"Development", "Staging", "Production", "Archived"}, stages

    # and the report holds the timeline, A/B and drift charts, the ledger and a link to each MLflow run
    page = (reports / "rehearsal.html").read_text()
    assert page.count("<svg") == 3 and "Audit ledger" in page and "Overall" in page
    server = re.search(r"MLflow tracking server (http://127\.0\.0\.1:\d+) started", out)
    assert server is not None, out
    links = re.findall(r'<a href="([^"]+)">run ([0-9a-f]{32})</a>', page)
    assert len(links) == 3 and all(
        re.fullmatch(rf"{re.escape(server.group(1))}/#/experiments/\d+/runs/{run}", link) for link, run in links
    ), links

    # and the output is the story only: no warnings, JSON dumps or placeholder actors; noise is in the log
    assert result.stderr == "", result.stderr
    assert not NOISE.search(out), NOISE.search(out)
    assert len(out.splitlines()) < 170, len(out.splitlines())
    # and the MLflow server the demo started logged to the file it named (not to the output)
    assert "MLflow server log:" in out and (reports / "mlflow-server.log").is_file()
    assert (reports / "demo.log").is_file()
