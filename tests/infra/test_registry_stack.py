"""Fine-grained assertions on the registry stack (encryption, rotation, PITR, TLS-only, policies)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

pytestmark = pytest.mark.cdk  # builds CDK constructs in this process (tests/conftest.py)


def _registry(synthesized: Any) -> Template:
    return Template.from_json(synthesized.template("Registry"))


def test_kms_key_has_rotation_and_is_retained(synthesized: Any) -> None:
    template = _registry(synthesized)
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {"EnableKeyRotation": True},
            "DeletionPolicy": "Retain",
        },
    )


def test_every_configured_group_exists_with_reader_policy(synthesized: Any) -> None:
    template = _registry(synthesized)
    groups = template.find_resources("AWS::SageMaker::ModelPackageGroup")
    by_name = {g["Properties"]["ModelPackageGroupName"]: g for g in groups.values()}
    assert set(by_name) == {g.name for g in synthesized.config.groups}
    readers = synthesized.config.registry_reader_accounts
    assert readers, "the dev example config names reader accounts"
    for group in by_name.values():
        assert group["DeletionPolicy"] == "Retain"
        policy = group["Properties"]["ModelPackageGroupPolicy"]
        statement = policy["Statement"][0]
        principals = json.dumps(statement["Principal"])
        for account in readers:
            assert f"iam::{account}:root" in principals
        assert set(statement["Action"]) == {
            "sagemaker:DescribeModelPackageGroup",
            "sagemaker:DescribeModelPackage",
            "sagemaker:ListModelPackages",
        }


def test_artifact_bucket_is_kms_versioned_private_logged_and_retained(synthesized: Any) -> None:
    template = _registry(synthesized)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": Match.any_value(),
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "LoggingConfiguration": {"DestinationBucketName": Match.any_value(), "LogFilePrefix": "artifacts/"},
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_every_bucket_policy_denies_insecure_transport(synthesized: Any) -> None:
    template = _registry(synthesized)
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 3  # access logs, internal artifacts, models
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )


def test_models_bucket_grants_reader_accounts_get_object(synthesized: Any) -> None:
    template = _registry(synthesized)
    policies = json.dumps(template.find_resources("AWS::S3::BucketPolicy"))
    for account in synthesized.config.registry_reader_accounts:
        assert f":iam::{account}:root" in policies
    assert "CrossAccountModelArtifactRead" in policies


def test_ledger_table_keys_pitr_kms_and_retention(synthesized: Any) -> None:
    template = _registry(synthesized)
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "group_name", "KeyType": "HASH"},
                    {"AttributeName": "entry_id", "KeyType": "RANGE"},
                ],
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": Match.any_value()},
                "DeletionProtectionEnabled": True,
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "ByStageEntry",
                        "KeySchema": [
                            {"AttributeName": "stage_key", "KeyType": "HASH"},
                            {"AttributeName": "at", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_topic_is_kms_encrypted_and_tls_only(synthesized: Any) -> None:
    template = _registry(synthesized)
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )
    emails = {s["Properties"]["Endpoint"] for s in template.find_resources("AWS::SNS::Subscription").values()}
    assert emails == set(synthesized.config.review_board_emails)
