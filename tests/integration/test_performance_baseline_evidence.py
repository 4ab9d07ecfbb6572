"""The performance baseline's values come from the version's validated quality evidence: a real Model
Monitor model-quality ``statistics.json`` read from S3, its ``dataset`` section and non-numeric
entries left out; evidence that cannot be read writes no baseline and says why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from promotion.lifecycle import LifecycleService
from promotion.performance_baseline import S3PerformanceBaselineStore, validated_quality_evidence
from promotion.state import PromotionState

from infra.config import load_config
from mlops_registry.core import aws
from mlops_registry.core.baseline import PERFORMANCE_BASELINE_PROPERTY, read_performance_baseline
from mlops_registry.core.model_registry import PackageView
from tests.conftest import cdk_context

REGION = "eu-west-1"
BUCKET = "artifacts"
PUBLISHED = Path(__file__).resolve().parents[1] / "data" / "published" / "model_monitor"
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/4"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        aws.reset_clients()
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client
        aws.reset_clients()


def _view(uri: str | None) -> PackageView:
    return PackageView(ARN, "churn-classifier", 4, "Approved", "Staging", "InProgress", None, metrics_report_uri=uri)


def _state() -> PromotionState:
    group = next(g for g in load_config(cdk_context(), "dev").groups if g.name == "churn-classifier")
    return PromotionState(package_arn=ARN, group=group.name, version=4, policy=group)


def _service() -> LifecycleService:
    unused: Any = None  # write_performance_baseline uses only the baseline store and the evidence reader
    return LifecycleService(unused, unused, unused, unused, baselines=S3PerformanceBaselineStore(BUCKET))


def test_a_published_model_monitor_quality_report_becomes_the_performance_baseline(s3: Any) -> None:
    # Given a version whose model-quality evidence is Model Monitor's regression statistics.json
    text = (PUBLISHED / "sdk_model_quality_regression_statistics.json").read_text()
    s3.put_object(Bucket=BUCKET, Key="reports/quality.json", Body=text.encode())
    uri = f"s3://{BUCKET}/reports/quality.json"
    # When the evidence is read and the baseline written
    evidence = validated_quality_evidence(_view(uri))
    recorded, properties = _service().write_performance_baseline(_view(uri), _state())
    # Then the values are the report's metric values, not its dataset facts (item_count)
    published = json.loads(text)["regression_metrics"]
    assert dict(evidence.metrics) == {name: body["value"] for name, body in published.items()}
    key = "baselines/churn-classifier/4/performance-baseline.json"
    assert properties == {PERFORMANCE_BASELINE_PROPERTY: f"s3://{BUCKET}/{key}"}
    stored = read_performance_baseline(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), ARN)
    assert dict(stored.metrics) == recorded["metrics"] == dict(evidence.metrics)
    assert recorded["source"] == uri
    assert recorded["monitored_without_baseline"] == ["ModelLatency", "Invocation5XXErrors", "auc"]


@pytest.mark.parametrize("uri", [None, f"s3://{BUCKET}/reports/deleted.json"], ids=["none-referenced", "missing"])
def test_unreadable_quality_evidence_writes_no_baseline_and_records_why(s3: Any, uri: str | None) -> None:
    recorded, properties = _service().write_performance_baseline(_view(uri), _state())
    assert recorded["status"] == "unavailable" and "model-quality report" in recorded["reason"]
    assert properties == {}
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
