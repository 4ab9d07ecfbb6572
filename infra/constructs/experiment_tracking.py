"""``ExperimentTracking``: SageMaker managed MLflow for one environment (docs/mlflow.md).

- ``kind: trackingServer`` → ``AWS::SageMaker::MlflowTrackingServer`` (size, MLflow version and
  weekly maintenance window from config, automatic model registration explicit);
- ``kind: app`` → the serverless ``AWS::SageMaker::MlflowApp`` (``ModelRegistrationMode`` set
  explicitly: the API reference and the CLI reference describe its default differently);
- ``kind: external`` → nothing is created; ``tracking_uri`` is the team's own MLflow.

The artifact store is the registry's internal, KMS-encrypted artifacts bucket under its own prefix;
the service role may read and write that prefix only (and use the internal key through S3 for that
bucket only). ``rest_grants`` are the IAM actions that authorize MLflow REST calls on this server or
app, per the Service Authorization Reference: ``sagemaker-mlflow:<Api>`` on the tracking server's
ARN; ``sagemaker:CallMlflowAppApi`` on the App's ARN.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra import constants
from infra.constructs.encryption import ENCRYPT_DECRYPT, via
from infra.nag import nag_form
from mlops_registry.core.config import MlflowPolicy
from mlops_registry.core.mlflow_rest import (
    APP_REST_ACTION,
    DATA_SCIENTIST_ACTIONS,
    MLFLOW_ARN,
    tracking_server_arn,
)

ACCESS_UI = "sagemaker-mlflow:AccessUI"
MODEL_REGISTRATION_MODE_DISABLED = "AutoModelRegistrationDisabled"
MODEL_REGISTRATION_MODE_ENABLED = "AutoModelRegistrationEnabled"


class ExperimentTracking(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        policy: MlflowPolicy,
        bucket: s3.IBucket,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.policy = policy
        self.kind = policy.kind
        self.role: iam.Role | None = None
        self.server: sagemaker.CfnMlflowTrackingServer | None = None
        self.app: sagemaker.CfnMlflowApp | None = None
        if policy.kind == "external":
            assert policy.tracking_uri is not None  # the schema requires it for external
            self.tracking_uri = policy.tracking_uri
            self.artifact_store_uri: str | None = None
            return
        self.artifact_store_uri = f"s3://{bucket.bucket_name}/{policy.artifact_prefix}"
        self.role = self._build_role(env_name, bucket, key)
        name = constants.mlflow_name(env_name)
        if policy.kind == "trackingServer":
            self.server = sagemaker.CfnMlflowTrackingServer(
                self,
                "TrackingServer",
                tracking_server_name=name,
                artifact_store_uri=self.artifact_store_uri,
                role_arn=self.role.role_arn,
                tracking_server_size=policy.tracking_server_size,
                mlflow_version=policy.mlflow_version,
                weekly_maintenance_window_start=policy.weekly_maintenance_window_start,
                automatic_model_registration=policy.automatic_model_registration,
            )
            self.server.node.add_dependency(self.role)
            self.tracking_uri = self.server.attr_tracking_server_arn
        else:
            self.app = sagemaker.CfnMlflowApp(
                self,
                "App",
                name=name,
                artifact_store_uri=self.artifact_store_uri,
                role_arn=self.role.role_arn,
                model_registration_mode=MODEL_REGISTRATION_MODE_ENABLED
                if policy.automatic_model_registration
                else MODEL_REGISTRATION_MODE_DISABLED,
                weekly_maintenance_window_start=policy.weekly_maintenance_window_start,
            )
            self.app.node.add_dependency(self.role)
            self.tracking_uri = self.app.attr_arn

    def _build_role(self, env_name: str, bucket: s3.IBucket, key: kms.IKey) -> iam.Role:
        stack = Stack.of(self)
        prefix = self.policy.artifact_prefix
        role = iam.Role(
            self,
            "ServiceRole",
            role_name=f"{constants.mlflow_name(env_name)}-service",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker managed MLflow: its artifact store prefix in the registry's artifacts bucket only",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ArtifactStoreObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects(f"{prefix}/*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ArtifactStoreListing",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}},
            )
        )
        conditions = via(stack, "s3")
        conditions["StringEquals"]["kms:EncryptionContext:aws:s3:arn"] = [bucket.bucket_arn]
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ArtifactStoreKey", actions=sorted(ENCRYPT_DECRYPT), resources=[key.key_arn], conditions=conditions
            )
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, bucket.arn_for_objects(f'{prefix}/*'))}]",
                reason="MLflow writes run artifacts under run-time keys of its own prefix of the artifacts bucket.",
            )
        )
        return role


@dataclass(frozen=True)
class TrackingAccess:
    """How the other stacks reach the environment's MLflow and which IAM statements authorize it.

    ``resource_arn`` is None for a plain http(s) tracking URI (a team's own server: no AWS IAM)."""

    tracking_uri: str
    kind: str  # "trackingServer" | "app" | "url"
    resource_arn: str | None

    def rest_statements(self, actions: tuple[str, ...], sid: str) -> list[iam.PolicyStatement]:
        """Statements authorizing MLflow REST calls: ``sagemaker-mlflow:<Api>`` on a tracking server,
        ``sagemaker:CallMlflowAppApi`` on an App (Service Authorization Reference)."""
        if self.resource_arn is None:
            return []
        if self.kind == "app":
            return [iam.PolicyStatement(sid=sid, actions=[APP_REST_ACTION], resources=[self.resource_arn])]
        return [iam.PolicyStatement(sid=sid, actions=sorted(actions), resources=[self.resource_arn])]

    def data_scientist_statements(self) -> list[iam.PolicyStatement]:
        """Track runs and register models on the server or app, and open its UI."""
        statements = self.rest_statements(
            tuple(a for a in DATA_SCIENTIST_ACTIONS if a != ACCESS_UI), "TrackExperimentsInMlflow"
        )
        if self.resource_arn is None:
            return statements
        if self.kind == "app":
            statements.append(
                iam.PolicyStatement(
                    sid="OpenMlflowUi",
                    actions=["sagemaker:CreatePresignedMlflowAppUrl", "sagemaker:DescribeMlflowApp"],
                    resources=[self.resource_arn],
                )
            )
        else:
            statements.append(
                iam.PolicyStatement(
                    sid="OpenMlflowUi",
                    actions=[
                        "sagemaker:CreatePresignedMlflowTrackingServerUrl",
                        "sagemaker:DescribeMlflowTrackingServer",
                    ],
                    resources=[self.resource_arn],
                )
            )
            # The Service Authorization Reference lists no resource type for AccessUI: only "*" grants
            # it; which server a person reaches is decided by the presigned URL scoped above.
            statements.append(iam.PolicyStatement(sid="MlflowUiAccess", actions=[ACCESS_UI], resources=["*"]))
        return statements


def tracking_access(
    stack: Stack, env_name: str, policy: MlflowPolicy | None, app_arn: str | None = None
) -> TrackingAccess | None:
    """The environment's MLflow as another stack sees it (the tracking server's ARN is derived from
    its deterministic name; an App's ARN carries its generated id and is passed in)."""
    if policy is None:
        return None
    if policy.kind == "trackingServer":
        arn = tracking_server_arn(stack.partition, stack.region, stack.account, constants.mlflow_name(env_name))
        return TrackingAccess(arn, "trackingServer", arn)
    if policy.kind == "app":
        if app_arn is None:
            raise ValueError("tracking_access: an MLflow App's ARN carries its id; pass app_arn")
        return TrackingAccess(app_arn, "app", app_arn)
    assert policy.tracking_uri is not None
    match = MLFLOW_ARN.match(policy.tracking_uri)
    if match:
        kind = "app" if match.group("type") == "mlflow-app" else "trackingServer"
        return TrackingAccess(policy.tracking_uri, kind, policy.tracking_uri)
    return TrackingAccess(policy.tracking_uri, "url", None)
