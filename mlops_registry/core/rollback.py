"""Rollback on demand: redeploy a group's previous Production version through its serving stack.

``rollback_group`` is a service (the CLI's ``registry rollback --group G`` calls it) over its ports
(``RollbackPorts``: the registry, the serving stacks, the ledger and its writer, the promotion lock;
``RollbackPorts.from_clients`` builds the boto3 adapters from any client factory: the CLI's session, or
``mlops_registry.core.aws.client``), so it works against AWS, an emulator or in-memory fakes and ships
with the CLI, without the serving functions:

1. the current Production version comes from the registry; the previous one from the audit ledger's
   ``ByStageEntry`` index (entries that entered Production, newest first, sorted explicitly again by
   time and version), skipping the current version and any version that is no longer ``Approved``;
2. the group's promotion lock is taken, so a rollback never races a pipeline deployment;
   When the serving stack does not serve the current Production version alone (a failed promotion
   left a candidate or a challenger deployed), the rollback instead realigns it to the current
   Production version: the last good state;
3. the serving stack's parameters are set to the version to restore (through the stack's deploy role,
   with the previous template), and the update is followed to its end;
4. on success the previous version is Production again (``rolled_back`` ledger entry *to
   Production*, so "what served at time T" answers it from now on) and the replaced version is
   Archived with StageStatus ``RolledBack`` and approval ``Rejected``; both are notified. A stack
   update that itself rolls back changes nothing in the registry and raises ``DeploymentError``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from mlops_registry.core import notifier
from mlops_registry.core.aws import client
from mlops_registry.core.contracts import (
    APPROVED,
    PARAM_CHALLENGER,
    PARAM_CHAMPION,
    PARAM_MODEL_PACKAGE,
    REJECTED,
    STAGE_ARCHIVED,
    STAGE_PRODUCTION,
)
from mlops_registry.core.errors import (
    DeploymentError,
    DeploymentTimeoutError,
    InvalidEventError,
    NoPreviousVersionError,
    NoProductionVersionError,
)
from mlops_registry.core.ledger import Ledger, LedgerEntry, LedgerWriter
from mlops_registry.core.locks import PromotionLock
from mlops_registry.core.model_registry import ModelRegistry, PackageView
from mlops_registry.core.names import ledger_table_name, locks_table_name, topic_name
from mlops_registry.core.ports import Lock, Registry
from mlops_registry.core.serving_names import deploy_role_name, serving_stack_name
from mlops_registry.core.serving_stacks import ServingStacks
from mlops_registry.core.stacks import IN_PROGRESS, ROLLED_BACK, SETTLED_OK, Stacks, StackView

ROLLBACK_TIMEOUT_SECONDS = 4 * 3600
POLL_START_SECONDS = 15.0
POLL_CAP_SECONDS = 120.0
LOCK_TTL_SECONDS = ROLLBACK_TIMEOUT_SECONDS + 1800


class GroupRegistry(Registry, Protocol):
    def ensure_group(self, group: str) -> None: ...


class StageEntries(Protocol):
    """The audit ledger's stage index (``Ledger.entered``)."""

    def entered(self, group: str, stage: str, *, before: str | datetime | None = None) -> Iterable[LedgerEntry]: ...


def previous_production(
    history: Iterable[LedgerEntry], current: PackageView, describe: Callable[[str], PackageView]
) -> PackageView:
    """The newest version before ``current`` that entered Production and is still Approved (entries
    sorted explicitly by time and version, never the index's order alone)."""
    seen: set[str] = set()
    for entry in sorted(history, key=lambda e: (e.at, e.version), reverse=True):
        if entry.version == current.version or entry.package_arn in seen:
            continue
        seen.add(entry.package_arn)
        view = describe(entry.package_arn)
        if view.approval_status == APPROVED:
            return view
    raise NoPreviousVersionError(
        f"group {current.group!r}: no earlier Production version (other than v{current.version}) is still Approved"
    )


def _wait(
    stacks: Stacks, stack_name: str, target: dict[str, str], timeout: float, sleep: Callable[[float], None]
) -> StackView:
    deadline = time.monotonic() + timeout
    delay = POLL_START_SECONDS
    while True:
        view = stacks.describe(stack_name)
        if view.status not in IN_PROGRESS:
            return view
        if time.monotonic() > deadline:
            raise DeploymentTimeoutError(f"serving stack {stack_name} still {view.status} after {timeout:.0f} s")
        sleep(delay)
        delay = min(POLL_CAP_SECONDS, delay * 2)


@dataclass(frozen=True)
class RollbackPorts:
    """What the rollback reads and changes, in one environment of one account."""

    env_name: str
    registry: GroupRegistry
    stacks: Stacks
    stage_entries: StageEntries
    writer: LedgerWriter
    lock: Lock
    role_arn: Callable[[str], str]  # an IAM role name -> its ARN in the account

    @classmethod
    def from_clients(cls, env_name: str, make_client: Callable[[str], Any] = client) -> RollbackPorts:
        """The boto3 adapters from one client factory; the account and partition from the caller's identity."""
        identity = make_client("sts").get_caller_identity()
        partition, account = str(identity["Arn"]).split(":")[1], str(identity["Account"])
        sns, dynamodb = make_client("sns"), make_client("dynamodb")
        topic_arn = f"arn:{partition}:sns:{sns.meta.region_name}:{account}:{topic_name(env_name)}"
        ledger = Ledger(ledger_table_name(env_name), dynamodb=dynamodb)
        return cls(
            env_name=env_name,
            registry=ModelRegistry(make_client("sagemaker")),
            stacks=ServingStacks(make_client("cloudformation")),
            stage_entries=ledger,
            writer=LedgerWriter(ledger, notifier.topic(topic_arn, sns=sns)),
            lock=PromotionLock(locks_table_name(env_name), LOCK_TTL_SECONDS, dynamodb=dynamodb),
            role_arn=lambda name: f"arn:{partition}:iam::{account}:role/{name}",
        )


