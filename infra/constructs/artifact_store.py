"""``ArtifactStore``: the registry's two buckets (KMS, versioned, TLS-only, access-logged, retained).

- ``models`` holds what a consuming account needs to deploy a version: the model artifacts
  (``<group>/.../model.tar.gz``), encrypted with the shareable artifacts key. Registry-reader
  accounts may read its objects and decrypt them, only through S3 in this region and only for this
  bucket (bucket keys make the bucket ARN the ``aws:s3:arn`` encryption context).
- ``bucket`` (internal) holds everything else: gate reports, feature baselines, data capture
  (``datacapture/``). Encrypted with the internal key; no principal outside the account is named.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, FeatureFlags, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants
from infra.constructs.encryption import via

LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
READER_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"]


class ArtifactStore(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        artifacts_key: kms.IKey,
        reader_accounts: Sequence[str],
        bucket_name: str,
        models_bucket_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        # Server access logs cannot be delivered to a KMS-encrypted bucket: the log bucket uses SSE-S3.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            # With the bucket-policy delivery flag (cdk.json) ACLs stay disabled; without it S3 log
            # delivery needs the LogDeliveryWrite ACL and therefore ObjectWriter ownership.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
            if FeatureFlags.of(self).is_enabled(LOGS_USE_BUCKET_POLICY)
            else s3.ObjectOwnership.OBJECT_WRITER,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=constants.ACCESS_LOG_EXPIRATION)],
        )
        Validations.of(self.access_logs).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1", reason="This is the access-log bucket; logging it to itself would loop."
            )
        )
        self.models_bucket_name = models_bucket_name
        self.bucket = self._bucket("Artifacts", bucket_name, key, "artifacts/")
        self.models = self._bucket("Models", models_bucket_name, artifacts_key, "models/")
        if reader_accounts:
            self._share_models(artifacts_key, reader_accounts)

    def _bucket(self, construct_id: str, name: str, key: kms.IKey, log_prefix: str) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            bucket_name=name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=log_prefix,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=constants.ARTIFACT_NONCURRENT_VERSION_EXPIRATION)
            ],
        )

    def _share_models(self, artifacts_key: kms.IKey, reader_accounts: Sequence[str]) -> None:
        readers = [iam.AccountPrincipal(account) for account in reader_accounts]
        self.models.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CrossAccountModelArtifactRead",
                principals=readers,
                actions=READER_OBJECT_ACTIONS,
                resources=[self.models.arn_for_objects("*")],
            )
        )
        # The bucket's ARN from its deterministic name: a GetAtt would make key and bucket depend on each other.
        stack = Stack.of(self)
        conditions = via(stack, "s3")
        conditions["StringEquals"]["kms:EncryptionContext:aws:s3:arn"] = [
            f"arn:{stack.partition}:s3:::{self.models_bucket_name}"
        ]
        artifacts_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CrossAccountModelArtifactDecrypt",
                principals=readers,
                actions=["kms:Decrypt"],
                resources=["*"],
                conditions=conditions,
            )
        )
