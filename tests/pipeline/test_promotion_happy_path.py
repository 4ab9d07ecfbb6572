"""Development → Staging → approval → Production, with the previous version Archived."""

from __future__ import annotations

from offline.harness import PipelineHarness, board_member
from offline.samples import churn_reports

GROUP = "churn-classifier"


def _promote(harness: PipelineHarness, tag: str, approver: str, **report_values: float) -> str:
    reports = churn_reports(**report_values)
    registration = harness.register_version(GROUP, tag=tag, **reports)
    outcome = harness.announce(registration)
    assert outcome.get("action") == "started", outcome
    assert harness.pending_approval(registration.package_arn)
    harness.approve_with_cli(registration.package_arn, approver, f"{tag} reviewed")
    result = harness.wait(outcome["execution_arn"])
    assert result["status"] == "SUCCEEDED", result
    return registration.package_arn


def test_first_version_is_promoted_to_production(harness: PipelineHarness) -> None:
    # Given a version with good reports, When it is registered, gated and approved
    arn = _promote(harness, "v1", board_member("alice"))
    # Then it is Production and Approved, and the ledger shows each transition with its actor
    package = harness.package(arn)
    assert package["ModelLifeCycle"]["Stage"] == "Production"
    assert package["ModelApprovalStatus"] == "Approved"
    entries = harness.ledger().history(GROUP)
    assert [(e.to_stage, e.decision) for e in entries] == [
        ("Development", "entered"),
        ("Staging", "entered"),
        ("Staging", "requested"),
        ("Production", "entered"),
    ]
    production = entries[-1]
    assert production.actor == board_member("alice")
    assert production.evidence["gates"]["metrics"]["passed"] is True
    served = harness.ledger().in_stage_at(GROUP, "Production", production.at)
    assert served is not None and served.package_arn == arn


def test_second_version_archives_the_first(harness: PipelineHarness) -> None:
    first = _promote(harness, "v1", board_member("alice"))
    second = _promote(harness, "v2", board_member("bob"), auc=0.87)
    assert harness.package(second)["ModelLifeCycle"]["Stage"] == "Production"
    assert harness.package(first)["ModelLifeCycle"] == {
        "Stage": "Archived",
        "StageStatus": "Replaced",
        "StageDescription": "Replaced by version 2",
    }
    decisions = [(e.version, e.to_stage, e.decision) for e in harness.ledger().history(GROUP)]
    assert (1, "Archived", "archived") in decisions
    notifications = list(harness.notifications())
    assert any(
        n["decision"] == "entered" and n["to_stage"] == "Production" and n["version"] == 2 for n in notifications
    )
