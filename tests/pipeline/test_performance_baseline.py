"""The performance baseline at promotion: a version entering Production gets its performance baseline
(from its validated quality evidence) where the drift function reads it, and the scheduled drift run
computes performance drift for it, with no manual step in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from monitoring.performance import MODEL_QUALITY_NAMESPACE

from infra import constants
from mlops_registry.core import contracts
from mlops_registry.core.baseline import (
    PERFORMANCE_BASELINE_PROPERTY,
    build_feature_baseline,
    performance_baseline_s3_key,
    read_performance_baseline,
)
from offline.alarms import evaluate_alarms
from offline.harness import PipelineHarness, board_member
from offline.observe import invoke
from offline.samples import CHURN_FEATURES, churn_reports

GROUP = "churn-classifier"
CATEGORICAL = ("contract_type", "payment_method")
REPORTED = {"auc": 0.86, "f1": 0.66, "log_loss": 0.39}  # churn_reports' defaults


def _feature_baseline() -> dict[str, Any]:
    rng = np.random.default_rng(5)
    columns: dict[str, Any] = {
        f: rng.choice(["a", "b", "c"], 400) if f in CATEGORICAL else rng.normal(50, 10, 400) for f in CHURN_FEATURES
    }
    return build_feature_baseline(columns, categorical=CATEGORICAL)


def _scheduled_run(harness: PipelineHarness, end: datetime) -> dict[str, Any]:
    """The drift function invoked as the group's synthesized schedule invokes it, at ``end``."""
    request = {**harness.drift_schedule_input(GROUP), "windowEnd": end.isoformat().replace("+00:00", "Z")}
    return invoke(harness, harness.function_name("DriftFunction"), request)


def _publish_window_auc(harness: PipelineHarness, variant: str, end: datetime, value: float) -> None:
    """What a team publishes from delayed ground truth: the serving model's auc over the window."""
    harness.session.client("cloudwatch").put_metric_data(
        Namespace=MODEL_QUALITY_NAMESPACE,
        MetricData=[
            {
                "MetricName": "auc",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": constants.endpoint_name("dev", GROUP)},
                    {"Name": "VariantName", "Value": variant},
                ],
                "Timestamp": end - timedelta(minutes=10),
                "Value": value,
            }
        ],
    )


def _performance_drift(harness: PipelineHarness, metric: str) -> list[float]:
    cloudwatch = harness.session.client("cloudwatch")
    found = []
    for listed in cloudwatch.list_metrics(Namespace=contracts.DRIFT_METRICS_NAMESPACE, MetricName="PerformanceDrift")[
        "Metrics"
    ]:
        if {"Name": "MetricName", "Value": metric} in listed["Dimensions"]:
            points = cloudwatch.get_metric_statistics(
                Namespace=contracts.DRIFT_METRICS_NAMESPACE,
                MetricName="PerformanceDrift",
                Dimensions=listed["Dimensions"],
                StartTime=datetime.now(UTC) - timedelta(days=1),
                EndTime=datetime.now(UTC) + timedelta(days=1),
                Period=60,
                Statistics=["Maximum"],
            )["Datapoints"]
            found += [p["Maximum"] for p in points]
    return found


def test_promotion_writes_the_performance_baseline_and_the_scheduled_drift_run_alarms_on_it(
    harness: PipelineHarness,
) -> None:
    # Given a churn version registered with its reports and feature baseline, promoted end to end
    registration, outcome = harness.promote(
        GROUP, "v1", board_member("alice"), churn_reports(), feature_baseline=_feature_baseline()
    )
    assert outcome["status"] == "SUCCEEDED", outcome
    # Then its performance baseline (its validated quality metrics) is at the contract's key ...
    key = performance_baseline_s3_key(GROUP, registration.version)
    uri = f"s3://{harness.artifacts_bucket}/{key}"
    body = harness.s3.get_object(Bucket=harness.artifacts_bucket, Key=key)["Body"].read()
    assert dict(read_performance_baseline(body, registration.package_arn).metrics) == REPORTED
    # ... the package names it ...
    assert harness.package(registration.package_arn)["CustomerMetadataProperties"][PERFORMANCE_BASELINE_PROPERTY] == uri
    # ... and the promotion's ledger entry records it, with the monitored metrics it has no value for
    production = [e for e in harness.ledger().history(GROUP) if e.to_stage == "Production"][-1]
    recorded = production.evidence["performance_baseline"]
    assert recorded["status"] == "written" and recorded["uri"] == uri and recorded["metrics"] == REPORTED
    assert (
        recorded["source"]
        == harness.package(registration.package_arn)["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    )
    assert recorded["monitored_without_baseline"] == ["ModelLatency", "Invocation5XXErrors"]

    # When the serving model's auc falls to 0.6 over a window and the group's schedule runs the drift function
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    (variant,) = harness.drift_schedule_input(GROUP)["variants"]
    _publish_window_auc(harness, variant, end, 0.6)
    summary = _scheduled_run(harness, end)
    # Then performance drift is computed against the promoted baseline: |0.6 - 0.86| / 0.86 > 0.25
    expected = abs(0.6 - 0.86) / 0.86
    assert summary["status"] == "ok", summary
    assert [(b["subject"], b["statistic"]) for b in summary["breaches"]] == [("auc", "PerformanceDrift")]
    assert summary["breaches"][0]["value"] == pytest.approx(expected)
    assert _performance_drift(harness, "auc") == [pytest.approx(expected)]
    # ... and the group's synthesized auc performance-drift alarm goes to ALARM
    alarms = evaluate_alarms(harness, namespace_prefix=contracts.DRIFT_METRICS_NAMESPACE)
    name = f"{constants.endpoint_name('dev', GROUP)}-drift-performance-auc"
    assert alarms[name] == "ALARM", alarms


def test_a_version_promoted_without_a_performance_baseline_still_runs_without_performance_drift(
    harness: PipelineHarness,
) -> None:
    # Given a Production version that names no performance baseline (promoted before the pipeline wrote one)
    registration, outcome = harness.promote(
        GROUP, "v1", board_member("alice"), churn_reports(), feature_baseline=_feature_baseline()
    )
    assert outcome["status"] == "SUCCEEDED", outcome
    harness.sm.update_model_package(
        ModelPackageArn=registration.package_arn, CustomerMetadataPropertiesToRemove=[PERFORMANCE_BASELINE_PROPERTY]
    )
    # When the model's auc falls and the scheduled drift run runs
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    (variant,) = harness.drift_schedule_input(GROUP)["variants"]
    _publish_window_auc(harness, variant, end, 0.6)
    summary = _scheduled_run(harness, end)
    # Then the run succeeds as before: no performance drift metric, no breach, no error
    assert summary["status"] == "ok", summary
    assert summary["breaches"] == []
    assert _performance_drift(harness, "auc") == []
