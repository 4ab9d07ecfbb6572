"""Rollback on demand: redeploy a group's previous Production version through its serving stack.

``rollback_group`` is a plain function (the CLI's ``registry rollback --group G`` calls it) over its
ports (``RollbackPorts``: the registry, the serving stacks, the tables and the topic, built from any
client factory: the CLI's session, or ``mlops_registry.core.aws.client``), so it works against AWS or an
emulator and ships with the CLI, without the serving functions:

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_registry.core import notifier
from mlops_registry.core.aws import client
from mlops_registry.core.contracts import LEDGER_STAGE_INDEX, PARAM_CHALLENGER, PARAM_CHAMPION, PARAM_MODEL_PACKAGE
from mlops_registry.core.errors import (
    DeploymentError,
    DeploymentTimeoutError,
    InvalidEventError,
    NoPreviousVersionError,
    NoProductionVersionError,
)
from mlops_registry.core.ledger import Ledger, LedgerEntry
from mlops_registry.core.locks import PromotionLock
from mlops_registry.core.model_registry import ModelRegistry, PackageView
from mlops_registry.core.names import ledger_table_name, locks_table_name, topic_name
from mlops_registry.core.serving_names import deploy_role_name, serving_stack_name
from mlops_registry.core.serving_stacks import IN_PROGRESS, ROLLED_BACK, SETTLED_OK, ServingStacks, StackView

ROLLBACK_TIMEOUT_SECONDS = 4 * 3600
POLL_START_SECONDS = 15.0
POLL_CAP_SECONDS = 120.0
LOCK_TTL_SECONDS = ROLLBACK_TIMEOUT_SECONDS + 1800


def production_history(ddb: Any, ledger_table: str, group: str) -> list[LedgerEntry]:
    """Every ledger entry by which a version of ``group`` entered Production, newest first."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": ledger_table,
        "IndexName": LEDGER_STAGE_INDEX,
        "KeyConditionExpression": "stage_key = :k",
        "ExpressionAttributeValues": {":k": {"S": f"{group}#Production"}},
        "ScanIndexForward": False,
    }
    while True:
        page = ddb.query(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    entries = [LedgerEntry.from_item(item) for item in items]
    entries.sort(key=lambda e: (e.at, e.version), reverse=True)  # explicit, never the index's order alone
    return entries


def previous_production(
    history: list[LedgerEntry], current: PackageView, describe: Callable[[str], PackageView]
) -> PackageView:
    seen: set[str] = set()
    for entry in history:
        if entry.version == current.version or entry.package_arn in seen:
            continue
        seen.add(entry.package_arn)
        view = describe(entry.package_arn)
        if view.approval_status == "Approved":
            return view
    raise NoPreviousVersionError(
        f"group {current.group!r}: no earlier Production version (other than v{current.version}) is still Approved"
    )


def _wait(
    stacks: ServingStacks, stack_name: str, target: dict[str, str], timeout: float, sleep: Callable[[float], None]
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
    """What the rollback reads and changes, and the account it runs in."""

    registry: ModelRegistry
    stacks: ServingStacks
    dynamodb: Any
    sns: Any
    partition: str
    account: str
    region: str

    @classmethod
    def from_clients(cls, make_client: Callable[[str], Any] = client) -> RollbackPorts:
        """Every port from one client factory; the account and partition from the caller's identity."""
        identity = make_client("sts").get_caller_identity()
        sns = make_client("sns")
        return cls(
            registry=ModelRegistry(make_client("sagemaker")),
            stacks=ServingStacks(make_client("cloudformation")),
            dynamodb=make_client("dynamodb"),
            sns=sns,
            partition=str(identity["Arn"]).split(":")[1],
            account=str(identity["Account"]),
            region=str(sns.meta.region_name),
        )

    def topic_arn(self, env_name: str) -> str:
        return f"arn:{self.partition}:sns:{self.region}:{self.account}:{topic_name(env_name)}"

    def role_arn(self, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{role_name}"


def rollback_group(
    group: str,
    actor: str,
    reason: str,
    *,
    env_name: str,
    timeout_seconds: float = ROLLBACK_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    ports: RollbackPorts | None = None,
) -> dict[str, Any]:
    """Redeploy ``group``'s previous Production version; returns what was restored and replaced.

    ``ports`` default to clients from ``mlops_registry.core.aws.client`` (the process's AWS environment)."""
    for field_name, value in (("group", group), ("actor", actor), ("reason", reason), ("env_name", env_name)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidEventError(f"{field_name}: required, got {value!r}")
    ports = ports or RollbackPorts.from_clients()
    registry = ports.registry
    registry.ensure_group(group)
    ledger_table = ledger_table_name(env_name)
    current = registry.current_production(group)
    if current is None:
        raise NoProductionVersionError(f"group {group!r} has no version in Production")
    stacks = ports.stacks
    stack_name = serving_stack_name(env_name, group)
    serving = stacks.describe(stack_name)
    realign = {arn for arn in serving.parameters.values() if arn} != {current.arn}
    if realign:
        # A failed promotion left something else serving (a candidate, a challenger): the last good
        # state is the current Production version itself.
        previous = current
    else:
        previous = previous_production(
            production_history(ports.dynamodb, ledger_table, group), current, registry.describe
        )
    if PARAM_MODEL_PACKAGE in serving.parameters:
        target = {PARAM_MODEL_PACKAGE: previous.arn}
    else:
        target = {PARAM_CHAMPION: previous.arn, PARAM_CHALLENGER: ""}
    topic_arn = ports.topic_arn(env_name)
    owner = f"rollback:{actor}:{uuid.uuid4().hex[:12]}"
    lock = PromotionLock(locks_table_name(env_name), LOCK_TTL_SECONDS, dynamodb=ports.dynamodb)
    lock.acquire(group, owner, previous.arn)
    try:
        started = datetime.now(UTC) - timedelta(seconds=1)
        stacks.deploy(stack_name, target, ports.role_arn(deploy_role_name(env_name, group)))
        view = _wait(stacks, stack_name, target, timeout_seconds, sleep)
        evidence: dict[str, Any] = {
            "stack": stack_name,
            "stack_status": view.status,
            "target": target,
            "serving_before": {k: v for k, v in serving.parameters.items() if k in target},
            "replaced": current.arn,
            "restored": previous.arn,
        }
        ledger = Ledger(ledger_table, dynamodb=ports.dynamodb)
        if view.status not in SETTLED_OK or not view.serves(target):
            failure = stacks.failure(stack_name, started) if view.status in ROLLED_BACK else {"reason": view.status}
            evidence["failure"] = failure
            text = f"rollback to v{previous.version} failed ({view.status}): {failure.get('reason')}"
            ledger.append(
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
                )
            )
            notifier.publish(
                topic_arn,
                f"[{group}] rollback failed",
                {"group": group, "decision": "failed", "reason": text, "actor": actor},
                sns=ports.sns,
            )
            raise DeploymentError(text)
        replaced = None if realign else current
        stray = sorted(v for v in evidence["serving_before"].values() if v and v != previous.arn)
        evidence["realigned"] = realign
        registry.set_lifecycle(
            previous.arn,
            "Production",
            "Deployed",
            f"Restored by {actor} ("
            + (f"rollback from version {current.version}" if replaced else "serving stack realigned")
            + f"): {reason}",
        )
        if replaced is not None:
            registry.set_lifecycle(
                replaced.arn,
                "Archived",
                "RolledBack",
                f"Rolled back by {actor} to version {previous.version}: {reason}",
                approval_status="Rejected",
                approval_description=f"{actor}: rolled back: {reason}",
            )
        restored = ledger.append(
            LedgerEntry(
                group=group,
                version=previous.version,
                package_arn=previous.arn,
                from_stage=previous.stage,
                to_stage="Production",
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
        )
        if replaced is not None:
            ledger.append(
                LedgerEntry(
                    group=group,
                    version=replaced.version,
                    package_arn=replaced.arn,
                    from_stage="Production",
                    to_stage="Archived",
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
        notifier.publish(
            topic_arn,
            f"[{group}] rolled back to v{previous.version}",
            {**result, "decision": "rolled_back", "to_stage": "Production", "version": previous.version},
            sns=ports.sns,
        )
        return result
    finally:
        lock.release(group, owner)
