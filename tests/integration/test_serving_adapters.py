"""Serving adapters and handler on moto: CloudFormation parameters, endpoint weights, variant metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from serving.adapters import EndpointTraffic, VariantMetrics, metric_period

from mlops_registry.core.aws import reset_clients
from mlops_registry.core.errors import DeploymentError, InvalidEventError, ServingBusyError
from mlops_registry.core.serving_stacks import ServingStacks

REGION = "eu-west-1"
TEMPLATE = {
    "Parameters": {
        "ChampionPackageArn": {"Type": "String", "Default": ""},
        "ChallengerPackageArn": {"Type": "String", "Default": ""},
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        reset_clients()
        yield
    reset_clients()


def test_deploy_sets_the_target_and_keeps_every_other_parameter(aws: None) -> None:
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(
        StackName="serving",
        TemplateBody=json.dumps(TEMPLATE),
        Parameters=[{"ParameterKey": "ChampionPackageArn", "ParameterValue": "arn-v1"}],
    )
    stacks = ServingStacks()
    assert stacks.deploy("serving", {"ChallengerPackageArn": "arn-v2"}, "arn:aws:iam::123456789012:role/x-deploy")
    view = stacks.describe("serving")
    assert view.parameters == {"ChampionPackageArn": "arn-v1", "ChallengerPackageArn": "arn-v2"}
    assert view.serves({"ChallengerPackageArn": "arn-v2"}) and view.status == "UPDATE_COMPLETE"
    # a retry of the same deployment changes nothing and says so
    assert (
        stacks.deploy("serving", {"ChallengerPackageArn": "arn-v2"}, "arn:aws:iam::123456789012:role/x-deploy") is False
    )
    with pytest.raises(DeploymentError, match="no parameter"):
        stacks.deploy("serving", {"ModelPackageArn": "arn-v3"}, "role")
    with pytest.raises(DeploymentError, match="does not exist"):
        stacks.describe("missing")
    failure = stacks.failure("serving", datetime.now(UTC) - timedelta(minutes=5))
    assert failure["resource"] is None


def test_deploy_refuses_a_stack_that_is_mid_operation(aws: None) -> None:
    class Busy(ServingStacks):
        def describe(self, stack_name: str) -> Any:
            from mlops_registry.core.stacks import StackView

            return StackView(stack_name, "UPDATE_IN_PROGRESS", {"ModelPackageArn": ""})

    with pytest.raises(ServingBusyError, match="UPDATE_IN_PROGRESS"):
        Busy().deploy("serving", {"ModelPackageArn": "arn"}, "role")


def _endpoint(sm: Any) -> None:
    sm.create_model(
        ModelName="m1", ExecutionRoleArn="arn:aws:iam::123456789012:role/r", PrimaryContainer={"Image": "i"}
    )
    sm.create_endpoint_config(
        EndpointConfigName="c1",
        ProductionVariants=[
            {
                "VariantName": v,
                "ModelName": "m1",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": w,
            }
            for v, w in (("Champion", 0.8), ("Challenger", 0.2))
        ],
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="c1")


def test_set_weights_sends_all_traffic_to_the_winner(aws: None) -> None:
    _endpoint(boto3.client("sagemaker", region_name=REGION))
    traffic = EndpointTraffic()
    traffic.set_weights("ep", {"Champion": 0.0, "Challenger": 1.0})
    assert traffic.weights("ep") == {"Champion": 0.0, "Challenger": 1.0}


def test_variant_counts_sum_sagemaker_and_application_metrics_over_the_window(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    now = datetime.now(UTC)
    for variant, invocations, errors, conversions in (("Champion", 300, 1, 30), ("Challenger", 100, 0, 15)):
        dims = [{"Name": "EndpointName", "Value": "ep"}, {"Name": "VariantName", "Value": variant}]
        for minutes_ago in (1, 2):
            stamp = now - timedelta(minutes=minutes_ago)
            cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {"MetricName": "Invocations", "Dimensions": dims, "Value": invocations, "Timestamp": stamp},
                    {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Value": errors, "Timestamp": stamp},
                    {"MetricName": "ModelLatency", "Dimensions": dims, "Value": 42000, "Timestamp": stamp},
                ],
            )
            cloudwatch.put_metric_data(
                Namespace="MlopsRegistry/AbTest",
                MetricData=[
                    {"MetricName": "Conversions", "Dimensions": dims, "Value": conversions, "Timestamp": stamp}
                ],
            )
    counts = VariantMetrics().counts("ep", ["Champion", "Challenger"], "Conversions", now - timedelta(minutes=10), now)
    assert (counts["Champion"].invocations, counts["Champion"].successes, counts["Champion"].errors) == (600, 60, 2)
    assert (counts["Challenger"].invocations, counts["Challenger"].successes) == (200, 30)
    assert counts["Champion"].latency_ms == pytest.approx(42.0)
    # a window that starts and ends within one second still queries a valid range
    assert VariantMetrics().counts("ep", ["Champion"], "Conversions", now, now)["Champion"].invocations >= 0


def test_metric_period_follows_cloudwatch_retention() -> None:
    assert metric_period(timedelta(hours=3)) == 60
    assert metric_period(timedelta(days=7)) == 300
    assert metric_period(timedelta(days=30)) == 3600


def test_handler_environment_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from serving import settings

    monkeypatch.setenv("ENV_NAME", "dev")
    monkeypatch.setenv("LOCKS_TABLE", "locks")
    monkeypatch.setenv("DEPLOY_ROLE_ARN_PREFIX", "not-an-arn")
    with pytest.raises(InvalidEventError, match="DEPLOY_ROLE_ARN_PREFIX"):
        settings.load()


@pytest.mark.parametrize(
    ("group", "actor", "reason", "field"), [("g", " ", "r", "actor"), ("", "a", "r", "group"), ("g", "a", "", "reason")]
)
def test_rollback_input_errors_name_the_field(group: str, actor: str, reason: str, field: str) -> None:
    from mlops_registry.core.rollback import rollback_group

    with pytest.raises(InvalidEventError, match=f"{field}: required"):
        rollback_group(group, actor, reason, ports=None)  # type: ignore[arg-type]  # refused before any port is used
