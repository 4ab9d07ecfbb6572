"""Typed models of the events the registry consumes, validated at the edge with Pydantic.

``ModelPackageDetail`` is the ``detail`` of ``SageMaker Model Package State Change``: the package as
DescribeModelPackage would return it (group, version, ARN, approval status, lifecycle, who modified
it); the dispatcher's envelope model extends Powertools' ``EventBridgeModel`` with it
(``promotion.state_change``). Validation errors name the field and the value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_registry.core.arns import PACKAGE_ARN

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


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"])
        parts.append(f"{location}: {item['msg']} (got {item.get('input')!r})"[:300])
    return "; ".join(parts)
