"""The drift Lambda on moto: capture objects in S3 -> metrics in CloudWatch -> ModelDriftDetected event."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import numpy as np
import pytest
from monitoring import drift_handler
from monitoring.adapters import (
    CloudWatchMetricSink,
    CloudWatchPerformanceSource,
    S3CaptureSource,
    SageMakerServingVersions,
)
from monitoring.capture import capture_line
from monitoring.service import MetricDatum
from moto import mock_aws

from mlops_registry.core import aws, contracts
from mlops_registry.core.baseline import baseline_s3_key, build_feature_baseline, drift_check_baselines
from offline.harness.emulator import sagemaker_extensions
from offline.harness.runtime import LambdaContext

REGION = "eu-west-1"
BUCKET = "mlops-registry-dev-artifacts-123456789012-eu-west-1"
GROUP = "churn-classifier"
ENDPOINT = "mlops-registry-dev-churn-classifier"
FEATURES = ["tenure_months", "monthly_charges", "contract_type"]
NAMESPACE = "MlopsRegistry/Drift"
WINDOW_END = datetime(2026, 1, 31, 11, 0, tzinfo=UTC)


@dataclass
class Environment:
    s3: Any
    cloudwatch: Any
    sagemaker: Any
    sqs: Any
    queue_url: str
    production_arn: str


def _training() -> dict[str, list[Any]]:
    rng = np.random.default_rng(21)
    return {
        "tenure_months": list(rng.integers(1, 72, 3_000).astype(float)),
        "monthly_charges": list(np.round(rng.normal(65, 20, 3_000), 2)),
        "contract_type": list(rng.choice(["monthly", "one-year", "two-year"], 3_000, p=[0.5, 0.3, 0.2])),
    }


def _register(
    sagemaker: Any, s3: Any, version: int, stage: str, document: dict[str, Any] | None, approval: str | None = None
) -> str:
    arguments: dict[str, Any] = {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": approval or ("Approved" if stage == "Production" else "PendingManualApproval"),
        "ModelPackageDescription": stage,
        "InferenceSpecification": {
            "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelLifeCycle": {"Stage": stage, "StageStatus": "Approved"},
    }
    if document is not None:
        # What the registry CLI does at registration: store the baseline, reference it from the package.
        key = baseline_s3_key(GROUP, version)
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())
        arguments["DriftCheckBaselines"] = drift_check_baselines(f"s3://{BUCKET}/{key}")
    arn: str = sagemaker.create_model_package(**arguments)["ModelPackageArn"]
    assert arn.endswith(f"/{version}")
    return arn


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Environment]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("CAPTURE_BUCKET", BUCKET)
    monkeypatch.setenv("DRIFT_NAMESPACE", NAMESPACE)
    with mock_aws(), sagemaker_extensions():
        aws.reset_clients()
        drift_handler.ports.cache_clear()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        document = build_feature_baseline(_training())
        _register(sagemaker, s3, 1, "Archived", document)
        production = _register(sagemaker, s3, 2, "Production", document)
        _register(sagemaker, s3, 3, "Development", None)  # the newest version is not the serving one
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="drift-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events", region_name=REGION)
        events.put_rule(
            Name="retrain-on-drift",
            EventPattern=json.dumps({"source": ["mlops-registry.monitoring"], "detail-type": ["ModelDriftDetected"]}),
        )
        events.put_targets(Rule="retrain-on-drift", Targets=[{"Id": "queue", "Arn": queue_arn}])
        yield Environment(s3, boto3.client("cloudwatch", region_name=REGION), sagemaker, sqs, queue_url, production)
        drift_handler.ports.cache_clear()
        aws.reset_clients()


def _run_request(**overrides: Any) -> dict[str, Any]:
    return {
        "group": GROUP,
        "endpointName": ENDPOINT,
        "variants": ["Primary"],
        "features": FEATURES,
        "psiThreshold": 0.2,
        "ksThreshold": 0.15,
        "windowMinutes": 60,
        "performanceMetrics": [],
        "performanceDriftThreshold": 0.25,
        "minSamples": 100,
        "windowEnd": WINDOW_END.isoformat().replace("+00:00", "Z"),
        **overrides,
    }


def _put_captures(s3: Any, hour: datetime, lines: list[str], name: str = "part-0.jsonl") -> None:
    key = f"datacapture/{ENDPOINT}/Primary/{hour:%Y/%m/%d/%H}/{name}"
    s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(lines).encode())


def _window_lines(rows: int, shift: float, at: datetime) -> list[str]:
    rng = np.random.default_rng(5)
    tenure = rng.integers(1, 72, rows) + shift
    charges = np.round(rng.normal(65 + shift, 20, rows), 2)
    contract = rng.choice(["monthly", "one-year", "two-year"], rows, p=[0.5, 0.3, 0.2])
    lines = []
    for index in range(rows):
        if index % 2:
            lines.append(capture_line(f"{tenure[index]},{charges[index]},{contract[index]}", inference_time=at))
        else:
            body = json.dumps(
                {
                    "tenure_months": float(tenure[index]),
                    "monthly_charges": float(charges[index]),
                    "contract_type": str(contract[index]),
                }
            )
            lines.append(capture_line(body, content_type="application/json", encoding="JSON", inference_time=at))
    return lines


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    return drift_handler.handler(event, LambdaContext("drift", 2048, 600))


def _published(cloudwatch: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every drift datapoint in the namespace, read back through CloudWatch."""
    metrics = cloudwatch.get_paginator("list_metrics").paginate(Namespace=NAMESPACE)
    values = {}
    for page in metrics:
        for metric in page["Metrics"]:
            stats = cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE,
                MetricName=metric["MetricName"],
                Dimensions=metric["Dimensions"],
                StartTime=WINDOW_END - timedelta(hours=1),
                EndTime=WINDOW_END,
                Period=3600,
                Statistics=["Maximum"],
            )["Datapoints"]
            assert len(stats) == 1, metric
            dimensions = frozenset((d["Name"], d["Value"]) for d in metric["Dimensions"])
            values[(metric["MetricName"], dimensions)] = stats[0]["Maximum"]
    return values


