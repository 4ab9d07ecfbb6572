"""Typed inputs and outputs of the deployment task, validated at the edge.

The state machine keeps the deployment's progress in ``$.deployment`` (a ``DeploymentRecord``); every
task receives the whole execution state and returns the next record, whose ``next`` field the
``DeploymentNextStep?`` Choice routes on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops_registry.core.arns import split_package_arn
from mlops_registry.core.config import GroupPolicy
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.events import describe_validation_error

Phase = Literal["blue_green", "champion", "ab_start", "ab_shift", "ab_conclude"]
Next = Literal["wait_stack", "wait_evaluation", "promote", "reject"]
Outcome = Literal["deployed", "rolled_back", "challenger_won", "champion_won", "inconclusive"]
Action = Literal["start", "check", "evaluate", "restore"]


class DeploymentRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")
    mode: Literal["blue_green", "ab_test"]
    phase: Phase
    stack_name: str
    endpoint_name: str
    target: dict[str, str]  # the stack parameters this phase deploys
    previous: dict[str, str] = {}  # the stack parameters before the first update of this execution
    candidate_arn: str
    champion_arn: str | None = None
    started_at: str
    phase_started_at: str
    deadline_at: str
    status: Literal["in_progress", "succeeded", "rolled_back"] = "in_progress"
    outcome: Outcome | None = None
    next: Next
    wait_seconds: int = Field(ge=0)
    checks: int = 0
    approved_for_deployment: bool = False
    ab_started_at: str | None = None
    evaluations: int = 0
    ab: dict[str, Any] | None = None
    rollback: dict[str, Any] | None = None
    reason: str = ""


class ServingState(BaseModel):
    """The part of the promotion state the deployment task reads."""

    model_config = ConfigDict(extra="ignore")
    package_arn: str
    group: str
    version: int = Field(ge=1)
    policy: GroupPolicy
    approval: dict[str, Any] | None = None
    deployment: DeploymentRecord | None = None
    error: dict[str, Any] | None = None  # what a failed deployment task raised (Catch's result)


class DeploymentTask(BaseModel):
    model_config = ConfigDict(extra="ignore")
    action: Action
    state: ServingState
    execution_arn: str
    now: str  # $$.State.EnteredTime: stable across retries of the same task

    def moment(self) -> datetime:
        return parse_time(self.now, "now")


def parse_time(value: str, field_name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidEventError(f"{field_name}: {value!r} is not an ISO-8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_task(event: Any) -> DeploymentTask:
    try:
        task = DeploymentTask.model_validate(event)
    except ValidationError as error:
        raise InvalidEventError(f"malformed deployment task: {describe_validation_error(error)}") from error
    group, version = split_package_arn(task.state.package_arn)
    if (group, version) != (task.state.group, task.state.version):
        raise InvalidEventError(
            f"state.package_arn: {task.state.package_arn} does not match group {task.state.group!r} "
            f"version {task.state.version}"
        )
    if task.state.policy.name != group:
        raise InvalidEventError(f"state.policy.name: {task.state.policy.name!r} is not the package's group {group!r}")
    if task.action in ("check", "evaluate") and task.state.deployment is None:
        raise InvalidEventError(f"state.deployment: required for action {task.action!r} (no deployment started)")
    task.moment()
    return task
