"""The promotion execution's state, as every task receives it, validated at the edge."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops_registry.core.arns import split_package_arn
from mlops_registry.core.config import GroupPolicy
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.events import describe_validation_error


class PromotionState(BaseModel):
    model_config = ConfigDict(extra="ignore")
    package_arn: str
    group: str
    version: int = Field(ge=1)
    policy: GroupPolicy
    gates: dict[str, Any] = {}
    approval: dict[str, Any] | None = None
    lock: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    deployment: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None  # Staging validation in progress (promotion.validation)


class TaskRequest(BaseModel):
    """What a Lambda task receives: the action, the whole state, and the execution's identity."""

    model_config = ConfigDict(extra="ignore")
    action: str
    state: PromotionState
    execution_arn: str
    task_token: str | None = None


def parse_task(event: Any) -> TaskRequest:
    try:
        request = TaskRequest.model_validate(event)
    except ValidationError as error:
        raise InvalidEventError(f"malformed task input: {describe_validation_error(error)}") from error
    group, version = split_package_arn(request.state.package_arn)
    if group != request.state.group or version != request.state.version:
        raise InvalidEventError(
            f"state.package_arn: {request.state.package_arn} does not match group "
            f"{request.state.group!r} version {request.state.version}"
        )
    if request.state.policy.name != group:
        raise InvalidEventError(
            f"state.policy.name: {request.state.policy.name!r} is not the package's group {group!r}"
        )
    return request
