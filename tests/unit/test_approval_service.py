"""The review-board approval request over in-memory ports: stage, one ledger entry, one notice.

Given a version that passed its gates, when the request task runs (and runs again, as Step Functions
retries a task whose response was lost), then the version waits in Staging/PendingApproval, the
ledger holds one ``requested`` entry at the first attempt's time and the board is told once, with the
commands that decide it.
"""

from __future__ import annotations

from promotion.approval import ApprovalRequestService
from promotion.state import PromotionState

from mlops_registry.core.ledger import LedgerWriter
from tests.unit.fakes import FakeApprovalStore, FakeLedger, FakeRegistry, FakeTopic, package, policy

GROUP = "fraud-detector"
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:promotion:fraud-detector-3"
GATES = {"metrics": {"passed": True}, "bias": {"passed": True}}


def _world() -> tuple[ApprovalRequestService, FakeRegistry, FakeApprovalStore, FakeLedger, FakeTopic, list[str]]:
    registry, store, ledger, topic = FakeRegistry(), FakeApprovalStore(), FakeLedger(), FakeTopic()
    registry.add(package(GROUP, 3, stage="Staging", customer_metadata={"ModelCardArn": "arn:card/fraud-3"}))
    times = ["2026-03-01T10:00:00.000000Z", "2026-03-01T10:05:00.000000Z"]
    service = ApprovalRequestService(registry, store, LedgerWriter(ledger, topic), 48, now=lambda: times.pop(0))
    return service, registry, store, ledger, topic, times


def _state() -> PromotionState:
    arn = package(GROUP, 3).arn
    return PromotionState(package_arn=arn, group=GROUP, version=3, policy=policy(GROUP), gates=GATES)


def test_a_request_marks_the_version_pending_records_it_and_tells_the_board() -> None:
    service, registry, store, ledger, topic, _ = _world()
    outcome = service.request(_state(), "token-1", EXECUTION)

    arn = package(GROUP, 3).arn
    assert outcome.requested_at == "2026-03-01T10:00:00.000000Z" and not outcome.retried
    assert registry.updates == [{"arn": arn, "stage": "Staging", "status": "PendingApproval", "approval": None}]
    assert store.items[arn]["pending"].task_token == "token-1" and store.items[arn]["notified"]
    assert store.items[arn]["timeout"] == 48
    [entry] = ledger.entries
    assert (entry.decision, entry.from_stage, entry.to_stage) == ("requested", "Staging", "Staging")
    assert entry.at == "2026-03-01T10:00:00.000000Z" and entry.execution_arn == EXECUTION
    assert entry.evidence == {"gates": GATES}
    [(subject, body)] = topic.messages
    assert subject == f"[{GROUP}] v3 awaits review board approval"
    assert body["decision"] == "approval_requested" and body["model_card"] == "arn:card/fraud-3"
    assert body["approve"].startswith(f"registry approve --arn {arn} ")
    assert body["reject"].startswith(f"registry reject --arn {arn} ")
    assert body["timeout_hours"] == 48


def test_a_retried_request_takes_the_new_token_but_records_and_notifies_once() -> None:
    service, _, store, ledger, topic, _ = _world()
    service.request(_state(), "token-1", EXECUTION)
    again = service.request(_state(), "token-2", EXECUTION)

    assert again.retried and again.requested_at == "2026-03-01T10:00:00.000000Z"
    assert store.items[package(GROUP, 3).arn]["pending"].task_token == "token-2"
    assert len(ledger.entries) == 1
    assert len(topic.messages) == 1


def test_a_retry_after_the_ledger_write_but_before_the_notice_still_tells_the_board() -> None:
    service, _, store, ledger, topic, _ = _world()
    service.request(_state(), "token-1", EXECUTION)
    arn = package(GROUP, 3).arn
    store.items[arn]["notified"] = False  # the first attempt died between the ledger and the topic
    topic.messages.clear()

    outcome = service.request(_state(), "token-2", EXECUTION)
    assert not outcome.retried
    assert len(ledger.entries) == 1
    assert [s for s, _ in topic.messages] == [f"[{GROUP}] v3 awaits review board approval"]
