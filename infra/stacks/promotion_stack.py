"""``PromotionStack``: the promotion pipeline and the IAM stage rights around it."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.constructs.experiment_tracking import tracking_access
from infra.constructs.ledger_integrity_check import LedgerIntegrityCheck
from infra.constructs.promotion_pipeline import DeployStepFactory, PipelineResources, PromotionPipeline
from infra.constructs.reconciler import PromotionReconciler
from infra.constructs.stage_rights import StageRights
from infra.stacks.registry_stack import RegistryStack
from mlops_registry.core.config import EnvironmentConfig
from mlops_registry.core.contracts import HOLDOUT_PREFIX, VALIDATION_EVIDENCE_PREFIX


class PromotionStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        registry: RegistryStack,
        deploy_step: DeployStepFactory | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tracking = tracking_access(
            self,
            config.name,
            config.mlflow,
            app_arn=registry.tracking.tracking_uri if registry.tracking and registry.tracking.app else None,
        )
        self.pipeline = PromotionPipeline(
            self,
            "Pipeline",
            config=config,
            resources=PipelineResources(
                key=registry.key,
                ledger=registry.ledger,
                topic=registry.notifications.topic,
                # Referenced by its deterministic name so the grants (and their cdk-nag forms) stay local.
                artifacts=s3.Bucket.from_bucket_name(
                    self, "ArtifactsBucket", constants.artifacts_bucket_name(config.name, self.account, self.region)
                ),
                tracking=self.tracking,
                models=s3.Bucket.from_bucket_name(
                    self, "ModelsBucket", constants.models_bucket_name(config.name, self.account, self.region)
                ),
                models_key=registry.artifacts_key,
            ),
            deploy_step=deploy_step,
        )
        self.reconciler = PromotionReconciler(self, "Reconciler", pipeline=self.pipeline)
        self.stage_rights = StageRights(
            self,
            "StageRights",
            env_name=config.name,
            package_arns=self.pipeline.package_arns,
            group_arns=self.pipeline.group_arns,
            state_machine=self.pipeline.state_machine,
            approvals_table=self.pipeline.approvals,
            ledger_table_arn=self.format_arn(
                service="dynamodb", resource="table", resource_name=constants.ledger_table_name(config.name)
            ),
            key=registry.key,
            review_board_principals=config.review_board_principals,
            mlflow_statements=self.tracking.data_scientist_statements() if self.tracking else (),
            governed_objects=[
                self.pipeline.resources.artifacts.arn_for_objects(f"{HOLDOUT_PREFIX}*"),
                self.pipeline.resources.artifacts.arn_for_objects(f"{VALIDATION_EVIDENCE_PREFIX}/*"),
            ],
        )
        self.ledger_check = LedgerIntegrityCheck(
            self,
            "LedgerCheck",
            groups=[g.name for g in config.groups],
            ledger=registry.ledger,
            key=registry.key,
            topic=registry.notifications.topic,
        )
        self.add_stack_dependency(registry)
        CfnOutput(self, "StateMachineArn", value=self.pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "DataScientistsPolicyArn", value=self.stage_rights.data_scientists.managed_policy_arn)
        CfnOutput(self, "ReviewBoardPolicyArn", value=self.stage_rights.review_board.managed_policy_arn)
        if self.stage_rights.board_role is not None:
            CfnOutput(self, "ReviewBoardRoleArn", value=self.stage_rights.board_role.role_arn)
