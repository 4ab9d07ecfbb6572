"""The offline rehearsal (``make demo``) runs in the suite too, so CI proves every step of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from demo.rehearsal import STEPS, rehearse


def test_the_rehearsal_behaves_as_described(synthesized: Any, tmp_path: Path, mlflow_url: str) -> None:
    report = tmp_path / "rehearsal.html"
    lines: list[str] = []
    ok, rehearsal = rehearse(synthesized.outdir, synthesized.templates, report, log=lines.append, mlflow_url=mlflow_url)
    outcomes = {title: (passed, detail) for title, passed, detail in rehearsal.report.steps}
    assert [title for title, _ in STEPS] == list(outcomes)
    failed = {title: detail for title, (passed, detail) in outcomes.items() if not passed}
    assert ok and not failed, failed
    # Step details the rehearsal prints
    assert "bias gate denied" in outcomes[STEPS[2][0]][1]
    assert "v1 Archived" in outcomes[STEPS[3][0]][1]
    assert "challenger v2 won" in outcomes[STEPS[4][0]][1]
    assert "ModelDriftDetected emitted" in outcomes[STEPS[5][0]][1]
    assert "RolledBack; v3 keeps serving" in outcomes[STEPS[6][0]][1]
    assert "MLflow aliases {'champion': " in outcomes[STEPS[7][0]][1]
    # The timeline, ledger and charts made it into the report
    decisions = [row[5] for row in rehearsal.report.ledger_rows]
    assert decisions.count("rejected") >= 1 and "archived" in decisions and "rolled_back" in decisions
    assert {mark.stage for mark in rehearsal.report.timeline} >= {"Development", "Staging", "Production", "Archived"}
    assert len(rehearsal.report.ab_rates) == 2 and rehearsal.report.drift
    page = report.read_text()
    assert page.count("<svg") == 3 and "Audit ledger" in page
