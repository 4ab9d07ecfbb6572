"""Serving stacks: guardrails within SageMaker's ranges, alarms wired to auto-rollback, stable variant
names, encrypted data capture, scoped IAM, and the deployment states in the promotion state machine."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra import constants
from infra.config import load_config
from infra.constructs.promotion_pipeline import TRANSIENT_ERRORS
from infra.stacks.registry_stack import RegistryStack
from infra.stacks.serving_stack import ServingStack
from mlops_registry.core import contracts
from mlops_registry.core import serving_names as names
from mlops_registry.core.config import ConfigError
from tests.conftest import cdk_context

pytestmark = pytest.mark.cdk  # builds CDK constructs in this process (tests/conftest.py)

# SageMaker's documented ranges (UpdateEndpoint API reference: BlueGreenUpdatePolicy,
# TrafficRoutingConfig), written here from the reference rather than imported from the schema.
WAIT_INTERVAL_RANGE = (0, 3600)
TERMINATION_WAIT_RANGE = (0, 3600)
MAX_EXECUTION_TIMEOUT_RANGE = (600, 28800)


def _serving_templates(context: dict[str, Any], env_name: str) -> dict[str, dict[str, Any]]:
    config = load_config(context, env_name)
    app = App()
    registry = RegistryStack(app, "Registry", config=config)
    stacks = {
        g.name: ServingStack(app, f"Serving-{g.name}", config=config, group=g, registry=registry) for g in config.groups
    }
    return {name: Template.from_stack(stack).to_json() for name, stack in stacks.items()}


def _resources(template: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == rtype]


@pytest.fixture(scope="module")
def shipped(
    synthesized: Any, synthesized_staging: Any, synthesized_prod: Any
) -> dict[str, tuple[Any, dict[str, dict[str, Any]]]]:
    """Each shipped environment's config and its serving templates by group, from the whole app."""
    apps = {"dev": synthesized, "staging": synthesized_staging, "prod": synthesized_prod}
    return {
        env: (app.config, {g.name: app.template(f"Serving-{g.name}") for g in app.config.groups})
        for env, app in apps.items()
    }


