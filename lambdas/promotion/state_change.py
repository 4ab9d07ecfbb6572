"""The dispatcher's event: ``SageMaker Model Package State Change`` parsed with the Powertools parser.

The envelope is Powertools' ``EventBridgeModel`` (id, source, detail-type, account, region, time,
resources); the dispatcher keeps the envelope's fields (it refuses events from another account or
region), so the model extends it rather than unwrapping ``detail`` with the EventBridge envelope.
``detail`` is the package as DescribeModelPackage returns it (``mlops_registry.core.events``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from mlops_registry.core.contracts import MODEL_PACKAGE_STATE_CHANGE, SAGEMAKER_EVENT_SOURCE
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.events import PACKAGE_ARN, ModelPackageDetail, describe_validation_error


class ModelPackageStateChange(EventBridgeModel):
    source: str
    detail_type: str = Field(alias="detail-type")
    resources: list[str] = []
    detail: ModelPackageDetail

    @field_validator("source", "detail_type")
    @classmethod
    def _is_a_package_state_change(cls, value: str, info: ValidationInfo) -> str:
        expected = SAGEMAKER_EVENT_SOURCE if info.field_name == "source" else MODEL_PACKAGE_STATE_CHANGE
        if value != expected:
            raise ValueError(f"expected {expected!r}")
        return value


ModelPackageStateChange.model_rebuild()


def parse_state_change(event: Any) -> ModelPackageStateChange:
    """Parse an EventBridge event; raise ``InvalidEventError`` naming the offending field."""
    if not isinstance(event, dict):
        raise InvalidEventError(f"event: expected a JSON object, got {type(event).__name__}")
    try:
        parsed: ModelPackageStateChange = parse(event=event, model=ModelPackageStateChange)
    except ValidationError as error:
        raise InvalidEventError(f"malformed model package state change: {describe_validation_error(error)}") from error
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
