"""What every command needs: the options, the environment's config, the session, the adapters by name."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import ClientError

from mlops_registry.cli import output
from mlops_registry.cli.aws import AwsOptions, AwsSession
from mlops_registry.cli.config import Deployment, open_deployment
from mlops_registry.cli.errors import NotFoundError, UsageError
from mlops_registry.core import names
from mlops_registry.core.approvals import ApprovalStore
from mlops_registry.core.arns import split_package_arn
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.ledger import Ledger
from mlops_registry.core.model_registry import ModelRegistry, PackageView

if TYPE_CHECKING:
    from mlops_registry.core.config import GroupPolicy

NOT_FOUND_CODES = ("ValidationException", "ResourceNotFound", "ResourceNotFoundException")


@dataclass
class CliContext:
    args: argparse.Namespace
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    @cached_property
    def progress(self) -> output.Progress:
        return output.Progress(stream=self.stderr, enabled=not getattr(self.args, "quiet", False))

    # --- configuration ---------------------------------------------------------------------------
    @cached_property
    def deployment(self) -> Deployment:
        """The managed groups: the deployed parameters, or ``--config`` (mlops_registry.cli.config)."""
        return open_deployment(
            getattr(self.args, "config", None), getattr(self.args, "env", None), lambda: self.aws.client("ssm")
        )

    @property
    def env_name(self) -> str:
        return self.deployment.env_name

    @property
    def managed_groups(self) -> list[str]:
        return self.deployment.group_names()

    def group_config(self, group: str) -> GroupPolicy:
        """The managed group's validated policy: exit 3 for a group this registry does not manage, exit 2
        naming the key and value when its policy is invalid."""
        return self.deployment.group(group)

    def ensure_managed(self, group: str) -> None:
        """Exit 3 unless the registry manages ``group`` (its policy is not needed, so not validated)."""
        if group not in self.managed_groups:
            self.deployment.group(group)  # raises the not-managed error with the managed groups

    # --- AWS ---------------------------------------------------------------------------------------
    @cached_property
    def aws(self) -> AwsSession:
        options = AwsOptions(
            region=getattr(self.args, "region", None),
            profile=getattr(self.args, "profile", None),
            endpoint_url=getattr(self.args, "endpoint_url", None),
        )
        return AwsSession(options, default_region=lambda: self.deployment.region)

    @cached_property
    def registry(self) -> ModelRegistry:
        return ModelRegistry(self.aws.client("sagemaker"))

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(names.ledger_table_name(self.env_name), dynamodb=self.aws.client("dynamodb"))

    @cached_property
    def approvals(self) -> ApprovalStore:
        return ApprovalStore(names.approvals_table_name(self.env_name), dynamodb=self.aws.client("dynamodb"))

    @property
    def artifacts_bucket(self) -> str:
        return names.artifacts_bucket_name(self.env_name, self.aws.account, self.aws.region)

    def endpoint_name(self, group: str) -> str:
        return names.endpoint_name(self.env_name, group)

    # --- lookups with clear not-found errors --------------------------------------------------------
    def ensure_group_exists(self, group: str) -> None:
        self.ensure_managed(group)
        try:
            self.aws.client("sagemaker").describe_model_package_group(ModelPackageGroupName=group)
        except ClientError as error:
            if error.response["Error"]["Code"] in NOT_FOUND_CODES:
                raise NotFoundError(
                    f"model package group {group!r} does not exist in {self.aws.describe_target()}",
                    hint="is the registry deployed in this account and region (cdk deploy)?",
                ) from error
            raise

    def resolve_package(self, arn: str | None, group: str | None, version: int | None) -> PackageView:
        """The package named by ``--arn`` or by ``--group`` + ``--version`` (exit 2 malformed, 3 unknown)."""
        if arn:
            try:
                arn_group, _ = split_package_arn(arn)
            except InvalidEventError as error:
                raise UsageError(
                    f"--arn {arn!r} is not a versioned model package ARN",
                    hint="e.g. arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/3",
                ) from error
            self.ensure_managed(arn_group)
            try:
                return self.registry.describe(arn)
            except ClientError as error:  # pragma: no cover - ModelRegistry maps the not-found codes
                raise NotFoundError(f"model package {arn} does not exist") from error
        if not group or version is None:
            raise UsageError("name the version with --arn ARN, or with --group GROUP --version N")
        self.ensure_group_exists(group)
        for candidate in self.registry.version_arns(group):
            if int(candidate.rsplit("/", 1)[1]) == version:
                return self.registry.describe(candidate)
        raise NotFoundError(f"group {group!r} has no version {version}", hint=f"see `registry status --group {group}`")

    def emit(self, data: Any, table: Any) -> None:
        """Write ``data`` as JSON or YAML, or call ``table(stdout)`` to render it."""
        chosen = getattr(self.args, "output", "table")
        if chosen == "json":
            output.render_json(data, self.stdout)
        elif chosen == "yaml":
            output.render_yaml(data, self.stdout)
        else:
            table(self.stdout)
