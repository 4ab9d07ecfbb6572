"""Stage changes over in-memory ports: what the registry, the ledger, the topic, the model cards and
the lock hold after a promotion or a rejection.

Given v1 serving in Production and v2 approved by the board, when v2 is promoted, then v2 is
Production/Deployed and Approved, v1 is Archived/Replaced, the ledger holds v2 ``entered``
Production and v1 ``archived`` (in that order, each notified once) and the group's lock is free.
"""

from __future__ import annotations

from promotion.lifecycle import PIPELINE_ACTOR, LifecycleService
from promotion.performance_baseline import QualityEvidence
from promotion.state import PromotionState

from mlops_registry.core.ledger import LedgerWriter
from tests.unit.fakes import (
    FakeBaselineStore,
    FakeLedger,
    FakeLock,
    FakeModelCards,
    FakeRegistry,
    FakeTopic,
    package,
    policy,
)

GROUP = "churn"
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:promotion:churn-2"
APPROVAL = {"decision": "Approved", "actor": "arn:aws:sts::123456789012:assumed-role/ml-board/alice", "reason": "ok"}


def _world() -> tuple[LifecycleService, FakeRegistry, FakeLedger, FakeTopic, FakeLock, FakeModelCards]:
    registry, ledger, topic, lock, cards = FakeRegistry(), FakeLedger(), FakeTopic(), FakeLock(), FakeModelCards()
    registry.add(package(GROUP, 1, stage="Production", stage_status="Deployed", approval_status="Approved"))
    registry.add(package(GROUP, 2, stage="Staging", stage_status="PendingApproval", metrics_report_uri="s3://b/2"))
    service = LifecycleService(
        registry,
        LedgerWriter(ledger, topic),
        lock,
        cards,
        FakeBaselineStore(),
        quality_evidence=lambda view: QualityEvidence(str(view.metrics_report_uri), {"auc": 0.91}),
    )
    return service, registry, ledger, topic, lock, cards


def _state(**fields: object) -> PromotionState:
    return PromotionState(
        package_arn=package(GROUP, 2).arn,
        group=GROUP,
        version=2,
        policy=policy(GROUP),
        **fields,  # type: ignore[arg-type]
    )


def test_promotion_replaces_and_archives_the_champion_and_records_both() -> None:
    service, registry, ledger, topic, lock, cards = _world()
    lock.acquire(GROUP, EXECUTION, package(GROUP, 2).arn)

    result = service.promote(_state(approval=APPROVAL), EXECUTION)

    v1, v2 = package(GROUP, 1).arn, package(GROUP, 2).arn
    assert result["stage"] == "Production" and result["archived"] == v1
    assert (registry.packages[v2].stage, registry.packages[v2].stage_status) == ("Production", "Deployed")
    assert registry.packages[v2].approval_status == "Approved"
    assert registry.packages[v2].customer_metadata  # the performance baseline is named on the package
    assert (registry.packages[v1].stage, registry.packages[v1].stage_status) == ("Archived", "Replaced")
    assert [(e.version, e.decision, e.to_stage, e.actor) for e in ledger.entries] == [
        (2, "entered", "Production", APPROVAL["actor"]),
        (1, "archived", "Archived", PIPELINE_ACTOR),
    ]
    assert [s for s, _ in topic.messages] == [
        f"[{GROUP}] v2 entered -> Production",
        f"[{GROUP}] v1 archived -> Archived",
    ]
    assert cards.stages[v2] == ["Production"] and cards.stages[v1] == ["Archived"]
    assert lock.holders == {}


def test_a_board_rejection_archives_the_candidate_with_the_boards_reason_and_actor() -> None:
    service, registry, ledger, topic, _, _ = _world()
    rejected = {**APPROVAL, "decision": "Rejected", "reason": "calibration drifts on new customers"}

    result = service.reject(_state(approval=rejected), EXECUTION)

    v2 = package(GROUP, 2).arn
    assert result["status"] == "Rejected"
    assert result["reason"] == "rejected by the review board: calibration drifts on new customers"
    assert (registry.packages[v2].stage, registry.packages[v2].approval_status) == ("Archived", "Rejected")
    [entry] = ledger.entries
    assert (entry.decision, entry.actor, entry.transition) == ("rejected", APPROVAL["actor"], "rejected")
    [(_, body)] = topic.messages
    assert body["reason"] == result["reason"] and body["execution_arn"] == EXECUTION
