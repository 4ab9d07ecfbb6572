"""``RegistryStack``: the registry's stores, shared by every other stack of an environment."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import constants
from infra.constructs.artifact_store import ArtifactStore
from infra.constructs.audit_ledger import AuditLedger
from infra.constructs.encryption import RegistryKeys
from infra.constructs.experiment_tracking import ExperimentTracking
from infra.constructs.model_package_groups import ModelPackageGroups
from infra.constructs.notifications import Notifications
from mlops_registry.core.config import EnvironmentConfig


class RegistryStack(Stack):
    """KMS keys, model package groups, models and internal buckets, audit ledger, notification topic and
    (when configured) the environment's managed MLflow.

    ``key`` is the internal key (everything not shared); ``artifacts_key`` encrypts only the models
    bucket, the one store registry-reader accounts may read."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        keys = RegistryKeys(self, "Encryption", env_name=config.name)
        self.key = keys.internal
        self.artifacts_key = keys.artifacts
        self.model_groups = ModelPackageGroups(
            self, "ModelPackageGroups", groups=config.groups, reader_accounts=config.registry_reader_accounts
        )
        self.artifacts = ArtifactStore(
            self,
            "ArtifactStore",
            key=self.key,
            artifacts_key=self.artifacts_key,
            reader_accounts=config.registry_reader_accounts,
            bucket_name=constants.artifacts_bucket_name(config.name, self.account, self.region),
            models_bucket_name=constants.models_bucket_name(config.name, self.account, self.region),
        )
        self.ledger = AuditLedger(
            self, "AuditLedger", key=self.key, table_name=constants.ledger_table_name(config.name)
        )
        self.notifications = Notifications(
            self,
            "Notifications",
            key=self.key,
            topic_name=constants.topic_name(config.name),
            emails=config.review_board_emails,
        )
        self.tracking: ExperimentTracking | None = None
        if config.mlflow is not None:
            self.tracking = ExperimentTracking(
                self,
                "ExperimentTracking",
                env_name=config.name,
                policy=config.mlflow,
                bucket=self.artifacts.bucket,
                key=self.key,
            )
            CfnOutput(self, "MlflowTrackingUri", value=self.tracking.tracking_uri)
        CfnOutput(self, "ArtifactsBucketName", value=self.artifacts.bucket.bucket_name)
        CfnOutput(self, "ModelsBucketName", value=self.artifacts.models.bucket_name)
        CfnOutput(self, "LedgerTableName", value=self.ledger.table.table_name)
        CfnOutput(self, "NotificationTopicArn", value=self.notifications.topic.topic_arn)
