"""The metrics the drift Lambda publishes are exactly the ones the synthesized alarms reference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import numpy as np
import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sns as sns
from monitoring import drift_handler
from monitoring.capture import capture_line
from monitoring.performance import MODEL_QUALITY_NAMESPACE
from moto import mock_aws

from infra import constants
from infra.config import GroupPolicy, load_config
from infra.constructs.drift_alarms import DriftAlarms
from infra.stacks.monitoring_stack import run_request
from mlops_registry.core import aws, contracts
from mlops_registry.core.baseline import build_feature_baseline, drift_check_baselines, with_performance_baseline
from offline.harness.emulator import sagemaker_extensions
from offline.harness.runtime import LambdaContext
from tests.conftest import cdk_context

pytestmark = pytest.mark.cdk  # builds CDK constructs in this process (tests/conftest.py)

REGION = "eu-west-1"
BUCKET = "captures"
WINDOW_END = datetime(2026, 1, 31, 11, 0, tzinfo=UTC)
CATEGORICAL = {"price_bucket", "device_type"}

MetricKey = tuple[str, str, frozenset[tuple[str, str]]]


@pytest.fixture(scope="module")
def ab_group() -> GroupPolicy:
    config = load_config(cdk_context(), "dev")
    return next(g for g in config.groups if g.deployment.mode == "ab_test")


@pytest.fixture(scope="module")
def alarm_metrics(ab_group: GroupPolicy) -> set[MetricKey]:
    """(namespace, metric, dimensions) of every metric the group's synthesized alarms read."""
    app = App()
    stack = Stack(app, "Contract")
    DriftAlarms(
        stack,
        "Alarms",
        group=ab_group,
        endpoint_name=constants.endpoint_name("dev", ab_group.name),
        topic=sns.Topic(stack, "Topic"),
    )
    template = app.synth().get_stack_by_name("Contract").template
    found: set[MetricKey] = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = resource["Properties"]
        metrics = [q["MetricStat"]["Metric"] for q in properties.get("Metrics", []) if "MetricStat" in q]
        if "MetricName" in properties:
            metrics.append(properties)
        for metric in metrics:
            dimensions = frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            found.add((metric["Namespace"], metric["MetricName"], dimensions))
    return found


def _training(group: GroupPolicy) -> dict[str, list[Any]]:
    rng = np.random.default_rng(8)
    return {
        feature: list(rng.choice(["a", "b", "c"], 500)) if feature in CATEGORICAL else list(rng.normal(0, 1, 500))
        for feature in group.features
    }


@pytest.fixture(scope="module")
def published(ab_group: GroupPolicy) -> Iterator[set[MetricKey]]:
    """(namespace, metric, dimensions) of every metric one drift run of the group publishes."""
    endpoint = constants.endpoint_name("dev", ab_group.name)
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws(), sagemaker_extensions():
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        monkeypatch.setenv("CAPTURE_BUCKET", BUCKET)
        monkeypatch.setenv("DRIFT_NAMESPACE", contracts.DRIFT_METRICS_NAMESPACE)
        aws.reset_clients()
        drift_handler.ports.cache_clear()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        baseline = with_performance_baseline(
            build_feature_baseline(_training(ab_group)),
            {"ModelLatency": 1000.0, "Invocation5XXErrors": 0.01, "ndcg_at_10": 0.4},
        )
        s3.put_object(Bucket=BUCKET, Key="baselines/ranker/1/feature-baseline.json", Body=json.dumps(baseline).encode())
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model_package_group(ModelPackageGroupName=ab_group.name)
        sagemaker.create_model_package(
            ModelPackageGroupName=ab_group.name,
            ModelApprovalStatus="Approved",
            ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved"},
            DriftCheckBaselines=drift_check_baselines(f"s3://{BUCKET}/baselines/ranker/1/feature-baseline.json"),
        )
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        rng = np.random.default_rng(9)
        for variant in (contracts.VARIANT_CHAMPION, contracts.VARIANT_CHALLENGER):
            rows = [
                ",".join(
                    str(rng.choice(["a", "b"])) if f in CATEGORICAL else f"{rng.normal():.4f}"
                    for f in ab_group.features
                )
                for _ in range(300)
            ]
            at = WINDOW_END - timedelta(minutes=10)
            body = "\n".join(capture_line(row, inference_time=at) for row in rows)
            s3.put_object(
                Bucket=BUCKET, Key=f"datacapture/{endpoint}/{variant}/2026/01/31/10/a.jsonl", Body=body.encode()
            )
            dims = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
            cloudwatch.put_metric_data(
                Namespace="AWS/SageMaker",
                MetricData=[
                    {"MetricName": "ModelLatency", "Dimensions": dims, "Timestamp": at, "Value": 1100.0},
                    {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at, "Value": 100.0},
                    {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Timestamp": at, "Value": 1.0},
                ],
            )
            cloudwatch.put_metric_data(  # the team's model-quality metric from delayed ground truth
                Namespace=MODEL_QUALITY_NAMESPACE,
                MetricData=[{"MetricName": "ndcg_at_10", "Dimensions": dims, "Timestamp": at, "Value": 0.38}],
            )
        event = {**run_request("dev", ab_group), "windowEnd": WINDOW_END.isoformat()}
        drift_handler.handler(event, LambdaContext("drift", 2048, 600))
        keys: set[MetricKey] = set()
        for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=contracts.DRIFT_METRICS_NAMESPACE):
            for metric in page["Metrics"]:
                dimensions = frozenset((d["Name"], d["Value"]) for d in metric["Dimensions"])
                keys.add((contracts.DRIFT_METRICS_NAMESPACE, metric["MetricName"], dimensions))
        yield keys
        drift_handler.ports.cache_clear()
        aws.reset_clients()


def test_drift_every_alarm_metric_is_published_under_the_same_name(
    alarm_metrics: set[MetricKey], published: set[MetricKey], ab_group: GroupPolicy
) -> None:
    drift_alarm_metrics = {m for m in alarm_metrics if m[0] == contracts.DRIFT_METRICS_NAMESPACE}
    missing = drift_alarm_metrics - published
    # KS is not defined for categories: the KS alarms of categorical features stay OK (missing data is
    # not breaching). Nothing else may be missing.
    assert {(name, dict(dims)["FeatureName"]) for _, name, dims in missing} == {
        ("FeatureKS", feature) for feature in CATEGORICAL
    } and all(len(dims) == 3 for _, _, dims in missing)
    # 2 variants x (PSI+KS per feature + each configured performance metric)
    assert len(drift_alarm_metrics) == 2 * (2 * 5 + len(ab_group.monitoring.performance_metrics))


def test_drift_every_published_statistic_has_an_alarm(alarm_metrics: set[MetricKey], published: set[MetricKey]) -> None:
    statistics = {m for m in published if m[1] in ("FeaturePSI", "FeatureKS", "PerformanceDrift")}
    assert statistics and statistics <= alarm_metrics