def _value(published: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **dims: str) -> float:
    dimensions = frozenset({"EndpointName": ENDPOINT, "VariantName": "Primary", **dims}.items())
    return published[(name, dimensions)]


def test_drift_handler_publishes_metrics_read_back_from_cloudwatch(env: Environment) -> None:
    # Given a window of CSV and JSON captures in two objects, with corrupt lines, and captures of the
    # next hour folder that fall outside the window
    inside = WINDOW_END - timedelta(minutes=20)
    _put_captures(env.s3, WINDOW_END - timedelta(hours=1), _window_lines(600, 0.0, inside - timedelta(minutes=15)))
    _put_captures(env.s3, inside, [*_window_lines(600, 0.0, inside), "garbage", '{"captureData": {}}'], "part-1.jsonl")
    _put_captures(env.s3, WINDOW_END, _window_lines(50, 0.0, WINDOW_END + timedelta(minutes=1)))
    # When the scheduled run is invoked
    summary = _invoke(_run_request())
    # Then the statistics and the counts are in CloudWatch under the documented names
    assert summary["status"] == "ok" and summary["version"] == 2 and summary["eventSent"] is False
    published = _published(env.cloudwatch)
    for feature in FEATURES:
        psi = _value(published, contracts.FEATURE_PSI, FeatureName=feature)
        assert math.isfinite(psi) and psi < 0.2
        assert _value(published, contracts.FEATURE_SAMPLES, FeatureName=feature) == 1200
    for feature in ("tenure_months", "monthly_charges"):
        assert 0 <= _value(published, contracts.FEATURE_KS, FeatureName=feature) < 0.15
    assert _value(published, contracts.CAPTURE_RECORDS) == 1200
    assert _value(published, contracts.CORRUPT_RECORDS) == 2
    assert _value(published, contracts.EMPTY_WINDOW) == 0
    assert all(math.isfinite(v) for v in published.values())


def test_drift_handler_puts_model_drift_detected_on_eventbridge(env: Environment) -> None:
    # Given a window whose numeric features moved well past the thresholds
    _put_captures(env.s3, WINDOW_END - timedelta(hours=1), _window_lines(400, 30.0, WINDOW_END - timedelta(minutes=5)))
    # When the run is invoked
    summary = _invoke(_run_request())
    # Then one ModelDriftDetected event reaches the rule's target, with group, version and statistics
    assert summary["eventSent"] is True
    messages = env.sqs.receive_message(QueueUrl=env.queue_url, MaxNumberOfMessages=10)["Messages"]
    (event,) = [json.loads(m["Body"]) for m in messages]
    assert event["source"] == "mlops-registry.monitoring" and event["detail-type"] == "ModelDriftDetected"
    detail = event["detail"]
    assert detail["group"] == GROUP and detail["version"] == 2 and detail["modelPackageArn"] == env.production_arn
    assert set(detail["features"]) >= {"tenure_months", "monthly_charges"}
    assert detail["statistics"]["Primary"]["features"]["tenure_months"]["psi"] > 0.2


