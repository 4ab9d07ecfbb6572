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

import itertools
import json
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.core import chain
from mlops_registry.core.aws import client
from mlops_registry.core.contracts import LEDGER_DECISIONS, LEDGER_STAGE_INDEX, STAGE_PRODUCTION
from mlops_registry.core.errors import LedgerContentionError, LedgerEntryExists
from mlops_registry.core.ports import LedgerAppender, Notify

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

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query returns, page after page (boto3's paginator)."""
        for page in self._ddb.get_paginator("query").paginate(TableName=self.table_name, **kwargs):
            yield from page.get("Items", [])

    def items(self, group: str) -> list[dict[str, Any]]:
        """The group's raw items, as stored (what the chain is verified over)."""
        return list(
            self._query(
                KeyConditionExpression="group_name = :g",
                ExpressionAttributeValues={":g": {"S": group}},
                ConsistentRead=True,
            )
        )

    def verify(self, group: str) -> chain.ChainReport:
        """Recompute the group's chain (the head first, so entries appended meanwhile are not "extra")."""
        head = self.head(group)
        items = self.items(group)
        if head is not None:
            # Entries appended after the head was read sit beyond it; they are verified next time.
            items = [i for i in items if int(i.get("chain_seq", {"N": "0"})["N"]) <= head.seq]
        return chain.verify(group, items, head)

    def history(self, group: str, limit: int | None = None) -> list[LedgerEntry]:
        """The group's entries, oldest first (the first ``limit`` only, when given)."""
        items = self._query(
            KeyConditionExpression="group_name = :g",
            ExpressionAttributeValues={":g": {"S": group}},
            ScanIndexForward=True,
        )
        return [LedgerEntry.from_item(i) for i in itertools.islice(items, limit)]

    def entered(self, group: str, stage: str, *, before: str | datetime | None = None) -> Iterator[LedgerEntry]:
        """The entries by which versions entered ``stage`` (at or before ``before``), newest first:
        the sparse ``ByStageEntry`` index, read lazily page by page."""
        condition, values = "stage_key = :k", {":k": {"S": f"{group}#{stage}"}}
        names: dict[str, str] = {}
        if before is not None:
            condition += " AND #at <= :t"
            values[":t"] = {"S": normalise_time(before)}
            names["#at"] = "at"
        items = self._query(
            IndexName=LEDGER_STAGE_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            **({"ExpressionAttributeNames": names} if names else {}),
        )
        return (LedgerEntry.from_item(item) for item in items)

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


def notice(entry: LedgerEntry) -> dict[str, Any]:
    """The notification body of a ledger entry (what operators parse on the topic)."""
    return {
        "group": entry.group,
        "version": entry.version,
        "package_arn": entry.package_arn,
        "decision": entry.decision,
        "to_stage": entry.to_stage,
        "reason": entry.reason,
        "actor": entry.actor,
        "execution_arn": entry.execution_arn,
        "evidence": entry.evidence,
    }


def default_subject(entry: LedgerEntry) -> str:
    return f"[{entry.group}] v{entry.version} {entry.decision}{' -> ' + entry.to_stage if entry.to_stage else ''}"


class LedgerWriter:
    """Records a decision: appends its entry to the audit ledger, then tells the topic about it.

    Every function and the CLI record decisions through this one writer, so an entry and its
    notification never disagree. ``once=True`` uses the idempotent ``append_once`` (retried writers
    whose keys are deterministic); ``announce=False`` records without notifying (the caller notifies
    elsewhere, or nobody needs to act)."""

    def __init__(self, ledger: LedgerAppender, notify: Notify | None) -> None:
        self.ledger = ledger
        self.notify = notify

    def record(
        self,
        entry: LedgerEntry,
        *,
        subject: str | None = None,
        body: dict[str, Any] | None = None,
        once: bool = False,
        announce: bool = True,
    ) -> bool:
        """Append ``entry`` and publish ``subject`` / ``notice(entry)`` updated with ``body``; True
        when the entry was written (False: ``once`` and the same entry was already there)."""
        written = self.ledger.append_once(entry) if once else (self.ledger.append(entry) is not None)
        if announce and self.notify is not None:
            self.notify(subject or default_subject(entry), {**notice(entry), **(body or {})})
        return written

    def record_all(self, entries: list[LedgerEntry], *, subject: str, body: dict[str, Any]) -> None:
        """One decision that several entries record (a rollback: the restored and the replaced
        version): append them in order, then publish one notice."""
        for entry in entries:
            self.ledger.append(entry)
        if self.notify is not None:
            self.notify(subject, body)


@dataclass(frozen=True)
class ServedAt:
    """What served a group in Production at a time, and who approved it."""

    entry: LedgerEntry  # the entry by which it (last) entered Production before the time
    approved_by: str
    approved_at: str


def served_at(ledger: Ledger, group: str, at: str | datetime) -> ServedAt | None:
    """The audit question "what served in Production for G at T, and who approved it", answered
    from the ``ByStageEntry`` index (newest first, stopping at the first match), never the history.

    A version restored by a rollback entered Production again with ``rolled_back``; its approval is
    the latest ``entered`` Production entry of the same package before T."""
    moment = normalise_time(at)
    entry = ledger.in_stage_at(group, STAGE_PRODUCTION, moment)
    if entry is None:
        return None
    if entry.decision == "entered":
        return ServedAt(entry, entry.actor, entry.at)
    approval = next(
        (e for e in ledger.entered(group, STAGE_PRODUCTION, before=moment)
         if e.package_arn == entry.package_arn and e.decision == "entered"),
        None,
    )  # fmt: skip
    return ServedAt(entry, approval.actor if approval else entry.actor, approval.at if approval else entry.at)
