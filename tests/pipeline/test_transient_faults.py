"""Transient is not a verdict: a gate under S3 throttling is retried and passes, a definitively missing
report is denied, and a retried approval request records and notifies once."""

from __future__ import annotations

import json
import time
from typing import Any

from offline.harness import PipelineHarness, board_member
from offline.samples import churn_reports

GROUP = "churn-classifier"
BOARD = board_member("alice")


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


class LambdaServiceError(Exception):
    """The Lambda service failing the invocation after the function did its work."""

    error_type = "Lambda.ServiceException"


def test_a_retried_approval_request_records_and_notifies_once(harness: PipelineHarness) -> None:
    function = harness.function_name("RequestApproval")
    lost: list[str] = []

    def lose_first_response(name: str, payload: dict[str, Any], result: Any) -> BaseException | None:
        if name == function and not lost:
            lost.append(payload["task_token"])
            return LambdaServiceError("response lost after the request was stored and notified")
        return None

    harness.runner.after.append(lose_first_response)
    registration = harness.register_version(GROUP, tag="retried-approval", **churn_reports())
    outcome = harness.announce(registration)
    assert harness.pending_approval(registration.package_arn)
    calls: list[bool] = []
    for _ in range(200):  # the retry runs on the execution's thread
        calls = [errored for name, errored in harness.runner.invocations if name == function]
        if len(calls) == 2:
            break
        time.sleep(0.05)
    assert calls == [True, False]
    requested = [e for e in harness.ledger().history(GROUP) if e.decision == "requested"]
    assert len(requested) == 1
    notices = [n for n in harness.notifications() if n.get("decision") == "approval_requested"]
    assert len(notices) == 1 and notices[0]["package_arn"] == registration.package_arn
    # the board's decision reaches the retried attempt (its token replaced the lost one)
    harness.approve_with_cli(registration.package_arn, BOARD, "reviewed once")
    result = harness.wait(outcome["execution_arn"])
    assert result["status"] == "SUCCEEDED"
    assert harness.package(registration.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    assert [e.decision for e in harness.ledger().history(GROUP)].count("requested") == 1
    assert harness.ledger().verify(GROUP).intact
