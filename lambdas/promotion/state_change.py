"""The promotion family's events, parsed with the Powertools parser: the dispatcher's ``SageMaker Model
Package State Change`` and the reconciler's ``Step Functions Execution Status Change``.

The envelope is Powertools' ``EventBridgeModel`` (id, source, detail-type, account, region, time,
resources); the dispatcher keeps the envelope's fields (it refuses events from another account or
region), so the model extends it rather than unwrapping ``detail`` with the EventBridge envelope.
``detail`` is the package as DescribeModelPackage returns it (``mlops_registry.core.events``).
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator

from mlops_registry.core.arns import PACKAGE_ARN
from mlops_registry.core.contracts import (
    EXECUTION_STATUS_CHANGE,
    MODEL_PACKAGE_STATE_CHANGE,
    SAGEMAKER_EVENT_SOURCE,
    STEP_FUNCTIONS_EVENT_SOURCE,
)
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.events import ModelPackageDetail, describe_validation_error


class ServiceEvent(EventBridgeModel):
    """An AWS service's event on the default bus: Powertools' envelope, refused unless ``source`` and
    ``detail-type`` are the ones the subclass expects."""

    EXPECTED: ClassVar[tuple[str, str]]  # (source, detail-type)
    source: str
    detail_type: str = Field(alias="detail-type")

    @field_validator("source", "detail_type")
    @classmethod
    def _is_the_expected_event(cls, value: str, info: ValidationInfo) -> str:
        source, detail_type = cls.EXPECTED
        expected = source if info.field_name == "source" else detail_type
        if value != expected:
            raise ValueError(f"expected {expected!r}")
        return value


Event = TypeVar("Event", bound=ServiceEvent)


def _parse(event: Any, model: type[Event], what: str) -> Event:
    """Parse ``event`` with the Powertools parser; ``InvalidEventError`` naming the offending field."""
    if not isinstance(event, dict):
        raise InvalidEventError(f"event: expected a JSON object, got {type(event).__name__}")
    try:
        parsed: Event = parse(event=event, model=model)
    except ValidationError as error:
        raise InvalidEventError(f"malformed {what}: {describe_validation_error(error)}") from error
    return parsed


class ModelPackageStateChange(ServiceEvent):
    EXPECTED: ClassVar[tuple[str, str]] = (SAGEMAKER_EVENT_SOURCE, MODEL_PACKAGE_STATE_CHANGE)
    resources: list[str] = []
    detail: ModelPackageDetail


ModelPackageStateChange.model_rebuild()


def parse_state_change(event: Any) -> ModelPackageStateChange:
    """Parse an EventBridge event; raise ``InvalidEventError`` naming the offending field."""
    parsed = _parse(event, ModelPackageStateChange, "model package state change")
    match = PACKAGE_ARN.match(parsed.detail.ModelPackageArn)
    assert match is not None  # the detail model validated it
    if match.group("group") != parsed.detail.ModelPackageGroupName:
        raise InvalidEventError(
            f"detail.ModelPackageArn: group {match.group('group')!r} does not match "
            f"detail.ModelPackageGroupName {parsed.detail.ModelPackageGroupName!r}"
        )
    if int(match.group("version")) != parsed.detail.ModelPackageVersion:
        raise InvalidEventError(
            f"detail.ModelPackageArn: version {match.group('version')} does not match "
            f"detail.ModelPackageVersion {parsed.detail.ModelPackageVersion}"
        )
    return parsed


# arn:<partition>:states:<region>:<account>:<stateMachine|execution>:<name>[:<execution name>]
_STATES_ARN = r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:"


class ExecutionStatusDetail(BaseModel):
    """The fields of Step Functions' execution status change the reconciler acts on."""

    executionArn: str = Field(pattern=_STATES_ARN + r"execution:[^:]+:[^:]+$")
    stateMachineArn: str = Field(pattern=_STATES_ARN + r"stateMachine:[^:]+$")
    status: str = Field(min_length=1)


class ExecutionStatusChange(ServiceEvent):
    EXPECTED: ClassVar[tuple[str, str]] = (STEP_FUNCTIONS_EVENT_SOURCE, EXECUTION_STATUS_CHANGE)
    detail: ExecutionStatusDetail


ExecutionStatusChange.model_rebuild()


def is_execution_status_change(event: Any) -> bool:
    """Whether the reconciler was invoked by an execution status change (else: its schedule)."""
    return isinstance(event, dict) and event.get("detail-type") == EXECUTION_STATUS_CHANGE


def parse_execution_status_change(event: Any) -> ExecutionStatusChange:
    """Parse Step Functions' execution status change; raise ``InvalidEventError`` naming the offending field."""
    return _parse(event, ExecutionStatusChange, "execution status change")