def test_blue_green_deployment_config_is_within_sagemakers_ranges_for_every_shipped_config(shipped: Any) -> None:
    checked = 0
    for env, (config, templates) in shipped.items():
        for group in config.groups:
            (endpoint,) = _resources(templates[group.name], "AWS::SageMaker::Endpoint")
            policy = endpoint["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
            routing = policy["TrafficRoutingConfiguration"]
            assert WAIT_INTERVAL_RANGE[0] <= routing["WaitIntervalInSeconds"] <= WAIT_INTERVAL_RANGE[1]
            assert TERMINATION_WAIT_RANGE[0] <= policy["TerminationWaitInSeconds"] <= TERMINATION_WAIT_RANGE[1]
            timeout = policy["MaximumExecutionTimeoutInSeconds"]
            assert MAX_EXECUTION_TIMEOUT_RANGE[0] <= timeout <= MAX_EXECUTION_TIMEOUT_RANGE[1]
            bg = group.deployment.blue_green
            if group.deployment.mode == "blue_green":
                assert routing["Type"] == bg.traffic_routing.upper()
                size = routing["CanarySize"] if bg.traffic_routing == "canary" else routing["LinearStepSize"]
                assert size["Type"] == "CAPACITY_PERCENT" and 1 <= size["Value"] <= 50
                steps = 1 if bg.traffic_routing == "canary" else -(-100 // bg.linear_step_percent)
            else:
                assert routing["Type"] == "ALL_AT_ONCE"
                steps = 1
            assert timeout > steps * routing["WaitIntervalInSeconds"] + policy["TerminationWaitInSeconds"], (
                env,
                group.name,
            )
            checked += 1
    assert checked == 9


def test_every_guardrail_alarm_is_wired_into_auto_rollback(shipped: Any) -> None:
    config, templates = shipped["prod"]
    for group in config.groups:
        template = templates[group.name]
        alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in _resources(template, "AWS::CloudWatch::Alarm")}
        (endpoint,) = _resources(template, "AWS::SageMaker::Endpoint")
        wired = [
            a["AlarmName"] for a in endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
        ]
        assert sorted(wired) == sorted(alarms)
        variants = ("Primary",) if group.deployment.mode == "blue_green" else ("Champion", "Challenger")
        bg = group.deployment.blue_green
        for variant in variants:
            errors = alarms[names.guardrail_alarm_name("prod", group.name, variant, "5xx")]
            latency = alarms[names.guardrail_alarm_name("prod", group.name, variant, "latency")]
            dims = [
                {"Name": "EndpointName", "Value": constants.endpoint_name("prod", group.name)},
                {"Name": "VariantName", "Value": variant},
            ]
            assert (errors["MetricName"], errors["Statistic"], errors["Threshold"], errors["Dimensions"]) == (
                "Invocation5XXErrors",
                "Sum",
                bg.error_5xx_threshold,
                dims,
            )
            assert (latency["MetricName"], latency["Statistic"], latency["Threshold"]) == (
                "ModelLatency",
                "Average",
                bg.latency_threshold_ms * 1000,
            )
            assert latency["TreatMissingData"] == "notBreaching" and latency["AlarmActions"]
        depends = endpoint.get("DependsOn", [])
        assert len([d for d in depends if "Alarm" in d]) == len(alarms)  # alarms exist before any update


def test_alarms_the_group_names_are_added_to_auto_rollback() -> None:
    context = copy.deepcopy(cdk_context())
    group = context["registry"]["groups"][0]
    group["deployment"]["blueGreen"]["extraAlarmNames"] = ["churn-business-kpi-drop"]
    templates = _serving_templates(context, "dev")
    template = templates[group["name"]]
    (endpoint,) = _resources(template, "AWS::SageMaker::Endpoint")
    wired = [a["AlarmName"] for a in endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    assert "churn-business-kpi-drop" in wired and len(wired) == 3
    assert "alarm:churn-business-kpi-drop" in json.dumps(template)  # the deploy role may describe it


def test_variant_names_are_literal_and_stable_across_versions(synthesized: Any) -> None:
    for group in synthesized.config.groups:
        template = synthesized.template(f"Serving-{group.name}")
        (config,) = _resources(template, "AWS::SageMaker::EndpointConfig")
        variants = config["Properties"]["ProductionVariants"]
        literal = [v["VariantName"] for v in variants if "VariantName" in v]
        conditional = [v["Fn::If"][1]["VariantName"] for v in variants if "Fn::If" in v]
        if group.deployment.mode == "blue_green":
            assert literal == [contracts.VARIANT_PRIMARY] and not conditional
        else:
            assert literal == [contracts.VARIANT_CHAMPION] and conditional == [contracts.VARIANT_CHALLENGER]
        (endpoint,) = _resources(template, "AWS::SageMaker::Endpoint")
        assert endpoint["Properties"]["EndpointName"] == constants.endpoint_name("dev", group.name)
        # what changes per version is the model package parameter, nothing else
        models = _resources(template, "AWS::SageMaker::Model")
        assert all(set(m["Properties"]["PrimaryContainer"]["ModelPackageName"]) == {"Ref"} for m in models)
        assert all(m.get("Condition") for m in models) and endpoint.get("Condition")


def test_data_capture_and_endpoint_storage_are_encrypted_with_the_registry_key(synthesized: Any) -> None:
    for group in synthesized.config.groups:
        template = synthesized.template(f"Serving-{group.name}")
        (config,) = _resources(template, "AWS::SageMaker::EndpointConfig")
        capture = config["Properties"]["DataCaptureConfig"]
        key = config["Properties"]["KmsKeyId"]
        assert "Fn::ImportValue" in key and "EncryptionInternalKey" in key["Fn::ImportValue"]
        assert capture["KmsKeyId"] == key and capture["EnableCapture"] is True
        destination = json.dumps(capture["DestinationS3Uri"])
        assert "-artifacts-" in destination and destination.endswith(f'/{contracts.DATA_CAPTURE_PREFIX}"]]}}')
        assert capture["InitialSamplingPercentage"] == group.deployment.data_capture_percent
        assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}


def test_deploy_role_is_scoped_to_the_groups_endpoint_and_models(synthesized: Any) -> None:
    for group in synthesized.config.groups:
        template = synthesized.template(f"Serving-{group.name}")
        role = template["Resources"]
        deploy = next(
            r
            for r in role.values()
            if r["Type"] == "AWS::IAM::Role"
            and r["Properties"].get("RoleName") == names.deploy_role_name("dev", group.name)
        )
        assert deploy["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "cloudformation.amazonaws.com"
        }
        statements = [
            s
            for p in _resources(template, "AWS::IAM::Policy")
            if "DeployRole" in json.dumps(p["Properties"]["Roles"])
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        by_sid = {s["Sid"]: s for s in statements}
        endpoint = constants.endpoint_name("dev", group.name)
        assert json.dumps(by_sid["GroupEndpoint"]["Resource"]).count(f":endpoint/{endpoint}") == 1
        assert f"model/{names.resource_base('dev', group.name)}-*" in json.dumps(by_sid["GroupModels"]["Resource"])
        assert by_sid["GuardrailAlarms"]["Action"] == "cloudwatch:DescribeAlarms"
        assert by_sid["PassExecutionRole"]["Condition"] == {
            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
        }
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions)
            if statement["Resource"] == "*":
                assert statement["Sid"] == "EndpointAutoscaling"


def test_the_deployment_function_updates_stacks_only_through_their_deploy_roles(synthesized: Any) -> None:
    template = synthesized.template("Promotion")
    statements = [
        s
        for p in _resources(template, "AWS::IAM::Policy")
        if "DeploymentFunction" in json.dumps(p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    updates = [s for s in statements if s["Action"] == "cloudformation:UpdateStack"]
    assert len(updates) == len(synthesized.config.groups)
    for statement in updates:
        assert "cloudformation:RoleArn" in statement["Condition"]["StringEquals"]
        assert "-deploy" in json.dumps(statement["Condition"])
    (passrole,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}


def test_the_state_machine_deploys_with_waits_retries_and_catches(synthesized: Any) -> None:
    template = synthesized.template("Promotion")
    (machine,) = _resources(template, "AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    rendered = "".join(p if isinstance(p, str) else "ARN" for p in parts)
    definition = json.loads(rendered)
    states = definition["States"]
    assert states["NotSuperseded?"]["Choices"][0]["Next"] == "StartDeployment"
    for name in ("StartDeployment", "CheckDeployment", "EvaluateAbTest"):
        state = states[name]
        assert state["Next"] == "DeploymentNextStep?" and state["ResultPath"] == "$.deployment"
        assert state["Retry"][0]["ErrorEquals"] == TRANSIENT_ERRORS
        assert state["Retry"][1]["ErrorEquals"] == ["ServingBusyError"]
        assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RestoreChampion"}]
    for wait in ("WaitForDeployment", "WaitForEvaluation"):
        assert states[wait]["SecondsPath"] == "$.deployment.wait_seconds"
    route = states["DeploymentNextStep?"]
    assert {c["Next"] for c in route["Choices"]} == {"WaitForDeployment", "WaitForEvaluation", "PromoteToProduction"}
    assert route["Default"] == "RejectVersion"
    # the execution may outlive the longest A/B test plus the approval window
    ab_hours = max(g.deployment.ab_test.max_duration_hours for g in synthesized.config.groups)
    assert definition.get("TimeoutSeconds", 0) > (synthesized.config.approval_timeout_hours + ab_hours) * 3600


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"trafficRouting": "linear", "linearStepPercent": 5}, ".linearStepPercent", "greater than or equal to 10"),
        (
            {"waitIntervalSeconds": 3600, "terminationWaitSeconds": 3600, "maximumExecutionTimeoutSeconds": 3600},
            "",
            "maximumExecutionTimeoutSeconds .3600. must exceed the total waiting time",
        ),
    ],
)
def test_guardrail_settings_sagemaker_would_refuse_fail_synth_naming_the_key(
    change: dict[str, Any], key: str, message: str
) -> None:
    context = copy.deepcopy(cdk_context())
    context["registry"]["groups"][0]["deployment"]["blueGreen"].update(change)
    with pytest.raises(ConfigError, match=f"blueGreen{key}'.*{message}"):
        _serving_templates(context, "dev")
