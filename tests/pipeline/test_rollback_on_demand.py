"""``rollback_group``: the CLI's ``registry rollback --group G`` against the emulated account."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_registry.core.errors import DeploymentError, NoPreviousVersionError, PromotionLockHeld
from mlops_registry.core.locks import PromotionLock
from mlops_registry.core.rollback import RollbackPorts, rollback_group
from offline.harness import PipelineHarness, board_member, ranker_reports
from offline.samples import churn_reports

GROUP = "churn-classifier"
ALICE = board_member("alice")
OPERATOR = "arn:aws:iam::123456789012:user/oncall"


def test_rollback_redeploys_the_previous_production_version(harness: PipelineHarness) -> None:
    # Given v1 then v2 were promoted, and v3 was rolled back by the guardrails (it never served)
    v1, _ = harness.promote(GROUP, "v1", ALICE, churn_reports())
    v2, _ = harness.promote(GROUP, "v2", ALICE, churn_reports(auc=0.87))
    harness.fail_next_deployment(GROUP, "rollback")
    harness.promote(GROUP, "v3", ALICE, churn_reports(auc=0.88))
    # When the on-call engineer rolls the group back
    result = rollback_group(GROUP, OPERATOR, "conversion dropped after v2", ports=RollbackPorts.from_clients("dev"))
    # Then v1 serves again, through the stack's parameter, and the registry and ledger say so
    assert (result["restored_version"], result["replaced_version"], result["realigned"]) == (1, 2, False)
    assert harness.serving_parameters(GROUP) == {"ModelPackageArn": v1.package_arn}
    assert harness.serving(GROUP)["Primary"]["package_arn"] == v1.package_arn
    assert harness.package(v1.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    replaced = harness.package(v2.package_arn)
    assert (replaced["ModelLifeCycle"]["Stage"], replaced["ModelLifeCycle"]["StageStatus"]) == (
        "Archived",
        "RolledBack",
    )
    assert replaced["ModelApprovalStatus"] == "Rejected"
    entries = harness.ledger().history(GROUP)[-2:]
    assert {(e.version, e.decision, e.to_stage, e.actor) for e in entries} == {
        (1, "rolled_back", "Production", OPERATOR),
        (2, "rolled_back", "Archived", OPERATOR),
    }
    assert harness.ledger().in_stage_at(GROUP, "Production", result["at"]).version == 1
    assert any(n.get("decision") == "rolled_back" and n.get("restored_version") == 1 for n in harness.notifications())
    lock = harness.ddb.get_item(TableName=harness.table("-promotion-locks"), Key={"group_name": {"S": GROUP}})
    assert "Item" not in lock
    # And a second rollback has nothing earlier than v1 to go to
    with pytest.raises(NoPreviousVersionError, match="no earlier Production version"):
        rollback_group(GROUP, OPERATOR, "again", ports=RollbackPorts.from_clients("dev"))


def test_rollback_realigns_an_ab_endpoint_left_with_a_challenger(harness: PipelineHarness) -> None:
    group = "recommender-ranker"
    champion, _ = harness.promote(group, "v1", ALICE, ranker_reports())
    function = harness.function_name("DeploymentFunction")

    def evaluator_down(name: str, payload: dict[str, Any]) -> BaseException | None:
        # the pipeline restores the champion after a failed A/B test; here that restore fails too
        broken = name == function and payload.get("action") in ("evaluate", "restore")
        return DeploymentError("evaluator broken") if broken else None

    harness.runner.faults.append(evaluator_down)
    challenger, result = harness.promote(group, "v2", ALICE, ranker_reports(ndcg=0.37))
    assert result["status"] == "FAILED"
    assert set(harness.serving(group)) == {"Champion", "Challenger"}  # the failed test (and restore) left both
    outcome = rollback_group(group, OPERATOR, "abandon the broken A/B test", ports=RollbackPorts.from_clients("dev"))
    assert (outcome["restored_version"], outcome["replaced_version"], outcome["realigned"]) == (1, None, True)
    assert harness.serving_parameters(group) == {"ChampionPackageArn": champion.package_arn, "ChallengerPackageArn": ""}
    assert {v: s["package_arn"] for v, s in harness.serving(group).items()} == {"Champion": champion.package_arn}


def test_rollback_waits_for_a_running_promotion_and_a_failed_one_changes_nothing(harness: PipelineHarness) -> None:
    harness.promote(GROUP, "v1", ALICE, churn_reports())
    v2, _ = harness.promote(GROUP, "v2", ALICE, churn_reports(auc=0.87))
    # Given a promotion of the group holds its lock, Then the rollback refuses to race it
    locks = PromotionLock(harness.table("-promotion-locks"), 600, dynamodb=harness.ddb)
    locks.acquire(GROUP, "execution-x", v2.package_arn)
    with pytest.raises(PromotionLockHeld):
        rollback_group(GROUP, OPERATOR, "busy", ports=RollbackPorts.from_clients("dev"))
    locks.release(GROUP, "execution-x")
    # Given the rollback's own stack update rolls back, Then nothing changes but a failed ledger entry
    harness.fail_next_deployment(GROUP, "rollback")
    with pytest.raises(DeploymentError, match="rollback to v1 failed"):
        rollback_group(GROUP, OPERATOR, "try", ports=RollbackPorts.from_clients("dev"))
    assert harness.serving_parameters(GROUP) == {"ModelPackageArn": v2.package_arn}
    assert harness.package(v2.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    last = harness.ledger().history(GROUP)[-1]
    assert (last.decision, last.actor) == ("failed", OPERATOR)
