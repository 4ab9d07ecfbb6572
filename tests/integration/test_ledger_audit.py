"""Audit questions answered by the ledger module from the table's keys (on moto).

Given v1 approved by alice and v2 approved by bob, then v1 restored by an on-call rollback, the
question "what served in Production at T, and who approved it" names, for each moment, the version
the timeline says and the board member who approved *that* version (alice for the restored v1, not
the on-call engineer who restored it). Expected values are read off the scenario's timeline.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from mlops_registry.core.aws import reset_clients
from mlops_registry.core.ledger import Ledger, LedgerEntry, served_at

REGION = "eu-west-1"
TABLE = "ledger"
GROUP = "churn"


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with mock_aws():
        reset_clients()
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "group_name", "KeyType": "HASH"},
                {"AttributeName": "entry_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("group_name", "entry_id", "stage_key", "at")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByStageEntry",
                    "KeySchema": [
                        {"AttributeName": "stage_key", "KeyType": "HASH"},
                        {"AttributeName": "at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Ledger(TABLE, dynamodb=client)


def _entry(version: int, at: str, decision: str, actor: str, to_stage: str = "Production") -> LedgerEntry:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/{version}"
    return LedgerEntry(GROUP, version, arn, "Staging", to_stage, decision, "-", actor, at=at, transition=decision)


def _timeline(ledger: Ledger) -> None:
    for entry in (
        _entry(1, "2026-03-01T10:00:00.000000Z", "entered", "alice"),
        _entry(2, "2026-03-05T10:00:00.000000Z", "entered", "bob"),
        _entry(1, "2026-03-08T10:00:00.000000Z", "rolled_back", "oncall"),
        _entry(2, "2026-03-08T10:00:00.000001Z", "rolled_back", "oncall", to_stage="Archived"),
    ):
        ledger.append(entry)


@pytest.mark.parametrize(
    ("at", "version", "approved_by", "entered_by"),
    [
        ("2026-03-02T00:00:00Z", 1, "alice", "alice"),
        ("2026-03-06T00:00:00Z", 2, "bob", "bob"),
        ("2026-03-09T00:00:00Z", 1, "alice", "oncall"),
    ],
)
def test_what_served_at_a_time_and_who_approved_it(
    ledger: Ledger, at: str, version: int, approved_by: str, entered_by: str
) -> None:
    _timeline(ledger)
    served = served_at(ledger, GROUP, at)
    assert served is not None
    assert (served.entry.version, served.approved_by, served.entry.actor) == (version, approved_by, entered_by)


def test_nothing_served_before_the_first_promotion(ledger: Ledger) -> None:
    _timeline(ledger)
    assert served_at(ledger, GROUP, "2026-02-01T00:00:00Z") is None


def test_entries_into_a_stage_come_newest_first_and_history_oldest_first(ledger: Ledger) -> None:
    _timeline(ledger)
    assert [(e.version, e.decision) for e in ledger.entered(GROUP, "Production")] == [
        (1, "rolled_back"),
        (2, "entered"),
        (1, "entered"),
    ]
    assert [e.version for e in ledger.history(GROUP)] == [1, 2, 1, 2]
    assert [e.version for e in ledger.history(GROUP, limit=2)] == [1, 2]
