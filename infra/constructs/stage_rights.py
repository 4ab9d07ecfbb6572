"""``StageRights``: managed policies that make stage changes an IAM matter, not only a code matter.

Uses SageMaker's ``sagemaker:ModelLifeCycle:stage`` / ``sagemaker:ModelLifeCycle:stageStatus``
condition keys on CreateModelPackage / UpdateModelPackage:

- data scientists may register versions and set them to ``Development`` only; any request that sets
  ``Staging``, ``Production`` or ``Archived`` is explicitly denied;
- data scientists are explicitly denied setting ``ModelApprovalStatus`` to ``Approved`` or
  ``Rejected`` (the ``sagemaker:ModelApprovalStatus`` condition key), on create and on update;
- the review board may set the approval status to ``Approved`` or ``Rejected`` (Studio or
  ``registry approve/reject``), nothing else, and is explicitly denied setting ``Staging``,
  ``Production`` or ``Archived`` itself. The board holds no task tokens: the pipeline's dispatcher
  verifies who decided (SageMaker's ``LastModifiedBy``) and resumes the waiting execution.

The board's policy is attached to the configured ``reviewBoardPrincipals`` (roles/users of this
account), or to a role created here (``mlops-registry-<env>-review-board``) that principals of this
account may assume only with a source identity, so the ledger names the human behind the session.

Only the pipeline's own roles (which carry no such deny) can move a version to Staging or Production.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constants import group_policy_prefix, resource_prefix, review_board_role_name, state_machine_name
from infra.constructs.encryption import via
from infra.nag import list_packages_acknowledgment, nag_form

PIPELINE_ONLY_STAGES = ["Staging", "Production", "Archived"]
STAGE_KEY = "sagemaker:ModelLifeCycle:stage"
STAGE_STATUS_KEY = "sagemaker:ModelLifeCycle:stageStatus"
APPROVAL_KEY = "sagemaker:ModelApprovalStatus"
BOARD_DECISIONS = ["Approved", "Rejected"]


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
        review_board_principals: Sequence[str] = (),
        mlflow_statements: Sequence[iam.PolicyStatement] = (),
        governed_objects: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        # The holdout sets and the platform's own evidence: written by the platform only. Whatever a
        # data scientist is granted elsewhere, this explicit deny keeps them out.
        governed = (
            [
                iam.PolicyStatement(
                    sid="NeverWriteGovernedData",
                    effect=iam.Effect.DENY,
                    actions=["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"],
                    resources=list(governed_objects),
                )
            ]
            if governed_objects
            else []
        )
        deny_decisions = iam.PolicyStatement(
            sid="NeverDecideApprovals",
            effect=iam.Effect.DENY,
            actions=["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
            resources=[*package_arns, *group_arns],
            conditions={"StringEquals": {APPROVAL_KEY: BOARD_DECISIONS}},
        )
        deny_pipeline_stages = iam.PolicyStatement(
            sid="OnlyThePipelineSetsStagingProductionArchived",
            effect=iam.Effect.DENY,
            actions=["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"],
            resources=[*package_arns, *group_arns],
            conditions={"StringEquals": {STAGE_KEY: PIPELINE_ONLY_STAGES}},
        )
        read = iam.PolicyStatement(
            sid="ReadRegistry",
            actions=["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
            resources=[*package_arns, *group_arns],
        )
        stack = Stack.of(self)
        # The Service Authorization Reference authorizes ListModelPackages against model-package/*.
        list_versions = iam.PolicyStatement(
            sid="ListVersions",
            actions=["sagemaker:ListModelPackages"],
            resources=[f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-package/*"],
        )
        # The CLI reads the managed groups' published policies (``/<prefix>/groups/<group>``) with
        # GetParametersByPath, which IAM authorizes against the path itself.
        read_policies = iam.PolicyStatement(
            sid="ReadGroupPolicies",
            actions=["ssm:GetParametersByPath"],
            resources=[
                f"arn:{stack.partition}:ssm:{stack.region}:{stack.account}:parameter/"
                f"{group_policy_prefix(env_name)}/groups"
            ],
        )
        self.data_scientists = iam.ManagedPolicy(
            self,
            "DataScientists",
            managed_policy_name=f"{resource_prefix(env_name)}-data-scientists",
            description="Register model versions in Development; never set Staging/Production/Archived",
            statements=[
                read,
                list_versions,
                read_policies,
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
                # Experiment tracking on the environment's MLflow (infra.constructs.experiment_tracking).
                *mlflow_statements,
                deny_pipeline_stages,
                deny_decisions,
                *governed,
            ],
        )
        if any("*" in statement.resources for statement in mlflow_statements):
            Validations.of(self.data_scientists).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="sagemaker-mlflow:AccessUI only: the Service Authorization Reference lists no resource type "
                    "for it; the presigned URL, granted on this environment's server only, decides which UI opens.",
                ),
            )
        self.review_board = iam.ManagedPolicy(
            self,
            "ReviewBoard",
            managed_policy_name=f"{resource_prefix(env_name)}-review-board",
            description="Approve or reject versions awaiting review; never set lifecycle stages directly",
            statements=[
                read,
                list_versions,
                read_policies,
                iam.PolicyStatement(
                    sid="DecideApproval",
                    actions=["sagemaker:UpdateModelPackage"],
                    resources=list(package_arns),
                    conditions={"StringEquals": {APPROVAL_KEY: BOARD_DECISIONS}, "Null": {STAGE_KEY: "true"}},
                ),
                iam.PolicyStatement(
                    sid="ReadPendingApprovals",
                    actions=["dynamodb:GetItem"],
                    resources=[approvals_table.table_arn],
                ),
                iam.PolicyStatement(
                    sid="FollowPromotion",
                    actions=["states:DescribeExecution"],
                    resources=[
                        f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:"
                        f"{state_machine_name(env_name)}:*"
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadAuditLedger",
                    actions=["dynamodb:Query", "dynamodb:GetItem"],
                    resources=[ledger_table_arn, f"{ledger_table_arn}/index/*"],
                ),
                iam.PolicyStatement(
                    sid="UseRegistryKey",
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions=via(Stack.of(self), "dynamodb"),
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
                list_packages_acknowledgment(self),
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, ledger_table_arn)}/index/*]",
                    reason="Read access to the ledger's query indexes (history and stage-at-time).",
                ),
            )
        Validations.of(self.review_board).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, f'arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:{state_machine_name(env_name)}:*')}]",
                reason="Execution names are derived from package ARNs at run time; read-only, this state machine only.",
            ),
        )
        self.board_role: iam.Role | None = None
        self._attach_board(review_board_principals, env_name)

    def _attach_board(self, principals: Sequence[str], env_name: str) -> None:
        """The board's policy on the configured principals, or on a role created for the board."""
        if not principals:
            self.board_role = iam.Role(
                self,
                "ReviewBoardRole",
                role_name=review_board_role_name(env_name),
                description="The model review board: approve or reject versions awaiting review",
                assumed_by=iam.AccountRootPrincipal().with_conditions({"Null": {"sts:SourceIdentity": "false"}}),
                max_session_duration=Duration.hours(1),
            )
            self.board_role.assume_role_policy.add_statements(  # type: ignore[union-attr]
                iam.PolicyStatement(
                    actions=["sts:SetSourceIdentity"],
                    principals=[iam.AccountRootPrincipal()],
                )
            )
            self.review_board.attach_to_role(self.board_role)
            return
        for index, arn in enumerate(principals):
            if ":role/" in arn:
                self.review_board.attach_to_role(iam.Role.from_role_arn(self, f"BoardPrincipal{index}", arn))
            else:
                self.review_board.attach_to_user(iam.User.from_user_arn(self, f"BoardPrincipal{index}", arn))