def rollback_group(
    group: str,
    actor: str,
    reason: str,
    *,
    ports: RollbackPorts,
    timeout_seconds: float = ROLLBACK_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Redeploy ``group``'s previous Production version; returns what was restored and replaced."""
    for field_name, value in (("group", group), ("actor", actor), ("reason", reason)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidEventError(f"{field_name}: required, got {value!r}")
    registry, stacks, writer = ports.registry, ports.stacks, ports.writer
    registry.ensure_group(group)
    current = registry.current_production(group)
    if current is None:
        raise NoProductionVersionError(f"group {group!r} has no version in Production")
    stack_name = serving_stack_name(ports.env_name, group)
    serving = stacks.describe(stack_name)
    realign = {arn for arn in serving.parameters.values() if arn} != {current.arn}
    if realign:
        # A failed promotion left something else serving (a candidate, a challenger): the last good
        # state is the current Production version itself.
        previous = current
    else:
        previous = previous_production(ports.stage_entries.entered(group, STAGE_PRODUCTION), current, registry.describe)
    if PARAM_MODEL_PACKAGE in serving.parameters:
        target = {PARAM_MODEL_PACKAGE: previous.arn}
    else:
        target = {PARAM_CHAMPION: previous.arn, PARAM_CHALLENGER: ""}
    owner = f"rollback:{actor}:{uuid.uuid4().hex[:12]}"
    ports.lock.acquire(group, owner, previous.arn)
    try:
        started = datetime.now(UTC) - timedelta(seconds=1)
        stacks.deploy(stack_name, target, ports.role_arn(deploy_role_name(ports.env_name, group)))
        view = _wait(stacks, stack_name, target, timeout_seconds, sleep)
        evidence: dict[str, Any] = {
            "stack": stack_name,
            "stack_status": view.status,
            "target": target,
            "serving_before": {k: v for k, v in serving.parameters.items() if k in target},
            "replaced": current.arn,
            "restored": previous.arn,
        }
        if view.status not in SETTLED_OK or not view.serves(target):
            failure = stacks.failure(stack_name, started) if view.status in ROLLED_BACK else {"reason": view.status}
            evidence["failure"] = failure
            text = f"rollback to v{previous.version} failed ({view.status}): {failure.get('reason')}"
            writer.record(
                LedgerEntry(
                    group=group,
                    version=previous.version,
                    package_arn=previous.arn,
                    from_stage=previous.stage,
                    to_stage=None,
                    decision="failed",
                    reason=text,
                    actor=actor,
                    evidence=evidence,
                    transition="rollback-failed",
                ),
                subject=f"[{group}] rollback failed",
            )
            raise DeploymentError(text)
        replaced = None if realign else current
        stray = sorted(v for v in evidence["serving_before"].values() if v and v != previous.arn)
        evidence["realigned"] = realign
        registry.set_lifecycle(
            previous.arn,
            STAGE_PRODUCTION,
            "Deployed",
            f"Restored by {actor} ("
            + (f"rollback from version {current.version}" if replaced else "serving stack realigned")
            + f"): {reason}",
        )
        if replaced is not None:
            registry.set_lifecycle(
                replaced.arn,
                STAGE_ARCHIVED,
                "RolledBack",
                f"Rolled back by {actor} to version {previous.version}: {reason}",
                approval_status=REJECTED,
                approval_description=f"{actor}: rolled back: {reason}",
            )
        restored = LedgerEntry(
            group=group,
            version=previous.version,
            package_arn=previous.arn,
            from_stage=previous.stage,
            to_stage=STAGE_PRODUCTION,
            decision="rolled_back",
            reason=(
                f"restored by rollback from version {current.version}: {reason}"
                if replaced
                else f"serving stack realigned to the Production version (it served {stray}): {reason}"
            ),
            actor=actor,
            evidence=evidence,
            transition="rollback-restored",
        )
        entries = [restored]
        if replaced is not None:
            entries.append(
                LedgerEntry(
                    group=group,
                    version=replaced.version,
                    package_arn=replaced.arn,
                    from_stage=STAGE_PRODUCTION,
                    to_stage=STAGE_ARCHIVED,
                    decision="rolled_back",
                    reason=f"rolled back to version {previous.version}: {reason}",
                    actor=actor,
                    evidence=evidence,
                    at=restored.at,
                    transition="rollback-replaced",
                )
            )
        result = {
            "group": group,
            "restored_version": previous.version,
            "restored_arn": previous.arn,
            "replaced_version": replaced.version if replaced else None,
            "replaced_arn": replaced.arn if replaced else None,
            "realigned": realign,
            "stack": stack_name,
            "stack_status": view.status,
            "actor": actor,
            "reason": reason,
            "at": restored.at,
        }
        writer.record_all(
            entries,
            subject=f"[{group}] rolled back to v{previous.version}",
            body={**result, "decision": "rolled_back", "to_stage": STAGE_PRODUCTION, "version": previous.version},
        )
        return result
    finally:
        ports.lock.release(group, owner)
