"""The ledger's hash chain on moto: hashes an independent implementation recomputes, tampering named,
concurrent appends that cannot fork the chain, and entries older than the chain reported as its start.

Expected hashes are computed here with ``hashlib`` over the canonical JSON documented in
docs/security.md (every attribute but ``entry_hash``, values as strings, sorted keys, compact
separators, UTF-8), not with the ledger's own function.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_registry.core.aws import reset_clients
from mlops_registry.core.ledger import Ledger, LedgerEntry
from offline.harness.emulator import dynamodb_serializable_writes

REGION = "eu-west-1"
TABLE = "ledger"
GROUP = "g"
ZERO = "0" * 64


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws(), dynamodb_serializable_writes():
        reset_clients()
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "group_name", "KeyType": "HASH"},
                {"AttributeName": "entry_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("group_name", "entry_id")],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _entry(version: int, at: str, reason: str = "gates passed", group: str = GROUP) -> LedgerEntry:
    return LedgerEntry(
        group=group,
        version=version,
        package_arn=f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{group}/{version}",
        from_stage="Development",
        to_stage="Staging",
        decision="entered",
        reason=reason,
        actor="mlops-registry:promotion-pipeline",
        execution_arn="arn:aws:states:eu-west-1:123456789012:execution:m:e",
        evidence={"auc": 0.91, "note": "é"},
        at=at,
        transition="to-staging",
    )


def _items(ddb: Any, group: str = GROUP) -> list[dict[str, Any]]:
    return ddb.query(
        TableName=TABLE, KeyConditionExpression="group_name = :g", ExpressionAttributeValues={":g": {"S": group}}
    )["Items"]


def _independent_hash(item: dict[str, Any]) -> str:
    plain = {name: next(iter(value.values())) for name, value in item.items() if name != "entry_hash"}
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_each_entry_hashes_its_content_and_its_predecessor(ddb: Any) -> None:
    ledger = Ledger(TABLE)
    for version, at in ((1, "2026-01-01T00:00:00.000000Z"), (2, "2026-01-02T00:00:00.000000Z")):
        ledger.append(_entry(version, at))
    first, second = sorted(_items(ddb), key=lambda i: i["entry_id"]["S"])
    # the documented canonical form, written out by hand for the first entry
    evidence = json.dumps({"auc": 0.91, "note": "é"}, sort_keys=True)
    canonical = {
        "group_name": GROUP,
        "entry_id": "2026-01-01T00:00:00.000000Z#000001#to-staging",
        "at": "2026-01-01T00:00:00.000000Z",
        "version": "1",
        "package_arn": f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{GROUP}/1",
        "from_stage": "Development",
        "to_stage": "Staging",
        "decision": "entered",
        "reason": "gates passed",
        "actor": "mlops-registry:promotion-pipeline",
        "execution_arn": "arn:aws:states:eu-west-1:123456789012:execution:m:e",
        "transition": "to-staging",
        "evidence": evidence,
        "stage_key": f"{GROUP}#Staging",
        "chain_seq": "1",
        "prev_hash": ZERO,
    }
    expected_first = hashlib.sha256(
        json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    assert first["entry_hash"]["S"] == expected_first
    assert second["prev_hash"]["S"] == expected_first
    assert second["chain_seq"]["N"] == "2"
    assert second["entry_hash"]["S"] == _independent_hash(second)
    head = ddb.get_item(TableName=TABLE, Key={"group_name": {"S": f"chain-head#{GROUP}"}, "entry_id": {"S": "head"}})
    assert head["Item"]["head_hash"]["S"] == second["entry_hash"]["S"]
    assert head["Item"]["chain_seq"]["N"] == "2"
    report = ledger.verify(GROUP)
    assert report.intact and (report.entries, report.chained, report.legacy) == (2, 2, 0)
    assert [e.version for e in ledger.history(GROUP)] == [1, 2]  # the head is not an entry of the group


def test_an_item_altered_in_dynamodb_is_named(ddb: Any) -> None:
    ledger = Ledger(TABLE)
    for version in (1, 2, 3):
        ledger.append(_entry(version, f"2026-01-0{version}T00:00:00.000000Z"))
    target = "2026-01-02T00:00:00.000000Z#000002#to-staging"
    ddb.update_item(
        TableName=TABLE,
        Key={"group_name": {"S": GROUP}, "entry_id": {"S": target}},
        UpdateExpression="SET actor = :a",
        ExpressionAttributeValues={":a": {"S": "arn:aws:iam::123456789012:user/mallory"}},
    )
    report = ledger.verify(GROUP)
    assert not report.intact
    assert report.broken is not None
    assert (report.broken.entry_id, report.broken.version) == (target, 2)
    assert "content altered" in report.broken.reason


def test_a_rehashed_forgery_breaks_the_next_link_and_a_deleted_tail_breaks_the_head(ddb: Any) -> None:
    ledger = Ledger(TABLE)
    for version in (1, 2, 3):
        ledger.append(_entry(version, f"2026-01-0{version}T00:00:00.000000Z"))
    items = sorted(_items(ddb), key=lambda i: int(i["chain_seq"]["N"]))
    forged = {**items[0], "reason": {"S": "approved by nobody"}}
    forged["entry_hash"] = {"S": _independent_hash(forged)}  # the forger recomputes the entry's own hash
    ddb.put_item(TableName=TABLE, Item=forged)
    broken = ledger.verify(GROUP).broken
    assert broken is not None and broken.entry_id == items[1]["entry_id"]["S"]
    assert "prev_hash does not match" in broken.reason
    ddb.put_item(TableName=TABLE, Item=items[0])  # restore, then remove the newest entry
    ddb.delete_item(TableName=TABLE, Key={"group_name": {"S": GROUP}, "entry_id": items[2]["entry_id"]})
    broken = ledger.verify(GROUP).broken
    assert broken is not None and "1 entry after it missing" in broken.reason


def test_concurrent_appends_do_not_fork_the_chain(ddb: Any) -> None:
    ledger = Ledger(TABLE)
    writers, per_writer = 6, 5
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(index: int) -> None:
        start.wait()
        for n in range(per_writer):
            try:
                ledger.append(_entry(index * 100 + n + 1, f"2026-02-01T00:00:00.{index:03d}{n:03d}Z"))
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    items = _items(ddb)
    assert len(items) == writers * per_writer
    assert sorted(int(i["chain_seq"]["N"]) for i in items) == list(range(1, writers * per_writer + 1))
    predecessors = [i["prev_hash"]["S"] for i in items]
    assert len(set(predecessors)) == len(predecessors), "two entries extend the same predecessor: a fork"
    assert ledger.verify(GROUP).intact


def test_entries_written_before_the_chain_are_reported_as_its_start(ddb: Any) -> None:
    legacy = _entry(1, "2025-12-01T00:00:00.000000Z").to_item()  # as the ledger wrote them before the chain
    ddb.put_item(TableName=TABLE, Item=legacy)
    ledger = Ledger(TABLE)
    ledger.append(_entry(2, "2026-01-01T00:00:00.000000Z"))
    report = ledger.verify(GROUP)
    assert report.intact
    assert (report.legacy, report.chained, report.chain_start) == (
        1,
        1,
        "2026-01-01T00:00:00.000000Z#000002#to-staging",
    )
    assert report.notes == [
        "1 entry written before the hash chain carry no hash: the chain starts at "
        "2026-01-01T00:00:00.000000Z#000002#to-staging"
    ]
    # a hash stripped from a chained entry does not pass as "legacy"
    later = _entry(3, "2026-01-02T00:00:00.000000Z")
    ledger.append(later)
    ddb.update_item(
        TableName=TABLE,
        Key={"group_name": {"S": GROUP}, "entry_id": {"S": later.entry_id}},
        UpdateExpression="REMOVE entry_hash",
    )
    broken = ledger.verify(GROUP).broken
    assert broken is not None and broken.entry_id == later.entry_id


def test_groups_have_separate_chains(ddb: Any) -> None:
    ledger = Ledger(TABLE)
    ledger.append(_entry(1, "2026-01-01T00:00:00.000000Z", group="a"))
    ledger.append(_entry(1, "2026-01-01T00:00:00.000000Z", group="b"))
    for group in ("a", "b"):
        (item,) = _items(ddb, group)
        assert (item["chain_seq"]["N"], item["prev_hash"]["S"]) == ("1", ZERO)
        assert ledger.verify(group).intact
