"""The offline rehearsal (``make demo``) runs in the suite too, so CI proves every step of it: in-process
on the sample configuration (with the suite's MLflow server), and as ``python -m demo`` on a variant where
a blue/green group is switched to ``ab_test`` (the scenario derives from the config; the output carries
only the story; the demo starts and stops its own MLflow server)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from demo.rehearsal import plan, rehearse

REPO_ROOT = Path(__file__).resolve().parents[2]
# What must never reach the demo's output: emulator warnings, Python warnings, tracebacks, JSON dumps,
# the emulator's placeholder identities.
NOISE = re.compile(r"warning|No Moto|Traceback|^\s*[{\[]\"|fake-|user/moto", re.IGNORECASE | re.MULTILINE)


def test_the_rehearsal_behaves_as_described(synthesized: Any, tmp_path: Path, mlflow_url: str) -> None:
    report = tmp_path / "rehearsal.html"
    lines: list[str] = []
    ok, rehearsal = rehearse(synthesized.outdir, synthesized.templates, report, log=lines.append, mlflow_url=mlflow_url)
    outcomes = {title: (passed, detail) for title, passed, detail in rehearsal.report.steps}
    titles = [title for title, _ in plan(synthesized.config)]
    assert titles == list(outcomes)
    failed = {title: detail for title, (passed, detail) in outcomes.items() if not passed}
    assert ok and not failed, failed
    # Each group of the sample config has its story, in this order
    assert [t.split(":")[0] for t in titles[1:]] == ["churn-classifier"] * 4 + [
        "fraud-detector",
        "recommender-ranker",
        "churn-classifier",
        "churn-classifier",
        "churn-classifier",
        "churn-classifier",
        "recommender-ranker",
    ]
    details = [detail for _, detail in outcomes.values()]
    assert "bias evidence computed by the platform on the holdout set: s3://" in details[1]
    assert "gate denied" in details[2]  # the model that learned a proxy of gender
    assert "validation gate denied: self-reported auc " in details[3] and "on the holdout set" in details[3]
    assert "v1 Archived" in details[4]
    assert "challenger v2 won" in details[6]
    assert "ModelDriftDetected emitted" in details[7]
    assert "RolledBack; v3 keeps serving" in details[8]
    # Versions registered from real MLflow runs: champion, replaced (archived, no alias), A/B challenger
    assert "MLflow churn-classifier aliases: champion → version" in details[9]
    assert "Archived, no alias" in details[10]
    assert "challenger → version" in details[11] and "champion → version" in details[11]
    rows = rehearsal.report.mlflow_versions
    assert [row.lane for row in rows] == ["churn-classifier v6", "churn-classifier v7", "recommender-ranker v3"]
    assert all(row.link == f"{mlflow_url}/#/experiments/{row.link.split('/')[-3]}/runs/{row.run_id}" for row in rows)
    # The timeline, ledger and charts made it into the report, with named identities
    decisions = [row[5] for row in rehearsal.report.ledger_rows]
    assert decisions.count("rejected") >= 1 and "archived" in decisions and "rolled_back" in decisions
    actors = {row[6] for row in rehearsal.report.ledger_rows}
    assert {a.rsplit("/", 1)[-1] for a in actors if a.startswith("arn:")} == {"alice", "bob"}, actors
    assert {mark.stage for mark in rehearsal.report.timeline} >= {"Development", "Staging", "Production", "Archived"}
    assert len(rehearsal.report.ab_rates) == 2 and rehearsal.report.drift
    page = report.read_text()
    assert page.count("<svg") == 3 and "Audit ledger" in page and "Overall" in page
    assert all(f'<a href="{row.link}">run {row.run_id}</a>' in page for row in rows)


def test_make_demo_passes_with_a_group_switched_to_ab_test_and_prints_only_the_story(tmp_path: Path) -> None:
    # Given the sample config with churn-classifier switched from blue/green to an A/B test
    document = json.loads((REPO_ROOT / "cdk.json").read_text())
    groups = document["context"]["registry"]["groups"]
    churn = next(g for g in groups if g["name"] == "churn-classifier")
    churn["deployment"]["mode"] = "ab_test"
    config = tmp_path / "cdk.json"
    config.write_text(json.dumps(document))
    # When the demo runs on it, as `make demo` does
    result = subprocess.run(
        [sys.executable, "-m", "demo", "--config", str(config), "--reports", str(tmp_path / "reports")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    # Then every step passes, and each A/B group (now two) got its story
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "rehearsal PASSED" in out
    assert "churn-classifier: A/B, the challenger wins" in out and "recommender-ranker: A/B" in out
    assert "fraud-detector: v1 registered" in out and "fraud-detector: guardrail rollback" in out
    assert not re.search(r"^\s*FAIL", out, re.MULTILINE), out
    # and the output is the story only: no warnings, JSON dumps or placeholder actors; noise is in the log
    assert result.stderr == "", result.stderr
    assert not NOISE.search(out), NOISE.search(out)
    assert len(out.splitlines()) < 170, len(out.splitlines())
    # and the MLflow server the demo started logged to the file it named (not to the output)
    assert "MLflow server log:" in out and (tmp_path / "reports" / "mlflow-server.log").is_file()
    assert "champion → version" in out
    assert (tmp_path / "reports" / "demo.log").is_file()
    assert "Overall" in (tmp_path / "reports" / "rehearsal.html").read_text()
