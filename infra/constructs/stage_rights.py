"""``StageRights``: managed policies that make stage changes an IAM matter, not only a code matter.

Uses SageMaker's ``sagemaker:ModelLifeCycle:stage`` / ``sagemaker:ModelLifeCycle:stageStatus``
condition keys on CreateModelPackage / UpdateModelPackage:

- data scientists may register versions and set them to ``Development`` only; any request that sets
  ``Staging``, ``Production`` or ``Archived`` is explicitly denied;
- the review board may set the approval status (SageMaker Studio) and resume the pipeline through
  the CLI, but is explicitly denied setting ``Staging``, ``Production`` or ``Archived`` itself.

Only the pipeline's own roles (which carry no such deny) can move a version to Staging or Production.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import nag_form

PIPELINE_ONLY_STAGES = ["Staging", "Production", "Archived"]
STAGE_KEY = "sagemaker:ModelLifeCycle:stage"
STAGE_STATUS_KEY = "sagemaker:ModelLifeCycle:stageStatus"


class StageRights(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        package_arns: Sequence[str],
        group_arns: Sequence[str],
        state_machine: sfn.IStateMachine,
        approvals_table: dynamodb.ITable,
        ledger_table_arn: str,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        deny_pipeline_stages = iam.PolicyStatement(
            sid="OnlyThePipelineSetsStagingProductionArchived",
            effect=iam.Effect.DENY,
            actions=["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
            resources=[*package_arns, *group_arns],
            conditions={"StringEquals": {STAGE_KEY: PIPELINE_ONLY_STAGES}},
        )
        read = iam.PolicyStatement(
            sid="ReadRegistry",
            actions=[
                "sagemaker:DescribeModelPackage",
                "sagemaker:ListModelPackages",
                "sagemaker:DescribeModelPackageGroup",
            ],
            resources=[*package_arns, *group_arns],
        )
        self.data_scientists = iam.ManagedPolicy(
            self,
            "DataScientists",
            managed_policy_name=f"mlops-registry-{env_name}-data-scientists",
            description="Register model versions in Development; never set Staging/Production/Archived",
            statements=[
                read,
                iam.PolicyStatement(
                    sid="RegisterInDevelopment",
                    actions=["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
                    resources=[*package_arns, *group_arns],
                    conditions={
                        "StringEquals": {STAGE_KEY: "Development", STAGE_STATUS_KEY: ["InProgress", "Registered"]}
                    },
                ),
                iam.PolicyStatement(
                    sid="RegisterWithoutLifecycle",
                    actions=["sagemaker:CreateModelPackage"],
                    resources=[*package_arns, *group_arns],
                    conditions={"Null": {STAGE_KEY: "true"}},
                ),
                deny_pipeline_stages,
            ],
        )
        self.review_board = iam.ManagedPolicy(
            self,
            "ReviewBoard",
            managed_policy_name=f"mlops-registry-{env_name}-review-board",
            description="Approve or reject versions awaiting review; never set lifecycle stages directly",
            statements=[
                read,
                iam.PolicyStatement(
                    sid="DecideApprovalInStudio",
                    actions=["sagemaker:UpdateModelPackage"],
                    resources=list(package_arns),
                    conditions={"Null": {STAGE_KEY: "true"}},
                ),
                iam.PolicyStatement(
                    sid="ResumeWaitingPromotion",
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=[state_machine.state_machine_arn],
                ),
                iam.PolicyStatement(
                    sid="ClaimPendingApproval",
                    actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                    resources=[approvals_table.table_arn],
                ),
                iam.PolicyStatement(
                    sid="ReadAuditLedger",
                    actions=["dynamodb:Query", "dynamodb:GetItem"],
                    resources=[ledger_table_arn, f"{ledger_table_arn}/index/*"],
                ),
                iam.PolicyStatement(
                    sid="UseRegistryKey",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn],
                ),
                deny_pipeline_stages,
            ],
        )
        for policy in (self.data_scientists, self.review_board):
            Validations.of(policy).acknowledge(
                *[
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::{arn}]",
                        reason="Versions of a managed group get their ARNs at registration; scoped to that group.",
                    )
                    for arn in (nag_form(self, a) for a in package_arns)
                ],
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, ledger_table_arn)}/index/*]",
                    reason="Read access to the ledger's query indexes (history and stage-at-time).",
                ),
            )
