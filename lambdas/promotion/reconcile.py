"""Reconciliation: what the events should have told the pipeline, checked against the registry and ledger.

EventBridge delivers SageMaker's events best effort, and people with admin rights can change a
package outside the pipeline. On a schedule, for each managed group:

- a version that no pipeline ever handled (no ledger entry and no execution under its deterministic
  name) and that is waiting to be evaluated is started **with the same execution name** the dispatcher
  would use, so the late original event (if it ever comes) starts nothing new;
- a version whose stage or approval status is not what its ledger says (and whose execution is not
  running) is recorded as ``out_of_band_change`` (expected and observed state, who modified it),
  notified and counted; the entry becomes the new expectation, so one change is reported once;
- every execution of the promotion state machine that ended FAILED / TIMED_OUT / ABORTED within the
  look-back window and has no ``failed`` ledger entry gets one (the same check also runs on Step
  Functions' execution status change events, so it is immediate when those arrive).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mlops_registry.core.arns import split_package_arn
from mlops_registry.core.contracts import (
    APPROVED,
    PENDING_APPROVAL,
    RECONCILER_ACTOR,
    REJECTED,
    STAGE_ARCHIVED,
    STAGE_DEVELOPMENT,
    STAGE_PRODUCTION,
)
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.ledger import Ledger, LedgerEntry, LedgerWriter
from mlops_registry.core.model_registry import ModelRegistry, PackageView
from mlops_registry.core.observability import logger
from promotion.dispatch import EVALUATE, Executions, PolicySource, execution_name

OUT_OF_BAND = "out_of_band_change"
FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class Expected:
    stage: str | None
    approval: str


def expected_state(entries: Iterable[LedgerEntry]) -> Expected:
    """The stage and approval status a version has if only the pipeline changed it (ledger order).

    The rules mirror what the pipeline writes: entering Production approves; a rejection or a
    rollback that archives rejects; a failure sets a board-approved version back to pending; an
    unauthorized decision is set back to pending; an out-of-band change is the new expectation."""
    stage: str | None = None
    approval = PENDING_APPROVAL
    for entry in entries:
        if entry.decision == OUT_OF_BAND:
            observed = entry.evidence.get("observed") or {}
            stage, approval = observed.get("stage"), str(observed.get("approval") or approval)
            continue
        if entry.to_stage:
            stage = entry.to_stage
        if entry.decision == "entered" and entry.to_stage == STAGE_PRODUCTION:
            approval = APPROVED
        elif entry.decision == "rejected" or (entry.decision == "rolled_back" and entry.to_stage == STAGE_ARCHIVED):
            approval = REJECTED
        elif (
            entry.decision in ("failed", "unauthorized_approval") and approval == APPROVED and stage != STAGE_PRODUCTION
        ):
            approval = PENDING_APPROVAL
    return Expected(stage, approval)


def matches(expected: Expected, stage: str | None, approval: str) -> bool:
    """The observed state is what the ledger expects (a version the pipeline never moved may carry the
    stage its registrant gave it: none or Development)."""
    stages = (None, STAGE_DEVELOPMENT) if expected.stage is None else (expected.stage,)
    return stage in stages and approval == expected.approval


def awaits_evaluation(view: PackageView, status: str | None) -> bool:
    """What the dispatcher starts an execution for: registered, pending, stage absent or Development."""
    return (
        status in (None, "Completed")
        and view.approval_status == PENDING_APPROVAL
        and view.stage in (None, STAGE_DEVELOPMENT)
    )


@dataclass
class ReconcileReport:
    started: list[str] = field(default_factory=list)
    out_of_band: list[str] = field(default_factory=list)
    failures_recorded: list[str] = field(default_factory=list)
    checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "out_of_band": self.out_of_band,
            "failures_recorded": self.failures_recorded,
            "checked": self.checked,
        }


class Reconciler:
    def __init__(
        self,
        registry: ModelRegistry,
        ledger: Ledger,
        writer: LedgerWriter,
        executions: Executions,
        policies: PolicySource,
        lookback: timedelta,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry
        self.ledger = ledger
        self.executions = executions
        self.policies = policies
        self.writer = writer
        self.lookback = lookback
        self.now = now
        self._history: dict[str, list[LedgerEntry]] = {}

    def history(self, group: str) -> list[LedgerEntry]:
        if group not in self._history:
            self._history[group] = self.ledger.history(group)
        return self._history[group]

    # --- versions ------------------------------------------------------------------------------
    def run(self, groups: Iterable[str]) -> ReconcileReport:
        report = ReconcileReport()
        for group in groups:
            self.reconcile_group(group, report)
        self.record_unrecorded_failures(report)
        return report

    def reconcile_group(self, group: str, report: ReconcileReport) -> None:
        policy = self.policies.get(group)
        if policy is None:
            raise InvalidEventError(f"MANAGED_GROUPS: group {group!r} has no published policy")
        by_package: dict[str, list[LedgerEntry]] = {}
        for entry in self.history(group):
            by_package.setdefault(entry.package_arn, []).append(entry)
        for arn in self.registry.version_arns(group):
            report.checked += 1
            view = self.registry.describe(arn)
            entries = by_package.get(arn, [])
            name = execution_name(arn, EVALUATE)
            execution = self._execution_status(name)
            if not entries and execution is None:
                if awaits_evaluation(view, None):
                    payload = {"package_arn": arn, "group": group, "version": view.version, "policy": policy}
                    started, _ = self.executions.start(name, payload)
                    if started:
                        logger.warning("started a version no event had started", extra={"package_arn": arn})
                        report.started.append(arn)
                    continue
                self._record_out_of_band(view, Expected(None, PENDING_APPROVAL), "never handled", report)
                continue
            if execution == "RUNNING" or not entries:
                continue  # the pipeline is changing it right now / the failure sweep covers it
            expected = expected_state(entries)
            if not matches(expected, view.stage, view.approval_status):
                self._record_out_of_band(view, expected, "changed outside the pipeline", report)

    def _execution_status(self, name: str) -> str | None:
        description = self.executions.describe(self.executions.execution_arn(name))
        return None if description is None else str(description["status"])

    def _record_out_of_band(self, view: PackageView, expected: Expected, what: str, report: ReconcileReport) -> None:
        reason = (
            f"{what}: stage {expected.stage or '-'} -> {view.stage or '-'}, "
            f"approval {expected.approval} -> {view.approval_status}"
        )
        entry = LedgerEntry(
            group=view.group,
            version=view.version,
            package_arn=view.arn,
            from_stage=expected.stage,
            to_stage=view.stage,
            decision=OUT_OF_BAND,
            reason=reason,
            actor=view.last_modified_by or "unknown",
            evidence={
                "expected": {"stage": expected.stage, "approval": expected.approval},
                "observed": {"stage": view.stage, "stage_status": view.stage_status, "approval": view.approval_status},
                "last_modified_by": view.last_modified_by,
                "detected_by": RECONCILER_ACTOR,
            },
            transition="out-of-band",
        )
        self.writer.record(entry, subject=f"[{view.group}] v{view.version} changed outside the pipeline")
        self._history.setdefault(view.group, []).append(entry)
        report.out_of_band.append(view.arn)

    # --- failed executions ---------------------------------------------------------------------
    def record_unrecorded_failures(self, report: ReconcileReport) -> None:
        since = self.now() - self.lookback
        for status in FAILED_STATUSES:
            for execution in self.executions.ended(status):
                stopped = execution.get("stopDate")
                if isinstance(stopped, datetime) and stopped.astimezone(UTC) < since:
                    continue
                if self.record_failure_of(execution["executionArn"]):
                    report.failures_recorded.append(execution["executionArn"])

    def record_failure_of(self, execution_arn: str) -> bool:
        """Append a ``failed`` entry for a failed execution the ledger does not show failing; True if appended."""
        description = self.executions.describe(execution_arn)
        if description is None:
            return False
        status = str(description["status"])
        if status not in FAILED_STATUSES:
            return False
        try:
            payload = json.loads(description.get("input") or "{}")
            group, version = split_package_arn(str(payload.get("package_arn")))
        except (ValueError, InvalidEventError):
            logger.error("failed execution without a package to record it under", extra={"execution": execution_arn})
            return False
        if any(e.execution_arn == execution_arn and e.decision == "failed" for e in self.history(group)):
            return False
        cause = f"{description.get('error') or status}: {str(description.get('cause') or '')[:500]}"
        entry = LedgerEntry(
            group=group,
            version=version,
            package_arn=str(payload["package_arn"]),
            from_stage=None,
            to_stage=None,
            decision="failed",
            reason=f"execution {status.lower()} without recording its failure ({cause})",
            actor=RECONCILER_ACTOR,
            execution_arn=execution_arn,
            evidence={"status": status, "error": description.get("error"), "cause": description.get("cause")},
            transition="failed-unrecorded",
        )
        self.writer.record(entry, subject=f"[{group}] v{version} promotion {status.lower()}")
        self._history.setdefault(group, []).append(entry)
        return True
