"""``ModelPackageGroups``: one SageMaker model package group per managed group in the config.

Each group carries a resource policy that lets the configured accounts (staging, prod) read the
registry: describe the group and list/describe its versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack, Tags
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from mlops_registry.core import contracts
from mlops_registry.core.config import GroupPolicy

READ_ACTIONS = (
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
)


def group_read_policy(group_name: str, reader_accounts: Sequence[str], stack: Stack) -> dict[str, Any]:
    group_arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-package-group/{group_name}"
    package_arns = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-package/{group_name}/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CrossAccountRegistryRead",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:{stack.partition}:iam::{account}:root" for account in reader_accounts]},
                "Action": list(READ_ACTIONS),
                "Resource": [group_arn, package_arns],
            }
        ],
    }


class ModelPackageGroups(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, groups: Sequence[GroupPolicy], reader_accounts: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.groups: dict[str, sagemaker.CfnModelPackageGroup] = {}
        for group in groups:
            cfn = sagemaker.CfnModelPackageGroup(
                self,
                f"Group-{group.name}",
                model_package_group_name=group.name,
                model_package_group_description=group.description or f"Managed model group {group.name}",
                model_package_group_policy=group_read_policy(group.name, reader_accounts, stack)
                if reader_accounts
                else None,
            )
            cfn.apply_removal_policy(RemovalPolicy.RETAIN)
            Tags.of(cfn).add(f"{contracts.APP_NAME}:managed", "true")
            Tags.of(cfn).add(f"{contracts.APP_NAME}:deployment-mode", group.deployment.mode)
            self.groups[group.name] = cfn

    def group_arn(self, name: str) -> str:
        return self.groups[name].attr_model_package_group_arn
