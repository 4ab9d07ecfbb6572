"""The dispatcher's logic over in-memory ports: what each model package state change starts, resumes,
refuses or ignores (the rules in ``promotion.dispatch``'s docstring and docs/approvals.md)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from promotion.dispatch import Governance, Home, dispatch, execution_name
from promotion.state_change import parse_state_change

from mlops_registry.core.approvals import PendingApproval
from mlops_registry.core.errors import ForeignEventError
from mlops_registry.core.ledger import LedgerWriter
from mlops_registry.core.segregation import ReviewBoard
from tests.unit.fakes import (
    FakeApprovalStore,
    FakeExecutions,
    FakeLedger,
    FakeRegistry,
    FakeTopic,
    package,
    package_arn,
)

EVENTS = Path(__file__).parents[1] / "integration" / "events"
GROUP = "churn-classifier"
ARN = package_arn(GROUP, 3)
BOARD_ROLE = "arn:aws:iam::123456789012:role/ml-review-board"
POLICY = {"name": GROUP, "features": ["a"]}


class Policies:
    def get(self, group: str) -> dict[str, Any] | None:
        return POLICY if group == GROUP else None


class World:
    """The dispatcher's ports, in memory."""

    def __init__(self) -> None:
        self.executions = FakeExecutions()
        self.approvals = FakeApprovalStore()
        self.ledger = FakeLedger()
        self.topic = FakeTopic()
        self.registry = FakeRegistry()
        self.registry.add(package(GROUP, 3, approval_status="Approved", stage="Staging"))

    def dispatch(self, event: dict[str, Any]) -> Any:
        return dispatch(
            parse_state_change(event),
            policies=Policies(),
            executions=self.executions,
            approvals=self.approvals,
            governance=Governance(
                board=ReviewBoard([BOARD_ROLE]),
                writer=LedgerWriter(self.ledger, self.topic),
                registry=self.registry,
            ),
            home=Home.of(self.executions.state_machine_arn),
        )

    def waiting_approval(self) -> None:
        self.approvals.items[ARN] = {
            "pending": PendingApproval(ARN, "token-123", "arn:exec", GROUP, 3, "2026-11-26T10:00:00Z"),
            "notified": True,
        }


def _event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def test_a_registered_version_starts_one_execution_however_often_the_event_arrives() -> None:
    # Given a version registered (pending, Development) in a managed group
    world = World()
    event = _event("model_package_registered.json")
    # When the event is delivered twice
    first, second = world.dispatch(event), world.dispatch(event)
    # Then one execution, named from the package and the transition, carries the package and the group's policy
    assert (first.action, second.action) == ("started", "duplicate")
    assert first.execution_name == second.execution_name == execution_name(ARN, "evaluate")
    [execution] = world.executions.executions.values()
    assert json.loads(execution["input"]) == {"package_arn": ARN, "group": GROUP, "version": 3, "policy": POLICY}
    assert world.ledger.entries == [] and world.topic.messages == []


def test_a_version_of_an_unmanaged_group_starts_nothing() -> None:
    world = World()
    event = _event("model_package_registered.json")
    detail = event["detail"]
    detail["ModelPackageGroupName"] = "other"
    detail["ModelPackageArn"] = detail["ModelPackageArn"].replace(GROUP, "other")
    event["resources"] = [detail["ModelPackageArn"]]
    outcome = world.dispatch(event)
    assert outcome.action == "ignored" and "'other' is not managed" in outcome.reason
    assert world.executions.executions == {}


def test_a_board_decision_resumes_the_waiting_execution_once() -> None:
    # Given an execution waiting for the board, and bob (review board, not the registrant) approving in Studio
    world = World()
    world.waiting_approval()
    event = _event("model_package_approved_in_studio.json")
    # When the decision is delivered twice
    first, second = world.dispatch(event), world.dispatch(event)
    # Then the waiting task is resumed once, with bob's decision and reason
    assert (first.action, second.action) == ("resumed", "ignored")
    [(token, output)] = world.executions.resumed
    assert token == "token-123"
    assert output["decision"] == "Approved" and output["actor"].endswith("user-profile/d-1/bob")
    assert output["reason"] == "Reviewed fairness and calibration: OK"
    assert world.approvals.items[ARN]["decision"] == "Approved"
    assert world.executions.executions == {}  # nothing new started


def test_the_registrants_own_decision_is_set_back_recorded_and_notified_once() -> None:
    # Given a waiting approval, and the registrant's own Studio profile setting Approved
    world = World()
    world.waiting_approval()
    event = _event("model_package_approved_in_studio.json")
    event["detail"]["LastModifiedBy"] = copy.deepcopy(event["detail"]["CreatedBy"])
    # When the dispatcher receives it twice
    outcomes = [world.dispatch(event).action for _ in range(2)]
    # Then nothing resumes; the approval is set back once, one entry and one notification name dana
    assert outcomes == ["refused", "ignored"] and world.executions.resumed == []
    assert [(u["arn"], u["approval"]) for u in world.registry.updates] == [(ARN, "PendingManualApproval")]
    assert world.registry.describe(ARN).approval_status == "PendingManualApproval"
    [entry] = world.ledger.entries
    assert (entry.decision, entry.actor) == (
        "unauthorized_approval",
        "arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-1/dana",
    )
    assert "not a review-board principal" in entry.reason
    [(subject, _)] = world.topic.messages
    assert "unauthorized approval refused" in subject


@pytest.mark.parametrize(("field", "value"), [("account", "999999999999"), ("region", "us-east-1")])
def test_an_event_from_another_account_or_region_is_rejected_before_anything_happens(field: str, value: str) -> None:
    world = World()
    event = _event("model_package_registered.json")
    event[field] = value
    with pytest.raises(ForeignEventError, match=f"^{field}: "):
        world.dispatch(event)
    assert world.executions.executions == {} and world.ledger.entries == []
