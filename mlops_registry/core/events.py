"""Typed models of the events the registry consumes, validated at the edge with Pydantic.

The EventBridge envelope of ``SageMaker Model Package State Change`` carries, in ``detail``, the
package as DescribeModelPackage would return it (group, version, ARN, approval status, lifecycle,
who modified it). Validation errors name the field and the value.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from mlops_registry.core.contracts import MODEL_PACKAGE_STATE_CHANGE, SAGEMAKER_EVENT_SOURCE
from mlops_registry.core.errors import InvalidEventError

PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:\d{12}:model-package/(?P<group>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})/(?P<version>\d+)$"
)
ApprovalStatus = Literal["Approved", "Rejected", "PendingManualApproval"]


class UserContext(BaseModel):
    model_config = ConfigDict(extra="ignore")
    UserProfileArn: str | None = None
    UserProfileName: str | None = None
    DomainId: str | None = None
    IamIdentity: dict[str, Any] | None = None

    def identity(self) -> str | None:
        if self.IamIdentity and self.IamIdentity.get("Arn"):
            return str(self.IamIdentity["Arn"])
        return self.UserProfileArn or self.UserProfileName


class LifeCycle(BaseModel):
    model_config = ConfigDict(extra="ignore")
    Stage: str
    StageStatus: str | None = None
    StageDescription: str | None = None


class ModelPackageDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ModelPackageGroupName: str = Field(min_length=1, max_length=63)
    ModelPackageVersion: int = Field(ge=1)
    ModelPackageArn: str
    ModelApprovalStatus: ApprovalStatus
    ModelPackageStatus: str | None = None
    ApprovalDescription: str | None = None
    ModelLifeCycle: LifeCycle | None = None
    CreatedBy: UserContext | None = None
    LastModifiedBy: UserContext | None = None
    LastModifiedTime: int | float | str | None = None

    @field_validator("ModelPackageArn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not PACKAGE_ARN.match(value):
            raise ValueError("not a versioned model package ARN")
        return value

    def stage(self) -> str | None:
        return self.ModelLifeCycle.Stage if self.ModelLifeCycle else None


class ModelPackageStateChange(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    account: str
    region: str
    time: str
    resources: list[str] = []
    detail: ModelPackageDetail

    @field_validator("source", "detail_type")
    @classmethod
    def _is_a_package_state_change(cls, value: str, info: ValidationInfo) -> str:
        expected = SAGEMAKER_EVENT_SOURCE if info.field_name == "source" else MODEL_PACKAGE_STATE_CHANGE
        if value != expected:
            raise ValueError(f"expected {expected!r}")
        return value


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"])
        parts.append(f"{location}: {item['msg']} (got {item.get('input')!r})"[:300])
    return "; ".join(parts)


def parse_state_change(event: Any) -> ModelPackageStateChange:
    """Parse an EventBridge event; raise ``InvalidEventError`` naming the offending field."""
    if not isinstance(event, dict):
        raise InvalidEventError(f"event: expected a JSON object, got {type(event).__name__}")
    try:
        parsed = ModelPackageStateChange.model_validate(event)
    except ValidationError as error:
        raise InvalidEventError(f"malformed model package state change: {describe_validation_error(error)}") from error
    match = PACKAGE_ARN.match(parsed.detail.ModelPackageArn)
    assert match is not None
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


def split_package_arn(arn: str) -> tuple[str, int]:
    """(group, version) of a versioned model package ARN; ``InvalidEventError`` when malformed."""
    match = PACKAGE_ARN.match(arn or "")
    if not match:
        raise InvalidEventError(f"package_arn: {arn!r} is not a versioned model package ARN")
    return match.group("group"), int(match.group("version"))
