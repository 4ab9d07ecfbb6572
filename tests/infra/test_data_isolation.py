"""Data isolation: what registry-reader accounts can reach, which key protects what, and how every key
grant is scoped. Asserted on the staging environment, whose account and region are concrete, so the
ARNs and conditions below are the literal strings IAM will evaluate."""

from __future__ import annotations

import json
from typing import Any

import pytest

REGION = "eu-west-1"
ACCOUNT = "222222222222"  # staging (cdk.json)
READER = "333333333333"  # staging's registry-reader account (cdk.json)


def _resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def registry(synthesized_staging: Any) -> dict[str, Any]:
    return dict(synthesized_staging.template("Registry"))


@pytest.fixture(scope="module")
def keys(registry: dict[str, Any]) -> dict[str, str]:
    """alias suffix ('artifacts' / 'internal') -> the key's logical id."""
    found = {}
    for alias in _resources(registry, "AWS::KMS::Alias").values():
        name = alias["Properties"]["AliasName"]
        found[name.rsplit("-", 1)[1]] = alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
    return found


def _bucket(registry: dict[str, Any], fragment: str) -> tuple[str, dict[str, Any]]:
    matches = [
        (logical, body)
        for logical, body in _resources(registry, "AWS::S3::Bucket").items()
        if fragment in json.dumps(body["Properties"].get("BucketName", ""))
    ]
    assert len(matches) == 1, matches
    return matches[0]


def _key_of_bucket(body: dict[str, Any]) -> str:
    rule = body["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["BucketKeyEnabled"] is True
    return str(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0])


def test_two_rotated_customer_managed_keys_one_shareable_one_internal(registry: dict[str, Any], keys: Any) -> None:
    # Given the registry stack, When its keys are listed, Then there are exactly two, both rotated and retained
    assert set(keys) == {"artifacts", "internal"}
    for logical in keys.values():
        key = registry["Resources"][logical]
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"


def test_models_bucket_uses_the_artifacts_key_and_everything_internal_the_internal_key(
    synthesized_staging: Any, registry: dict[str, Any], keys: dict[str, str]
) -> None:
    _, models = _bucket(registry, "-models-")
    _, internal = _bucket(registry, "-artifacts-")
    assert _key_of_bucket(models) == keys["artifacts"]
    assert _key_of_bucket(internal) == keys["internal"]
    for table in _resources(registry, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0] == keys["internal"]
    for topic in _resources(registry, "AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0] == keys["internal"]
    # Every other stack imports only the internal key for its tables, queues and log groups.
    artifacts_export = f"{keys['artifacts']}"
    for name, template in synthesized_staging.templates.items():
        if name.endswith("Registry"):
            continue
        for rtype, prop in (
            ("AWS::DynamoDB::Table", "SSESpecification"),
            ("AWS::SQS::Queue", "KmsMasterKeyId"),
            ("AWS::Logs::LogGroup", "KmsKeyId"),
        ):
            for body in _resources(template, rtype).values():
                assert artifacts_export not in json.dumps(body["Properties"].get(prop)), (name, rtype)


def test_reader_accounts_read_only_the_models_bucket(registry: dict[str, Any]) -> None:
    models_id, _ = _bucket(registry, "-models-")
    internal_id, _ = _bucket(registry, "-artifacts-")
    policies = {
        body["Properties"]["Bucket"]["Ref"]: body["Properties"]["PolicyDocument"]["Statement"]
        for body in _resources(registry, "AWS::S3::BucketPolicy").values()
    }
    # The internal bucket (reports, baselines, datacapture/) names no principal outside the account.
    assert READER not in json.dumps(policies[internal_id])
    reader_statements = [s for s in policies[models_id] if READER in json.dumps(s.get("Principal", {}))]
    assert len(reader_statements) == 1
    statement = reader_statements[0]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [models_id, "Arn"]}, "/*"]]}
    assert "Condition" not in statement or statement["Condition"] == {}


def test_reader_accounts_decrypt_only_through_s3_for_the_models_bucket(
    registry: dict[str, Any], keys: dict[str, str]
) -> None:
    models_id, _ = _bucket(registry, "-models-")
    artifacts_policy = registry["Resources"][keys["artifacts"]]["Properties"]["KeyPolicy"]["Statement"]
    internal_policy = registry["Resources"][keys["internal"]]["Properties"]["KeyPolicy"]["Statement"]
    assert READER not in json.dumps(internal_policy)
    reader = [s for s in artifacts_policy if READER in json.dumps(s["Principal"])]
    assert len(reader) == 1
    assert reader[0]["Action"] == "kms:Decrypt"
    assert reader[0]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [f"s3.{REGION}.amazonaws.com"],
            "kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::mlops-registry-staging-models-{ACCOUNT}-{REGION}"],
        }
    }


