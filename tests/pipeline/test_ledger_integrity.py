"""The tamper-evident ledger end to end: a promotion's entries form an intact chain, an entry altered
directly in DynamoDB is named by ``registry verify-ledger`` (exit 5) and by the daily check (metric,
notification)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from promotion.ledger_check import DIMENSION_GROUP

from mlops_registry.core import contracts
from mlops_registry.core.contracts import LEDGER_CHAIN_BROKEN_METRIC
from offline.harness import PipelineHarness, board_member
from offline.samples import churn_reports
from tests.pipeline.test_cli_support import run_cli

GROUP = "churn-classifier"
BOARD = board_member("alice")


def _run_check(harness: PipelineHarness) -> dict[str, Any]:
    response = harness.lambda_.invoke(FunctionName=harness.function_name("LedgerCheck"), Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert not response.get("FunctionError"), payload
    return dict(payload)


def _broken_metric(harness: PipelineHarness, group: str | None) -> list[float]:
    cloudwatch = harness.session.client("cloudwatch")
    dimensions = [{"Name": DIMENSION_GROUP, "Value": group}] if group else []
    now = datetime.now(UTC)
    stats = cloudwatch.get_metric_statistics(
        Namespace=contracts.LEDGER_METRICS_NAMESPACE,
        MetricName=LEDGER_CHAIN_BROKEN_METRIC,
        Dimensions=dimensions,
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["Maximum"],
    )
    return [point["Maximum"] for point in stats["Datapoints"]]


def test_an_entry_altered_in_dynamodb_is_named_by_the_cli_and_the_daily_check(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    registration, result = harness.promote(GROUP, "v1", BOARD, churn_reports())
    assert result["status"] == "SUCCEEDED"
    intact = run_cli(capsys, "verify-ledger", "--group", GROUP, "--output", "json")
    assert intact.code == 0, intact.err
    report = intact.json()
    entries = harness.ledger().history(GROUP)
    assert report["intact"] is True
    assert report["chained"] == report["entries"] == len(entries) == 4
    assert report["legacy_before_chain_start"] == 0
    check = _run_check(harness)
    managed = harness.sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert check["broken"] == [] and check["verified"] == len(managed) >= 2
    assert _broken_metric(harness, None) == [0.0]

    production = next(e for e in entries if e.to_stage == "Production")
    harness.ddb.update_item(
        TableName=harness.table("-audit-ledger"),
        Key={"group_name": {"S": GROUP}, "entry_id": {"S": production.entry_id}},
        UpdateExpression="SET actor = :a",
        ExpressionAttributeValues={":a": {"S": "arn:aws:iam::123456789012:user/mallory"}},
    )
    tampered = run_cli(capsys, "verify-ledger", "--group", GROUP)
    assert tampered.code == 5
    assert production.entry_id in tampered.out and "BROKEN" in tampered.out
    assert f"broken at {production.entry_id}" in tampered.err and "content altered" in tampered.err

    list(harness.notifications())  # drain the promotion's notifications
    check = _run_check(harness)
    assert check["broken"] == [GROUP]
    assert check["groups"][GROUP]["first_broken_link"]["entry_id"] == production.entry_id
    assert max(_broken_metric(harness, None)) == 1.0
    assert _broken_metric(harness, GROUP) == [1.0]
    alerts = [n for n in harness.notifications() if n.get("decision") == "ledger_chain_broken"]
    assert len(alerts) == 1
    assert alerts[0]["first_broken_link"]["entry_id"] == production.entry_id
    assert registration.version == production.version
