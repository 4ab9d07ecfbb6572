"""Transient is not a verdict: a gate under S3 throttling is retried and passes, a definitively missing
report is denied, and a retried approval request records and notifies once."""

from __future__ import annotations

import json
from typing import Any

from offline.harness import PipelineHarness
from offline.samples import churn_reports

GROUP = "churn-classifier"
BOARD = "arn:aws:iam::123456789012:user/alice"


def _stored_metrics_verdicts(harness: PipelineHarness) -> list[dict[str, Any]]:
    items = harness.ddb.scan(TableName=harness.table("-idempotency"))["Items"]
    results = [json.loads(i["data"]["S"]) for i in items if "data" in i]
    return [r for r in results if isinstance(r, dict) and r.get("gate") == "metrics"]


def test_a_gate_under_s3_throttling_is_retried_and_then_passes(harness: PipelineHarness) -> None:
    # S3 answers SlowDown (503) to the metrics gate's first two reads, after the SDK's own retries.
    pending = harness.fail_aws_calls("s3", "GetObject", code="SlowDown", status=503, times=2, function="MetricsGate")
    registration = harness.register_version(GROUP, tag="throttled-s3", **churn_reports())
    outcome = harness.announce(registration)
    assert harness.pending_approval(registration.package_arn), "the version must reach the review board"
    assert pending == [0]
    gate = harness.function_name("MetricsGate")
    assert [errored for name, errored in harness.runner.invocations if name == gate] == [True, True, False]
    history = harness.history(outcome["execution_arn"])
    failures = [e for e in history if e["type"] == "LambdaFunctionFailed"]
    assert [json.loads(json.dumps(e["lambdaFunctionFailedEventDetails"]))["error"] for e in failures] == [
        "TransientServiceError",
        "TransientServiceError",
    ]
    assert "SlowDown" in failures[0]["lambdaFunctionFailedEventDetails"]["cause"]
    decisions = [(e.to_stage, e.decision) for e in harness.ledger().history(GROUP)]
    assert decisions == [("Development", "entered"), ("Staging", "entered"), ("Staging", "requested")]
    assert len(_stored_metrics_verdicts(harness)) == 1  # the passing verdict, stored once
    harness.approve_with_cli(registration.package_arn, BOARD, "ok")
    assert harness.wait(outcome["execution_arn"])["status"] == "SUCCEEDED"


def test_a_gate_that_stays_throttled_fails_the_execution_without_a_denial(harness: PipelineHarness) -> None:
    harness.fail_aws_calls("s3", "GetObject", code="SlowDown", status=503, times=1000, function="MetricsGate")
    registration = harness.register_version(GROUP, tag="always-throttled", **churn_reports())
    outcome = harness.announce(registration)
    result = harness.wait(outcome["execution_arn"])
    assert result["status"] == "FAILED"
    assert harness.states_entered(outcome["execution_arn"])[-3:] == ["MetricsGate", "RecordFailure", "PromotionFailed"]
    last = harness.ledger().history(GROUP)[-1]
    assert last.decision == "failed" and "TransientServiceError" in last.reason
    assert not any(e.decision in ("denied", "rejected") for e in harness.ledger().history(GROUP))
    package = harness.package(registration.package_arn)
    assert package["ModelLifeCycle"]["Stage"] == "Development"  # not archived: re-run once S3 recovers
    # Powertools deletes the in-progress record when the logic raises: no verdict is stored to replay.
    assert _stored_metrics_verdicts(harness) == []


def test_a_report_that_does_not_exist_is_denied(harness: PipelineHarness) -> None:
    registration = harness.register_version(GROUP, tag="deleted-report", **churn_reports())
    harness.s3.delete_object(Bucket=harness.artifacts_bucket, Key=f"{GROUP}/deleted-report/metrics.json")
    outcome = harness.announce(registration)
    result = harness.wait(outcome["execution_arn"])
    assert result["status"] == "SUCCEEDED"
    assert "VersionRejected" in harness.states_entered(outcome["execution_arn"])
    last = harness.ledger().history(GROUP)[-1]
    assert (last.to_stage, last.decision) == ("Archived", "rejected")
    uri = f"s3://{harness.artifacts_bucket}/{GROUP}/deleted-report/metrics.json"
    assert f"metrics gate denied: metrics report {uri}: cannot be read" in last.reason
    assert "NoSuchKey" in last.reason
    assert harness.package(registration.package_arn)["ModelLifeCycle"]["StageStatus"] == "Rejected"
