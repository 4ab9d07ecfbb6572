"""Segregation of duties, tried as an insider would: a data scientist approving their own version in
Studio and with the CLI, a board member approving the version they registered.

Expected outcome in every case (issue 10): nothing resumes, the approval status is set back to
PendingManualApproval, the ledger has one ``unauthorized_approval`` entry naming the identity SageMaker
recorded, the board is notified, and the board's later decision proceeds normally.
"""

from __future__ import annotations

from typing import Any

import pytest

from offline.harness import REGISTRANT, PipelineHarness, board_member, data_scientist
from offline.people import credentials_file, role_session
from offline.samples import churn_reports
from tests.pipeline.test_cli_support import run_cli

GROUP = "churn-classifier"
WAITING = ("Staging", "PendingApproval")


def _waiting_version(harness: PipelineHarness, tag: str, registrant: str = REGISTRANT) -> tuple[str, str]:
    registration = harness.register_version(GROUP, tag=tag, registrant=registrant, **churn_reports())
    outcome = harness.announce(registration)
    assert outcome["action"] == "started", outcome
    assert harness.pending_approval(registration.package_arn)
    return registration.package_arn, str(outcome["execution_arn"])


def _still_waiting(harness: PipelineHarness, package_arn: str, execution_arn: str) -> None:
    package = harness.package(package_arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    life = package["ModelLifeCycle"]
    assert (life["Stage"], life["StageStatus"]) == WAITING
    assert harness.sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    assert harness.states_entered(execution_arn)[-1] == "RequestApproval"
    assert harness.pending_approval(package_arn)  # the task token still waits for the board


def test_a_data_scientist_approving_their_own_version_in_studio_and_with_the_cli_resumes_nothing(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given dana's version waiting for the board
    arn, execution = _waiting_version(harness, "insider")
    list(harness.notifications())  # drain what the pipeline sent so far
    # When dana sets Approved in SageMaker Studio
    studio = harness.decide_in_studio(arn, REGISTRANT, "Approved", "looks fine to me")
    # Then nothing resumes and the status is set back
    assert studio["action"] == "refused", studio
    _still_waiting(harness, arn, execution)
    # When dana runs `registry approve` with her own credentials (a data-scientists session)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", _profile(harness, tmp_path, "dana"))
    cli = run_cli(capsys, "approve", "--arn", arn, "--reason", "shipping it", "--profile", "dana", "--output", "json")
    assert cli.code == 0, cli.err  # the CLI only sets the status; the pipeline decides on SageMaker's event
    assert cli.json()["actor"] == REGISTRANT
    assert harness.deliver(harness.state_change_event(arn))["action"] == "refused"
    _still_waiting(harness, arn, execution)
    # Then the ledger names dana twice as unauthorized, with what she attempted, and the board was told twice
    entries = [e for e in harness.ledger().history(GROUP) if e.decision == "unauthorized_approval"]
    assert [(e.actor, e.evidence["attempted"], e.package_arn) for e in entries] == [(REGISTRANT, "Approved", arn)] * 2
    assert all("not a review-board principal" in e.reason for e in entries)
    assert [e.evidence["approval_description"] for e in entries] == ["looks fine to me", "shipping it"]
    sent = [n for n in harness.notifications() if n["decision"] == "unauthorized_approval"]
    assert [(n["actor"], n["package_arn"]) for n in sent] == [(REGISTRANT, arn)] * 2
    # When the board approves afterwards, Then the promotion proceeds normally, naming the board member
    assert harness.approve_with_cli(arn, board_member("alice"), "reviewed")["action"] == "resumed"
    assert harness.wait(execution)["status"] == "SUCCEEDED"
    package = harness.package(arn)
    assert (package["ModelLifeCycle"]["Stage"], package["ModelApprovalStatus"]) == ("Production", "Approved")
    history = [(e.decision, e.to_stage) for e in harness.ledger().history(GROUP)]
    assert history == [
        ("entered", "Development"),
        ("entered", "Staging"),
        ("requested", "Staging"),
        ("unauthorized_approval", None),
        ("unauthorized_approval", None),
        ("entered", "Production"),
    ]
    assert harness.ledger().history(GROUP)[-1].actor == board_member("alice")


def test_a_data_scientist_rejecting_a_version_is_refused_too(harness: PipelineHarness) -> None:
    arn, execution = _waiting_version(harness, "insider-reject")
    outsider = data_scientist("mallory")
    assert harness.decide_in_studio(arn, outsider, "Rejected", "not mine, but")["action"] == "refused"
    _still_waiting(harness, arn, execution)
    [entry] = [e for e in harness.ledger().history(GROUP) if e.decision == "unauthorized_approval"]
    assert (entry.actor, entry.evidence["attempted"]) == (outsider, "Rejected")


@pytest.mark.parametrize(
    "registrant",
    [board_member("alice"), data_scientist("alice")],
    ids=["registered-as-board-session", "registered-as-data-scientist-session"],
)
def test_a_board_member_who_registered_the_version_cannot_approve_it(harness: PipelineHarness, registrant: str) -> None:
    # Given a version alice registered (with the board role, or with her data-scientist role)
    arn, execution = _waiting_version(harness, "four-eyes", registrant=registrant)
    # When alice, a board member, approves it
    outcome = harness.decide_in_studio(arn, board_member("alice"), "Approved", "my own model is great")
    # Then it is refused as her own registration, and the version keeps waiting
    assert outcome["action"] == "refused"
    assert "registered this version" in outcome["reason"]
    _still_waiting(harness, arn, execution)
    [entry] = [e for e in harness.ledger().history(GROUP) if e.decision == "unauthorized_approval"]
    assert entry.actor == board_member("alice")
    assert entry.evidence["created_by"]["IamIdentity"]["Arn"] == registrant
    # When another board member approves, Then it reaches Production with bob as the approver
    assert harness.decide_in_studio(arn, board_member("bob"), "Approved", "four eyes")["action"] == "resumed"
    assert harness.wait(execution)["status"] == "SUCCEEDED"
    assert harness.ledger().history(GROUP)[-1].actor == board_member("bob")


def test_a_refused_decision_delivered_again_is_recorded_once(harness: PipelineHarness) -> None:
    arn, execution = _waiting_version(harness, "dup-refusal")
    harness.decide_in_studio(arn, REGISTRANT, "Approved", "again and again")
    # EventBridge delivering the same change four more times (the status was already set back)
    from offline.harness.emulator import set_modifying_identity

    set_modifying_identity(REGISTRANT)
    try:
        harness.sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    finally:
        set_modifying_identity(None)
    event = harness.state_change_event(arn)
    outcomes = [harness.deliver(event)["action"] for _ in range(5)]
    assert outcomes == ["refused", "ignored", "ignored", "ignored", "ignored"]
    refusals = [e for e in harness.ledger().history(GROUP) if e.decision == "unauthorized_approval"]
    assert len(refusals) == 2  # one per modification: the Studio one and the repeated one
    _still_waiting(harness, arn, execution)


def _profile(harness: PipelineHarness, directory: Any, session: str) -> str:
    """A credentials file with a profile ``session``: a data-scientists role session (moto's STS)."""
    role = data_scientist(session).replace(":sts::", ":iam::").replace(":assumed-role/", ":role/").rsplit("/", 1)[0]
    path = directory / "credentials"
    path.write_text(credentials_file({session: role_session(harness.session, role, session)}))
    return str(path)
