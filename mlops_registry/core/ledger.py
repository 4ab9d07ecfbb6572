"""The append-only audit ledger (DynamoDB).

Every lifecycle transition, pass or fail, is one item. ``append`` is a conditional PutItem on a new
key, so an entry can never be overwritten; the functions' IAM has no UpdateItem/DeleteItem on the
table. Every entry extends its group's hash chain (``mlops_registry.core.chain``): the entry and the
group's chain head are written in one ``TransactWriteItems`` (both Puts, so the grant stays PutItem),
the head conditional on the head the writer read, so concurrent writers cannot fork the chain. Two
single-Query reads answer the audit questions:

- ``history(group)``: the table's partition ``group_name = G``, oldest first;
- ``in_stage_at(group, stage, at)``: the sparse ``ByStageEntry`` index, ``stage_key = "G#S"`` and
  ``at <= T``, newest first, limit 1 -- the version that last *entered* S before T, with its actor.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.core import chain
from mlops_registry.core.aws import client
from mlops_registry.core.contracts import LEDGER_DECISIONS, LEDGER_STAGE_INDEX
from mlops_registry.core.errors import LedgerContentionError, LedgerEntryExists

APPEND_ATTEMPTS = 10  # optimistic retries when another writer extended the chain first


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_time(value: str | datetime) -> str:
    """An ISO-8601 UTC string comparable with ledger ``at`` values."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        text = value.strip().replace("Z", "+00:00")
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LedgerEntry:
    group: str
    version: int
    package_arn: str
    from_stage: str | None
    to_stage: str | None
    decision: str
    reason: str
    actor: str
    execution_arn: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=now_iso)
    transition: str = "transition"

    @property
    def entry_id(self) -> str:
        return f"{self.at}#{self.version:06d}#{self.transition}"

    def to_item(self) -> dict[str, Any]:
        if self.decision not in LEDGER_DECISIONS:
            raise ValueError(f"decision {self.decision!r} is not one of {LEDGER_DECISIONS}")
        item: dict[str, Any] = {
            "group_name": {"S": self.group},
            "entry_id": {"S": self.entry_id},
            "at": {"S": self.at},
            "version": {"N": str(self.version)},
            "package_arn": {"S": self.package_arn},
            "decision": {"S": self.decision},
            "reason": {"S": self.reason or "-"},
            "actor": {"S": self.actor or "unknown"},
            "transition": {"S": self.transition},
            "evidence": {"S": json.dumps(self.evidence, sort_keys=True, default=str)},
        }
        if self.from_stage:
            item["from_stage"] = {"S": self.from_stage}
        if self.to_stage:
            item["to_stage"] = {"S": self.to_stage}
        if self.execution_arn:
            item["execution_arn"] = {"S": self.execution_arn}
        if self.decision in ("entered", "rolled_back") and self.to_stage:
            item["stage_key"] = {"S": f"{self.group}#{self.to_stage}"}
        return item

    @staticmethod
    def from_item(item: dict[str, Any]) -> LedgerEntry:
        def s(key: str) -> str | None:
            return item[key]["S"] if key in item else None

        return LedgerEntry(
            group=item["group_name"]["S"],
            version=int(item["version"]["N"]),
            package_arn=item["package_arn"]["S"],
            from_stage=s("from_stage"),
            to_stage=s("to_stage"),
            decision=item["decision"]["S"],
            reason=item["reason"]["S"],
            actor=item["actor"]["S"],
            execution_arn=s("execution_arn"),
            evidence=json.loads(item.get("evidence", {"S": "{}"})["S"]),
            at=item["at"]["S"],
            transition=item.get("transition", {"S": "transition"})["S"],
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Ledger:
    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb or client("dynamodb")

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        """Write a new entry at the end of its group's chain; never overwrites.

        Raises ``LedgerEntryExists`` when an entry with the same key exists (a retried writer can treat
        that as "already recorded": keys are deterministic per request) and ``LedgerContentionError``
        when the chain kept moving for ``APPEND_ATTEMPTS`` attempts."""
        item = entry.to_item()
        for attempt in range(APPEND_ATTEMPTS):
            head = self.head(entry.group)
            chained = {
                **item,
                "chain_seq": {"N": str(head.seq + 1 if head else 1)},
                "prev_hash": {"S": head.hash if head else chain.GENESIS},
            }
            digest = chain.entry_hash(chained)
            chained[chain.HASH_ATTRIBUTE] = {"S": digest}
            head_put: dict[str, Any] = {
                "TableName": self.table_name,
                "Item": {
                    **chain.head_key(entry.group),
                    "head_hash": {"S": digest},
                    "chain_seq": chained["chain_seq"],
                    "last_entry_id": {"S": entry.entry_id},
                    "updated_at": {"S": now_iso()},
                },
            }
            if head is None:
                head_put["ConditionExpression"] = "attribute_not_exists(group_name)"
            else:
                head_put["ConditionExpression"] = "head_hash = :previous"
                head_put["ExpressionAttributeValues"] = {":previous": {"S": head.hash}}
            try:
                self._ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.table_name,
                                "Item": chained,
                                "ConditionExpression": "attribute_not_exists(entry_id)",
                            }
                        },
                        {"Put": head_put},
                    ]
                )
                return entry
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    raise LedgerEntryExists(
                        f"ledger entry {entry.entry_id} of group {entry.group!r} already exists"
                    ) from error
                if len(reasons) < 2 or reasons[1] not in ("ConditionalCheckFailed", "TransactionConflict"):
                    raise
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not cryptography
        raise LedgerContentionError(
            f"the hash chain of group {entry.group!r} moved on {APPEND_ATTEMPTS} times while appending {entry.entry_id}"
        )

    def append_once(self, entry: LedgerEntry) -> bool:
        """Append unless an entry with the same key exists (idempotent writers); True when written."""
        try:
            self.append(entry)
            return True
        except LedgerEntryExists:
            return False

    def head(self, group: str) -> chain.ChainHead | None:
        item = self._ddb.get_item(TableName=self.table_name, Key=chain.head_key(group), ConsistentRead=True).get("Item")
        return chain.ChainHead.from_item(item) if item else None

    def items(self, group: str) -> list[dict[str, Any]]:
        """The group's raw items, as stored (what the chain is verified over)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "group_name = :g",
            "ExpressionAttributeValues": {":g": {"S": group}},
            "ConsistentRead": True,
        }
        while True:
            page = self._ddb.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def verify(self, group: str) -> chain.ChainReport:
        """Recompute the group's chain (the head first, so entries appended meanwhile are not "extra")."""
        head = self.head(group)
        items = self.items(group)
        if head is not None:
            # Entries appended after the head was read sit beyond it; they are verified next time.
            items = [i for i in items if int(i.get("chain_seq", {"N": "0"})["N"]) <= head.seq]
        return chain.verify(group, items, head)

    def history(self, group: str, limit: int | None = None) -> list[LedgerEntry]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "group_name = :g",
            "ExpressionAttributeValues": {":g": {"S": group}},
            "ScanIndexForward": True,
        }
        while True:
            page = self._ddb.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit and len(items) >= limit):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        entries = [LedgerEntry.from_item(i) for i in items]
        return entries[:limit] if limit else entries

    def in_stage_at(self, group: str, stage: str, at: str | datetime) -> LedgerEntry | None:
        """The entry by which a version last entered ``stage`` at or before ``at`` (one Query)."""
        page = self._ddb.query(
            TableName=self.table_name,
            IndexName=LEDGER_STAGE_INDEX,
            KeyConditionExpression="stage_key = :k AND #at <= :t",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={":k": {"S": f"{group}#{stage}"}, ":t": {"S": normalise_time(at)}},
            ScanIndexForward=False,
            Limit=1,
        )
        items = page.get("Items", [])
        return LedgerEntry.from_item(items[0]) if items else None
