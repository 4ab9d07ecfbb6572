"""The bias gate judges the platform's bias evidence (Clarify's analysis.json, real Clarify output
here): pre-training metrics alone or with post-training ones. The registrant's own reports
(``Bias.Report`` or the SDK's ``PreTrainingReport`` / ``PostTrainingReport``) are recorded, not judged."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_registry.core.config import read_published
from offline.harness.emulator import sagemaker_extensions
from tests.conftest import cdk_context

REGION = "eu-west-1"
BUCKET = "reports"
PUBLISHED = Path(__file__).resolve().parents[1] / "data" / "published" / "clarify"


def _policy(thresholds: list[dict[str, Any]]) -> dict[str, Any]:
    from infra.config import load_config

    group = load_config(cdk_context(), "dev").groups[0]
    document = json.loads(group.model_dump_json(by_alias=True))
    document["fairness"] = {"protectedAttributes": ["customer_gender_female"], "thresholds": thresholds}
    read_published(document)
    return document


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(), sagemaker_extensions():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        full = json.loads((PUBLISHED / "fraud_detection_bias_analysis.json").read_text())
        for name, body in (
            ("full.json", full),
            ("pre.json", {"pre_training_bias_metrics": full["pre_training_bias_metrics"]}),
            ("post.json", {"post_training_bias_metrics": full["post_training_bias_metrics"]}),
        ):
            s3.put_object(Bucket=BUCKET, Key=name, Body=json.dumps(body).encode())
        sm = boto3.client("sagemaker", region_name=REGION)
        yield sm


def _package(sm: Any, group: str, bias: dict[str, Any]) -> str:
    with contextlib.suppress(sm.exceptions.ClientError):
        sm.create_model_package_group(ModelPackageGroupName=group)
    return str(
        sm.create_model_package(
            ModelPackageGroupName=group,
            InferenceSpecification={
                "Containers": [{"Image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/m:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics={"Bias": bias},
        )["ModelPackageArn"]
    )


def _run(sm: Any, platform: str | None, thresholds: list[dict[str, Any]], bias: dict[str, Any] | None = None) -> Any:
    """The bias gate on a package registered with ``bias`` reports, in a state whose Staging validation
    stored the platform's bias evidence at ``platform`` (a key of the bucket)."""
    from promotion.gates.service import GateService
    from promotion.state import PromotionState

    from mlops_registry.core.model_registry import ModelRegistry
    from mlops_registry.core.reports import read_json_report

    policy = _policy(thresholds)
    arn = _package(sm, policy["name"], bias or {"Report": _source("post.json")})
    gates = {}
    if platform is not None:
        gates["validation"] = {"passed": True, "evidence": {"documents": {"bias": f"s3://{BUCKET}/{platform}"}}}
    state = {"package_arn": arn, "group": policy["name"], "version": 1, "policy": policy, "gates": gates}
    return GateService(ModelRegistry(), read_json_report).bias(PromotionState.model_validate(state)).to_dict()


def _source(key: str) -> dict[str, str]:
    return {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{key}"}


def test_platform_evidence_with_pre_training_metrics_only_is_judged(sagemaker: Any) -> None:
    verdict = _run(sagemaker, "pre.json", [{"metric": "CI", "min": -0.3, "max": 0.3}])
    assert verdict["passed"] is False
    assert verdict["reasons"] == ["customer_gender_female=1 CI: 0.398 outside [-0.3, 0.3]"]
    assert verdict["evidence"]["report"] == f"s3://{BUCKET}/pre.json"


def test_pre_and_post_training_metrics_of_the_platform_evidence_are_judged_together(sagemaker: Any) -> None:
    thresholds = [{"metric": "CI", "min": -0.5, "max": 0.5}, {"metric": "DI", "min": 0.8, "max": 1.25}]
    verdict = _run(sagemaker, "full.json", thresholds)
    assert verdict["passed"] is True, verdict["reasons"]
    assert verdict["evidence"]["attributes"]["customer_gender_female"]["1"]["CI"] == 0.398


def test_unreadable_platform_evidence_is_a_denial_naming_it(sagemaker: Any) -> None:
    verdict = _run(sagemaker, "missing.json", [{"metric": "CI", "min": -1, "max": 1}])
    assert verdict["passed"] is False
    assert f"s3://{BUCKET}/missing.json" in verdict["reasons"][0]


def test_the_registrants_own_reports_are_recorded_but_never_judged(sagemaker: Any) -> None:
    # Given a package whose own (SDK-registered) reports would fail, and fair platform evidence
    bias = {"PreTrainingReport": _source("pre.json"), "PostTrainingReport": _source("post.json")}
    verdict = _run(sagemaker, "full.json", [{"metric": "CI", "min": -0.5, "max": 0.5}], bias)
    assert verdict["passed"] is True
    assert verdict["evidence"]["self_reported"] == [f"s3://{BUCKET}/pre.json", f"s3://{BUCKET}/post.json"]
    # and without the platform's evidence (no validation ran) the gate denies, whatever the package says
    denied = _run(sagemaker, None, [{"metric": "CI", "min": -0.5, "max": 0.5}], bias)
    assert denied["passed"] is False
    assert denied["reasons"] == ["no platform bias evidence: the holdout validation has not run"]
