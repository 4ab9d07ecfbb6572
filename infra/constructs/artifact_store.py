"""``ArtifactStore``: the model-artifacts bucket (KMS, versioned, TLS-only, access-logged, retained)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, FeatureFlags, RemovalPolicy, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants

LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


class ArtifactStore(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, reader_accounts: Sequence[str], bucket_name: str
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
        self.bucket = s3.Bucket(
            self,
            "Artifacts",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(noncurrent_version_expiration=constants.ARTIFACT_NONCURRENT_VERSION_EXPIRATION)
            ],
        )
        if reader_accounts:
            readers = [iam.AccountPrincipal(account) for account in reader_accounts]
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CrossAccountArtifactRead",
                    principals=readers,
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[self.bucket.arn_for_objects("*")],
                )
            )
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CrossAccountArtifactDecrypt",
                    principals=readers,
                    actions=["kms:Decrypt", "kms:DescribeKey"],
                    resources=["*"],
                )
            )