def test_reader_accounts_get_registry_read_only_on_their_groups(registry: dict[str, Any]) -> None:
    for group in _resources(registry, "AWS::SageMaker::ModelPackageGroup").values():
        (statement,) = group["Properties"]["ModelPackageGroupPolicy"]["Statement"]
        assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{READER}:root"]}
        assert all(a.startswith(("sagemaker:Describe", "sagemaker:List")) for a in statement["Action"])


def _identity_statements(synthesized: Any) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name, template in synthesized.templates.items():
        for logical, body in template["Resources"].items():
            if body["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                for statement in _as_list(body["Properties"]["PolicyDocument"]["Statement"]):
                    found.append((name, logical, statement))
    return found


def test_every_key_grant_names_its_actions_and_is_scoped_by_kms_via_service(synthesized_staging: Any) -> None:
    # Given every identity policy of every stack
    kms_statements = [
        (stack, logical, s)
        for stack, logical, s in _identity_statements(synthesized_staging)
        if any(str(a).startswith("kms:") for a in _as_list(s["Action"]))
    ]
    assert kms_statements
    for stack, logical, statement in kms_statements:
        where = f"{stack}/{logical}: {json.dumps(statement)[:300]}"
        # Then no KMS action is a wildcard
        assert all("*" not in a for a in _as_list(statement["Action"])), where
        # And each names the services that may use the key on the role's behalf, in this region
        services = _as_list(statement["Condition"]["StringEquals"]["kms:ViaService"])
        assert services and all(s.endswith(f".{REGION}.amazonaws.com") for s in services), where


def test_s3_key_grants_carry_the_bucket_encryption_context(synthesized_staging: Any) -> None:
    for stack, logical, statement in _identity_statements(synthesized_staging):
        if not any(str(a).startswith("kms:") for a in _as_list(statement["Action"])):
            continue
        equals = statement["Condition"]["StringEquals"]
        if f"s3.{REGION}.amazonaws.com" in _as_list(equals["kms:ViaService"]):
            assert "kms:EncryptionContext:aws:s3:arn" in equals, f"{stack}/{logical}"


def test_no_identity_policy_grants_the_artifacts_key_beyond_reading_models(
    synthesized_staging: Any, keys: dict[str, str]
) -> None:
    # Only serving execution roles use the artifacts key, to decrypt model artifacts through S3.
    export_fragment = keys["artifacts"]
    for stack, logical, statement in _identity_statements(synthesized_staging):
        if export_fragment in json.dumps(statement.get("Resource")):
            assert _as_list(statement["Action"]) == ["kms:Decrypt"], f"{stack}/{logical}"
            assert "models" in json.dumps(statement["Condition"]), f"{stack}/{logical}"


def test_serving_models_run_network_isolated(synthesized_staging: Any) -> None:
    models = [
        (name, body)
        for name, template in synthesized_staging.templates.items()
        for body in _resources(template, "AWS::SageMaker::Model").values()
    ]
    assert models
    for name, body in models:
        assert body["Properties"].get("EnableNetworkIsolation") is True, name


def test_serving_execution_roles_read_models_and_write_capture_only(synthesized_staging: Any) -> None:
    for name, template in synthesized_staging.templates.items():
        if "Serving-" not in name:
            continue
        group = name.split("Serving-", 1)[1]
        statements = {
            s.get("Sid"): s
            for body in _resources(template, "AWS::IAM::Policy").values()
            if "ExecutionRole" in json.dumps(body["Properties"]["Roles"])
            for s in _as_list(body["Properties"]["PolicyDocument"]["Statement"])
        }
        read = statements["ReadGroupArtifacts"]
        assert read["Action"] == "s3:GetObject"
        assert read["Resource"] == f"arn:aws:s3:::mlops-registry-staging-models-{ACCOUNT}-{REGION}/{group}/*"
        capture = statements["WriteDataCapture"]
        assert capture["Action"] == "s3:PutObject"
        assert "/datacapture/" in capture["Resource"] and "-artifacts-" in capture["Resource"]
        assert statements["ModelArtifactsKey"]["Action"] == "kms:Decrypt"
        assert statements["DataCaptureKey"]["Action"] == "kms:GenerateDataKey"
