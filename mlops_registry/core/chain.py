"""The ledger's per-group hash chain: the canonical form of an entry, its hash, and the verification.

**Canonical content** of a ledger item (what docs/security.md documents, so that anyone can recompute
it without this code): every attribute of the DynamoDB item except ``entry_hash``, as a JSON object
mapping the attribute name to its value as a string (``S`` values as they are, ``N`` values as their
decimal string), serialized with sorted keys, ``","`` and ``":"`` separators and no ASCII escaping,
encoded in UTF-8. ``entry_hash`` is the lowercase hex SHA-256 of those bytes. Because ``prev_hash``
(the previous entry's ``entry_hash`` for the group, ``GENESIS`` for the first) and ``chain_seq`` (the
entry's 1-based position in the group's chain) are attributes, each hash covers its predecessor.

The chain head (``chain-head#<group>`` / ``head``) holds the last entry's hash and position; it is
written in the same ``TransactWriteItems`` as the entry, conditional on the head the writer read, so
two writers can never extend the chain from the same predecessor (one of them retries).

Entries written before the chain existed carry no ``entry_hash``: they are reported as the part of
the ledger before the chain start, not as an error, as long as they precede the first chained entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64
HEAD_PREFIX = "chain-head#"
HEAD_SORT_KEY = "head"
HASH_ATTRIBUTE = "entry_hash"


def head_key(group: str) -> dict[str, Any]:
    return {"group_name": {"S": f"{HEAD_PREFIX}{group}"}, "entry_id": {"S": HEAD_SORT_KEY}}


def _plain(value: dict[str, Any], name: str) -> str:
    if "S" in value:
        return str(value["S"])
    if "N" in value:
        return str(value["N"])
    raise ValueError(f"ledger attribute {name!r}: only S and N values are part of the chain, got {sorted(value)}")


def canonical_content(item: dict[str, Any]) -> bytes:
    """The bytes ``entry_hash`` is computed over (see the module docstring)."""
    plain = {name: _plain(value, name) for name, value in item.items() if name != HASH_ATTRIBUTE}
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(item: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_content(item)).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    hash: str
    seq: int
    entry_id: str

    @staticmethod
    def from_item(item: dict[str, Any]) -> ChainHead:
        return ChainHead(
            hash=item["head_hash"]["S"], seq=int(item["chain_seq"]["N"]), entry_id=item["last_entry_id"]["S"]
        )


@dataclass(frozen=True)
class BrokenLink:
    entry_id: str
    version: int | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "version": self.version, "reason": self.reason}


@dataclass
class ChainReport:
    group: str
    entries: int
    chained: int
    legacy: int
    chain_start: str | None  # entry_id of the first chained entry
    head: ChainHead | None
    broken: BrokenLink | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "intact": self.intact,
            "entries": self.entries,
            "chained": self.chained,
            "legacy_before_chain_start": self.legacy,
            "chain_start": self.chain_start,
            "head": {"hash": self.head.hash, "seq": self.head.seq, "entry_id": self.head.entry_id}
            if self.head
            else None,
            "first_broken_link": self.broken.as_dict() if self.broken else None,
            "notes": self.notes,
        }


def _version(item: dict[str, Any]) -> int | None:
    try:
        return int(item["version"]["N"])
    except (KeyError, ValueError):
        return None


def verify(group: str, items: list[dict[str, Any]], head: ChainHead | None) -> ChainReport:
    """Recompute the group's chain from its items (any order) and its head; name the first broken link."""
    chained = [i for i in items if HASH_ATTRIBUTE in i]
    legacy = [i for i in items if HASH_ATTRIBUTE not in i]

    def seq_of(item: dict[str, Any]) -> int:
        try:
            return int(item["chain_seq"]["N"])
        except (KeyError, ValueError):
            return 0

    chained.sort(key=lambda i: (seq_of(i), i["entry_id"]["S"]))
    report = ChainReport(
        group=group,
        entries=len(items),
        chained=len(chained),
        legacy=len(legacy),
        chain_start=chained[0]["entry_id"]["S"] if chained else None,
        head=head,
    )
    if legacy:
        report.notes.append(
            f"{len(legacy)} entr{'y' if len(legacy) == 1 else 'ies'} written before the hash chain carry no hash: "
            + (f"the chain starts at {report.chain_start}" if chained else "no chained entry yet")
        )

    def broken(item: dict[str, Any], reason: str) -> ChainReport:
        report.broken = BrokenLink(item["entry_id"]["S"], _version(item), reason)
        return report

    previous_hash = GENESIS
    previous_id: str | None = None
    for position, item in enumerate(chained, start=1):
        entry_id = item["entry_id"]["S"]
        seq = seq_of(item)
        if seq != position:
            return broken(
                item,
                f"chain_seq is {seq}, expected {position}: "
                + ("an entry before it is missing" if seq > position else "a position is used twice"),
            )
        if item.get("prev_hash", {}).get("S") != previous_hash:
            return broken(
                item,
                "prev_hash does not match the hash of "
                + (f"the previous entry {previous_id}" if previous_id else "the chain start (genesis)"),
            )
        try:
            recomputed = entry_hash(item)
        except ValueError as error:
            return broken(item, str(error))
        if recomputed != item[HASH_ATTRIBUTE].get("S"):
            return broken(item, "content altered: the recomputed hash does not match entry_hash")
        previous_hash, previous_id = recomputed, entry_id
    if chained:
        start = chained[0]["entry_id"]["S"]
        late = sorted((i for i in legacy if i["entry_id"]["S"] > start), key=lambda i: i["entry_id"]["S"])
        if late:
            return broken(late[0], f"no entry_hash, but written after the chain started at {start}")
    if head is None:
        if chained:
            last = chained[-1]
            return broken(last, "the group's chain head is missing")
        return report
    if not chained:
        report.broken = BrokenLink(head.entry_id, None, f"the chain head names {head.seq} entries, none exist")
        return report
    last = chained[-1]
    if head.seq != len(chained) or head.hash != previous_hash:
        missing = head.seq - len(chained)
        what = f"{missing} entr{'y' if missing == 1 else 'ies'} after it missing" if missing > 0 else "head altered"
        report.broken = BrokenLink(
            head.entry_id,
            None,
            f"the chain head (seq {head.seq}, last {head.entry_id}) does not match the last entry "
            f"{last['entry_id']['S']} (seq {len(chained)}): {what}",
        )
    return report
