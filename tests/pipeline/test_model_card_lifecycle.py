"""Model cards advance with the lifecycle through the real pipeline (offline harness).

Contract (``mlops_registry.core.model_cards.advance_model_card``, called by the promotion pipeline's
lifecycle on every stage change): a version registered with the CLI gets a Draft card; entering
Staging makes it PendingReview, Production Approved, Archived (replaced, rejected, denied) Archived;
never backwards; a version registered without the CLI gets its card from the pipeline. One emulated registry serves the
module (each test drives its own versions to the end).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from offline.harness import PipelineHarness, board_member
from offline.samples import churn_reports
from tests.pipeline.test_cli_support import (
    BOARD_PROFILE,
    GROUP,
    announce_cli_registration,
    board_credentials_file,
    register_with_cli,
    run_cli,
)


@pytest.fixture(scope="module")
def module_harness(synthesized: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineHarness]:
    # The CLI's decisions reach the dispatcher as SageMaker's events (the CLI sets the approval status).
    with (
        PipelineHarness(synthesized.outdir, synthesized.templates, emit_events=True) as running,
        pytest.MonkeyPatch.context() as patch,
    ):
        credentials = board_credentials_file(running, tmp_path_factory.mktemp("aws"), "card-reviewer")
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", credentials)
        yield running


@pytest.fixture
def harness(module_harness: PipelineHarness) -> PipelineHarness:
    return module_harness


def _card_status(harness: PipelineHarness, package_arn: str) -> str:
    name = harness.package(package_arn)["CustomerMetadataProperties"]["ModelCardName"]
    return str(harness.sm.describe_model_card(ModelCardName=name)["ModelCardStatus"])


def _register(
    capsys: pytest.CaptureFixture[str], harness: PipelineHarness, tag: str, **reports: float
) -> tuple[str, str]:
    arn = str(register_with_cli(capsys, harness, tag, **reports)["package_arn"])
    assert _card_status(harness, arn) == "Draft"
    outcome = announce_cli_registration(harness, arn)
    return arn, str(outcome["execution_arn"])


def _decide(capsys: pytest.CaptureFixture[str], harness: PipelineHarness, arn: str, verb: str, execution: str) -> None:
    assert harness.pending_approval(arn)
    result = run_cli(
        capsys, verb, "--arn", arn, "--reason", f"{verb} in the model card test", "--profile", BOARD_PROFILE
    )
    assert result.code == 0, result.err
    assert harness.wait(execution)["status"] == "SUCCEEDED"


def test_model_card_moves_draft_pending_review_approved_archived(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given v1 registered with the CLI (Draft card), When it passes the gates and awaits the board
    first, execution = _register(capsys, harness, "v1")
    assert harness.pending_approval(first)
    # Then its card is PendingReview (entered Staging)
    assert _card_status(harness, first) == "PendingReview"
    # When the board approves, Then the card is Approved (Production)
    _decide(capsys, harness, first, "approve", execution)
    assert _card_status(harness, first) == "Approved"
    # When v2 replaces it, Then v1's card is Archived and v2's Approved
    second, execution = _register(capsys, harness, "v2", auc=0.87)
    _decide(capsys, harness, second, "approve", execution)
    assert (_card_status(harness, first), _card_status(harness, second)) == ("Archived", "Approved")


def test_model_card_archived_when_the_board_rejects(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    arn, execution = _register(capsys, harness, "rejected", auc=0.88)  # beats any champion of this module
    _decide(capsys, harness, arn, "reject", execution)
    assert harness.package(arn)["ModelLifeCycle"]["StageStatus"] == "Rejected"
    assert _card_status(harness, arn) == "Archived"


def test_model_card_archived_when_a_gate_denies_in_development(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    arn, execution = _register(capsys, harness, "denied", auc=0.5)  # below the 0.8 baseline
    assert harness.wait(execution)["status"] == "SUCCEEDED"
    assert harness.package(arn)["ModelLifeCycle"]["Stage"] == "Archived"
    assert _card_status(harness, arn) == "Archived"  # Draft → Archived, skipping what it never reached


def test_model_card_is_created_by_the_pipeline_for_a_version_registered_without_the_cli(
    harness: PipelineHarness,
) -> None:
    registration = harness.register_version(GROUP, tag="no-card", **churn_reports(auc=0.89))
    outcome = harness.announce(registration)
    assert harness.pending_approval(registration.package_arn)
    harness.approve_with_cli(registration.package_arn, board_member("alice"), "no card")
    assert harness.wait(outcome["execution_arn"])["status"] == "SUCCEEDED"
    assert harness.package(registration.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    metadata = harness.package(registration.package_arn).get("CustomerMetadataProperties") or {}
    assert metadata["ModelCardName"] == f"{GROUP}-v{registration.version}"
    assert _card_status(harness, registration.package_arn) == "Approved"
