"""Rollback on demand over in-memory ports.

Given v1 then v2 entered Production and the serving stack serves v2, when the on-call engineer rolls
the group back, then the stack serves v1 (through the stack's deploy role), v1 is Production again,
v2 is Archived/RolledBack and Rejected, the ledger holds v1 ``rolled_back`` into Production then v2
``rolled_back`` into Archived at the same time, one notice goes out and the lock is free again. A stack
update that rolls itself back changes nothing in the registry.
"""

from __future__ import annotations

import pytest

from mlops_registry.core.errors import DeploymentError, InvalidEventError, NoPreviousVersionError
from mlops_registry.core.ledger import LedgerEntry, LedgerWriter
from mlops_registry.core.rollback import RollbackPorts, rollback_group
from mlops_registry.core.serving_names import serving_stack_name
from mlops_registry.core.stacks import StackView
from tests.unit.fakes import FakeLedger, FakeLock, FakeRegistry, FakeStacks, FakeTopic, package

GROUP = "churn-classifier"
STACK = serving_stack_name("dev", GROUP)  # the naming contract the stacks are deployed with
ONCALL = "arn:aws:iam::123456789012:user/oncall"


def _entered(version: int, at: str) -> LedgerEntry:
    arn = package(GROUP, version).arn
    return LedgerEntry(GROUP, version, arn, "Staging", "Production", "entered", "approved", "alice", at=at)


def _world(outcome: str = "UPDATE_COMPLETE", v1_approval: str = "Approved") -> tuple[RollbackPorts, dict[str, object]]:
    registry, ledger, topic, lock = FakeRegistry(), FakeLedger(), FakeTopic(), FakeLock()
    registry.add(package(GROUP, 1, stage="Archived", stage_status="Replaced", approval_status=v1_approval))
    registry.add(package(GROUP, 2, stage="Production", stage_status="Deployed", approval_status="Approved"))
    ledger.entries += [_entered(1, "2026-03-01T10:00:00.000000Z"), _entered(2, "2026-03-02T10:00:00.000000Z")]
    stacks = FakeStacks(
        {STACK: StackView(STACK, "UPDATE_COMPLETE", {"ModelPackageArn": package(GROUP, 2).arn})}, outcome=outcome
    )
    ports = RollbackPorts(
        env_name="dev",
        registry=registry,
        stacks=stacks,
        stage_entries=ledger,
        writer=LedgerWriter(ledger, topic),
        lock=lock,
        role_arn=lambda name: f"arn:aws:iam::123456789012:role/{name}",
    )
    return ports, {"registry": registry, "ledger": ledger, "topic": topic, "lock": lock, "stacks": stacks}


def test_rollback_restores_the_previous_production_version_and_records_both() -> None:
    ports, world = _world()
    registry, ledger, topic, lock, stacks = (world[k] for k in ("registry", "ledger", "topic", "lock", "stacks"))

    result = rollback_group(GROUP, ONCALL, "conversion dropped", ports=ports)

    v1, v2 = package(GROUP, 1).arn, package(GROUP, 2).arn
    assert (result["restored_version"], result["replaced_version"], result["realigned"]) == (1, 2, False)
    [(stack, target, role)] = stacks.deployed  # type: ignore[attr-defined]
    assert (stack, target) == (STACK, {"ModelPackageArn": v1})
    assert role.startswith("arn:aws:iam::123456789012:role/")
    assert (registry.packages[v1].stage, registry.packages[v1].stage_status) == ("Production", "Deployed")  # type: ignore[attr-defined]
    assert (registry.packages[v2].stage, registry.packages[v2].approval_status) == ("Archived", "Rejected")  # type: ignore[attr-defined]
    restored, replaced = ledger.entries[2:]  # type: ignore[attr-defined]
    assert (restored.version, restored.to_stage, restored.decision, restored.actor) == (
        1,
        "Production",
        "rolled_back",
        ONCALL,
    )
    assert (replaced.version, replaced.to_stage, replaced.at) == (2, "Archived", restored.at)
    assert [s for s, _ in topic.messages] == [f"[{GROUP}] rolled back to v1"]  # type: ignore[attr-defined]
    assert lock.holders == {}  # type: ignore[attr-defined]


def test_a_stack_update_that_rolls_itself_back_changes_nothing_in_the_registry() -> None:
    ports, world = _world(outcome="UPDATE_ROLLBACK_COMPLETE")
    registry, ledger, topic = world["registry"], world["ledger"], world["topic"]

    with pytest.raises(DeploymentError, match="rollback to v1 failed \\(UPDATE_ROLLBACK_COMPLETE\\)"):
        rollback_group(GROUP, ONCALL, "conversion dropped", ports=ports)

    assert registry.updates == []  # type: ignore[attr-defined]
    assert ledger.entries[-1].decision == "failed"  # type: ignore[attr-defined]
    assert [s for s, _ in topic.messages] == [f"[{GROUP}] rollback failed"]  # type: ignore[attr-defined]
    assert world["lock"].holders == {}  # type: ignore[attr-defined]


def test_nothing_to_roll_back_to_when_the_earlier_version_is_no_longer_approved() -> None:
    ports, world = _world(v1_approval="Rejected")
    with pytest.raises(NoPreviousVersionError, match="no earlier Production version"):
        rollback_group(GROUP, ONCALL, "conversion dropped", ports=ports)
    assert world["stacks"].deployed == []  # type: ignore[attr-defined]


def test_an_empty_reason_is_refused_naming_the_field() -> None:
    ports, _ = _world()
    with pytest.raises(InvalidEventError, match="reason: required"):
        rollback_group(GROUP, ONCALL, " ", ports=ports)
