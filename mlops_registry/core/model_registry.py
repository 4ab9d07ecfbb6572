"""SageMaker Model Registry adapter: read packages, list versions explicitly sorted, set lifecycle."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.core.arns import split_package_arn
from mlops_registry.core.aws import client
from mlops_registry.core.baseline import baseline_uri_from_package, performance_baseline_uri_from_package
from mlops_registry.core.contracts import APPROVED, PENDING_APPROVAL, STAGE_PRODUCTION
from mlops_registry.core.errors import UnknownGroupError, UnknownPackageError

BIAS_REPORT_KEYS = ("Report", "PreTrainingReport", "PostTrainingReport")


def bias_report_uris(bias: dict[str, Any]) -> tuple[str, ...]:
    """The S3 URIs of every bias report in ``ModelMetrics.Bias``, in ``BIAS_REPORT_KEYS`` order, once each."""
    uris: list[str] = []
    for key in BIAS_REPORT_KEYS:
        uri = (bias.get(key) or {}).get("S3Uri")
        if isinstance(uri, str) and uri and uri not in uris:
            uris.append(uri)
    return tuple(uris)


@dataclass(frozen=True)
class PackageView:
    arn: str
    group: str
    version: int
    approval_status: str
    stage: str | None
    stage_status: str | None
    created: datetime | None
    metrics_report_uri: str | None = None
    bias_report_uri: str | None = None
    # Every bias report the package references: ``Bias.Report``, ``Bias.PreTrainingReport`` and
    # ``Bias.PostTrainingReport`` (the SageMaker SDK registers Clarify's two jobs separately).
    bias_report_uris: tuple[str, ...] = ()
    explainability_report_uri: str | None = None
    baseline_uri: str | None = None
    # Written at promotion and named in CustomerMetadataProperties (mlops_registry.core.baseline).
    performance_baseline_uri: str | None = None
    model_data_url: str | None = None
    image: str | None = None
    last_modified_by: str | None = None
    created_by: str | None = None
    approval_description: str | None = None
    customer_metadata: dict[str, str] = field(default_factory=dict)
    metadata_properties: dict[str, str] = field(default_factory=dict)
    description: str | None = None

    @staticmethod
    def from_description(d: dict[str, Any]) -> PackageView:
        metrics = d.get("ModelMetrics", {})
        life = d.get("ModelLifeCycle") or {}
        container = (d.get("InferenceSpecification", {}).get("Containers") or [{}])[0]
        modified = d.get("LastModifiedBy") or {}
        iam = modified.get("IamIdentity") or {}
        creator = d.get("CreatedBy") or {}
        return PackageView(
            arn=d["ModelPackageArn"],
            group=d["ModelPackageGroupName"],
            version=int(d["ModelPackageVersion"]),
            approval_status=d.get("ModelApprovalStatus", PENDING_APPROVAL),
            stage=life.get("Stage"),
            stage_status=life.get("StageStatus"),
            created=d.get("CreationTime"),
            metrics_report_uri=metrics.get("ModelQuality", {}).get("Statistics", {}).get("S3Uri"),
            bias_report_uri=(
                metrics.get("Bias", {}).get("PostTrainingReport")
                or metrics.get("Bias", {}).get("Report")
                or metrics.get("Bias", {}).get("PreTrainingReport")
                or {}
            ).get("S3Uri"),
            bias_report_uris=bias_report_uris(metrics.get("Bias", {})),
            explainability_report_uri=metrics.get("Explainability", {}).get("Report", {}).get("S3Uri"),
            baseline_uri=baseline_uri_from_package(d),
            performance_baseline_uri=performance_baseline_uri_from_package(d),
            model_data_url=container.get("ModelDataUrl"),
            image=container.get("Image"),
            last_modified_by=iam.get("Arn") or modified.get("UserProfileArn") or modified.get("UserProfileName"),
            created_by=(creator.get("IamIdentity") or {}).get("Arn")
            or creator.get("UserProfileArn")
            or creator.get("UserProfileName"),
            approval_description=d.get("ApprovalDescription"),
            customer_metadata=dict(d.get("CustomerMetadataProperties") or {}),
            metadata_properties=dict(d.get("MetadataProperties") or {}),
            description=d.get("ModelPackageDescription"),
        )


def is_in_production(package: PackageView) -> bool:
    """In Production means both: the lifecycle stage is Production and the approval is Approved.

    A version whose approval was revoked (Rejected) or reset while its stage still reads Production
    serves no one the registry vouches for, so it is not the Production version."""
    return package.stage == STAGE_PRODUCTION and package.approval_status == APPROVED


def production_version(packages: Iterable[PackageView]) -> PackageView | None:
    """The group's Production version: the highest version number that is in Production (a
    version left in the stage by an out-of-band change does not hide a newer promotion), whatever
    order ``packages`` come in; ``None`` when none is."""
    return max((p for p in packages if is_in_production(p)), key=lambda p: p.version, default=None)


class ModelRegistry:
    """Thin wrapper over the SageMaker client; every call retries throttling (see ``mlops_registry.core.aws``)."""

    def __init__(self, sagemaker: Any | None = None) -> None:
        self._sm = sagemaker or client("sagemaker")

    def describe(self, package_arn: str) -> PackageView:
        split_package_arn(package_arn)
        try:
            return PackageView.from_description(self._sm.describe_model_package(ModelPackageName=package_arn))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
                raise UnknownPackageError(f"model package {package_arn} does not exist") from error
            raise

    def ensure_group(self, group: str) -> None:
        try:
            self._sm.describe_model_package_group(ModelPackageGroupName=group)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
                raise UnknownGroupError(f"model package group {group!r} does not exist") from error
            raise

    def version_arns(self, group: str, approval_status: str | None = None) -> list[str]:
        """Every version ARN of a group, newest version first (sorted explicitly, never list order)."""
        kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending"}
        if approval_status:
            kwargs["ModelApprovalStatus"] = approval_status
        summaries = [
            summary
            for page in self._sm.get_paginator("list_model_packages").paginate(**kwargs)
            for summary in page.get("ModelPackageSummaryList", [])
        ]
        summaries.sort(key=lambda s: (int(s.get("ModelPackageVersion", 0)), s.get("CreationTime")), reverse=True)
        return [s["ModelPackageArn"] for s in summaries]

    def versions(self, group: str) -> list[PackageView]:
        return [self.describe(arn) for arn in self.version_arns(group)]

    def current_production(self, group: str, exclude: str | None = None) -> PackageView | None:
        """``production_version`` over the group's approved versions (other than ``exclude``)."""
        arns = self.version_arns(group, approval_status=APPROVED)
        return production_version(self.describe(arn) for arn in arns if arn != exclude)

    def set_lifecycle(
        self,
        package_arn: str,
        stage: str,
        status: str,
        description: str,
        approval_status: str | None = None,
        approval_description: str | None = None,
        customer_metadata: dict[str, str] | None = None,
    ) -> None:
        """One ``UpdateModelPackage``: the stage, and with it (atomically) the approval and any
        ``CustomerMetadataProperties`` to add or replace (other properties are kept)."""
        kwargs: dict[str, Any] = {
            "ModelPackageArn": package_arn,
            "ModelLifeCycle": {"Stage": stage, "StageStatus": status, "StageDescription": description[:1024]},
        }
        if approval_status:
            kwargs["ModelApprovalStatus"] = approval_status
        if approval_description:
            kwargs["ApprovalDescription"] = approval_description[:1024]
        if customer_metadata:
            kwargs["CustomerMetadataProperties"] = customer_metadata
        self._sm.update_model_package(**kwargs)

    def set_approval(self, package_arn: str, status: str, description: str) -> None:
        """Only the approval status (a refused decision set back), the stage untouched."""
        self._sm.update_model_package(
            ModelPackageArn=package_arn, ModelApprovalStatus=status, ApprovalDescription=description[:1024]
        )