def test_drift_handler_on_an_empty_window_publishes_counts_only(env: Environment) -> None:
    summary = _invoke(_run_request())
    published = _published(env.cloudwatch)
    assert summary["status"] == "ok"
    assert _value(published, contracts.EMPTY_WINDOW) == 1
    assert not [key for key in published if key[0] in (contracts.FEATURE_PSI, contracts.FEATURE_KS)]


def test_drift_serving_version_is_the_newest_production_package(env: Environment) -> None:
    versions = SageMakerServingVersions()
    serving = versions.production_version(GROUP)
    assert serving is not None and serving.package_arn == env.production_arn and serving.version == 2
    assert serving.baseline_uri == f"s3://{BUCKET}/{baseline_s3_key(GROUP, 2)}"
    # A newer version whose approval was revoked while its stage still reads Production does not serve
    _register(env.sagemaker, env.s3, 4, "Production", None, approval="Rejected")
    serving = versions.production_version(GROUP)
    assert serving is not None and serving.version == 2
    env.sagemaker.create_model_package_group(ModelPackageGroupName="empty-group")
    assert versions.production_version("empty-group") is None


def test_drift_capture_source_reads_only_the_window_hours(env: Environment) -> None:
    _put_captures(env.s3, datetime(2026, 1, 31, 9, tzinfo=UTC), ["nine"])
    _put_captures(env.s3, datetime(2026, 1, 31, 10, tzinfo=UTC), ["ten-a", "", "ten-b"])
    _put_captures(env.s3, datetime(2026, 1, 31, 11, tzinfo=UTC), ["eleven"])
    source = S3CaptureSource(BUCKET, "datacapture")
    lines = list(source.lines(ENDPOINT, "Primary", datetime(2026, 1, 31, 10, 30, tzinfo=UTC), WINDOW_END))
    assert lines == [b"ten-a", b"ten-b"]
    # the blocks the decoder reads hold the same lines, cut at line ends
    blocks = list(source.blocks(ENDPOINT, "Primary", datetime(2026, 1, 31, 10, 30, tzinfo=UTC), WINDOW_END))
    assert [line for block in blocks for line in block.split(b"\n") if line.strip()] == lines


def test_drift_metric_sink_publishes_in_batches(env: Environment) -> None:
    stamp = WINDOW_END - timedelta(seconds=1)
    data = [
        MetricDatum(
            contracts.FEATURE_PSI,
            0.01 * i,
            ((contracts.DIMENSION_ENDPOINT, ENDPOINT), (contracts.DIMENSION_FEATURE, f"f{i}")),
            stamp,
        )
        for i in range(2_500)
    ]
    calls = []
    client = aws.client("cloudwatch")
    original = client.put_metric_data

    def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["MetricData"]))
        return original(**kwargs)

    client.put_metric_data = counting
    CloudWatchMetricSink(NAMESPACE, client=client).publish(data)
    assert calls == [1000, 1000, 500]
    listed = sum(len(p["Metrics"]) for p in env.cloudwatch.get_paginator("list_metrics").paginate(Namespace=NAMESPACE))
    assert listed == 2_500


def test_drift_performance_source_reads_exact_window_values(env: Environment) -> None:
    # Given SageMaker endpoint metrics over the window (two one-minute datapoints of each)
    dims = [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "Primary"}]
    for minute, (latency_sum, latency_count, invocations, errors) in (
        (
            5,
            (3000.0, 3.0, 3.0, 0.0),
        ),
        (6, (9000.0, 3.0, 5.0, 1.0)),
    ):
        stamp = WINDOW_END - timedelta(minutes=minute)
        env.cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "ModelLatency",
                    "Dimensions": dims,
                    "Timestamp": stamp,
                    "StatisticValues": {
                        "SampleCount": latency_count,
                        "Sum": latency_sum,
                        "Minimum": 1.0,
                        "Maximum": 5000.0,
                    },
                },
                {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": stamp, "Value": invocations},
                {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Timestamp": stamp, "Value": errors},
            ],
        )
    # When the window's values are read
    values = CloudWatchPerformanceSource().window_values(
        ENDPOINT,
        ["Primary"],
        ["ModelLatency", "Invocation5XXErrors", "auc"],
        WINDOW_END - timedelta(hours=1),
        WINDOW_END,
    )
    # Then latency is Sum/SampleCount, errors a rate per invocation, and a silent metric is None
    assert values[("Primary", "ModelLatency")] == pytest.approx(12000.0 / 6.0)
    assert values[("Primary", "Invocation5XXErrors")] == pytest.approx(1.0 / 8.0)
    assert values[("Primary", "auc")] is None
