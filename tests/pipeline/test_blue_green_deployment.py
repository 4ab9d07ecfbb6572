"""Blue/green through the serving stack: success, guardrail rollback, and failures of the deploy tasks."""

from __future__ import annotations

from typing import Any

from mlops_registry.core.errors import RegistryError
from offline.harness import PipelineHarness, board_member
from offline.samples import churn_reports

GROUP = "churn-classifier"
ALICE = board_member("alice")
BOB = board_member("bob")


def test_blue_green_first_version_creates_the_endpoint_and_the_next_replaces_it(harness: PipelineHarness) -> None:
    # Given no version has ever served: the serving stack exists, the endpoint does not
    assert harness.serving(GROUP) == {}
    assert harness.serving_parameters(GROUP) == {"ModelPackageArn": ""}
    # When v1 is promoted
    v1, first = harness.promote(GROUP, "v1", ALICE, churn_reports())
    assert first["status"] == "SUCCEEDED", first
    assert harness.states_entered(first["executionArn"])[-7:] == [
        "StartDeployment",
        "DeploymentNextStep?",
        "WaitForDeployment",
        "CheckDeployment",
        "DeploymentNextStep?",
        "PromoteToProduction",
        "Promoted",
    ]
    # Then the stack's parameter names v1 and the endpoint serves exactly that, on the Primary variant
    assert harness.serving_parameters(GROUP) == {"ModelPackageArn": v1.package_arn}
    served = harness.serving(GROUP)
    assert list(served) == ["Primary"] and served["Primary"]["package_arn"] == v1.package_arn
    # When v2 is promoted
    v2, second = harness.promote(GROUP, "v2", BOB, churn_reports(auc=0.87))
    assert second["status"] == "SUCCEEDED", second
    # Then the same variant name now serves v2 from a new model and config; v1 is Archived
    after = harness.serving(GROUP)
    assert list(after) == ["Primary"] and after["Primary"]["package_arn"] == v2.package_arn
    assert after["Primary"]["config"] != served["Primary"]["config"]
    assert harness.package(v2.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    assert harness.package(v2.package_arn)["ModelApprovalStatus"] == "Approved"
    assert harness.package(v1.package_arn)["ModelLifeCycle"]["Stage"] == "Archived"
    production = [e for e in harness.ledger().history(GROUP) if e.to_stage == "Production"]
    assert [e.version for e in production] == [1, 2]
    deployment = production[-1].evidence["deployment"]
    assert deployment["outcome"] == "deployed"
    assert deployment["previous"] == {"ModelPackageArn": v1.package_arn}


def test_blue_green_guardrail_rollback_keeps_the_previous_version(harness: PipelineHarness) -> None:
    v1, _ = harness.promote(GROUP, "v1", ALICE, churn_reports())
    before = harness.serving(GROUP)
    # Given the guardrails' alarms will trip during the next endpoint update
    harness.fail_next_deployment(GROUP, "rollback")
    # When v2 is promoted
    v2, result = harness.promote(GROUP, "v2", BOB, churn_reports(auc=0.87))
    # Then the execution ends rejected, the stack rolled back and v1 still serves, unchanged
    assert result["status"] == "SUCCEEDED"
    entered = harness.states_entered(result["executionArn"])
    assert entered[-3:] == ["DeploymentNextStep?", "RejectVersion", "VersionRejected"]
    assert harness.serving_stack(GROUP)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert harness.serving_parameters(GROUP) == {"ModelPackageArn": v1.package_arn}
    assert harness.serving(GROUP) == before
    assert harness.package(v1.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    candidate = harness.package(v2.package_arn)
    assert candidate["ModelLifeCycle"]["Stage"] == "Archived"
    assert candidate["ModelLifeCycle"]["StageStatus"] == "RolledBack"
    assert candidate["ModelApprovalStatus"] == "Rejected"
    last = harness.ledger().history(GROUP)[-1]
    assert (last.version, last.decision, last.to_stage) == (2, "rolled_back", "Archived")
    assert "guardrail" in last.reason and v1.package_arn in last.reason
    assert last.evidence["deployment"]["rollback"]["resource"].startswith("Endpoint")
    # the rolled-back candidate never counts as having served
    assert harness.ledger().in_stage_at(GROUP, "Production", last.at).version == 1
    notes = list(harness.notifications())
    assert any(n.get("decision") == "rolled_back" and n.get("version") == 2 for n in notes)


def test_blue_green_rollback_that_gets_stuck_is_a_recorded_failure(harness: PipelineHarness) -> None:
    harness.promote(GROUP, "v1", ALICE, churn_reports())
    harness.fail_next_deployment(GROUP, "rollback_failed")
    v2, result = harness.promote(GROUP, "v2", BOB, churn_reports(auc=0.87))
    assert result["status"] == "FAILED"
    assert harness.states_entered(result["executionArn"])[-4:] == [
        "CheckDeployment",
        "RestoreChampion",  # blue/green: nothing to restore, CloudFormation keeps the previous version
        "RecordFailure",
        "PromotionFailed",
    ]
    last = harness.ledger().history(GROUP)[-1]
    assert last.decision == "failed" and "UPDATE_ROLLBACK_FAILED" in last.reason
    assert last.evidence["deployment"]["target"] == {"ModelPackageArn": v2.package_arn}
    package = harness.package(v2.package_arn)
    assert package["ModelLifeCycle"]["StageStatus"] == "Failed"
    assert package["ModelApprovalStatus"] == "PendingManualApproval"  # not left approved for deployment


class StackServiceDown(RegistryError):
    """CloudFormation refusing the update permanently (e.g. the deploy role was deleted)."""


def test_blue_green_start_failure_is_recorded_and_leaves_nothing_approved(harness: PipelineHarness) -> None:
    function = harness.function_name("DeploymentFunction")

    def broken(name: str, payload: dict[str, Any]) -> BaseException | None:
        if name == function and payload.get("action") == "start":
            return StackServiceDown("AccessDenied: not authorized to perform cloudformation:UpdateStack")
        return None

    harness.runner.faults.append(broken)
    registration, result = harness.promote(GROUP, "v1", ALICE, churn_reports())
    assert result["status"] == "FAILED"
    assert harness.states_entered(result["executionArn"])[-4:] == [
        "StartDeployment",
        "RestoreChampion",  # blue/green: nothing to restore, CloudFormation keeps the previous version
        "RecordFailure",
        "PromotionFailed",
    ]
    assert harness.package(registration.package_arn)["ModelApprovalStatus"] == "PendingManualApproval"
    assert harness.serving(GROUP) == {}
    lock = harness.ddb.get_item(TableName=harness.table("-promotion-locks"), Key={"group_name": {"S": GROUP}})
    assert "Item" not in lock
