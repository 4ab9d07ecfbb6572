"""Dispatcher logic: decide what a model package state change means and act on it exactly once.

- a version registered (PendingManualApproval, stage absent or Development) in a managed group
  starts the promotion execution, named deterministically from the package ARN and the transition,
  so duplicate deliveries start nothing new;
- the board setting Approved/Rejected in Studio while an approval waits resumes that execution;
- a decision from anyone but a review-board principal, or from the version's registrant, resumes
  nothing: the approval status is set back to ``PendingManualApproval``, the attempt is recorded as
  ``unauthorized_approval`` (once per modification, however often the event is delivered) and notified;
- an event from another account, region or partition, or naming another account's package, is
  rejected (``ForeignEventError``) before anything is read or started;
- anything else (unmanaged group, the pipeline's own lifecycle writes) is ignored, with the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from mlops_registry.core.approvals import resume_approval
from mlops_registry.core.arns import PACKAGE_ARN
from mlops_registry.core.contracts import PENDING_APPROVAL, STAGE_DEVELOPMENT
from mlops_registry.core.errors import ApprovalNotPendingError, ForeignEventError
from mlops_registry.core.ledger import LedgerEntry, LedgerWriter
from mlops_registry.core.ports import ApprovalDecisions
from mlops_registry.core.segregation import ReviewBoard, identity_of
from promotion.state_change import ModelPackageStateChange

EVALUATE = "evaluate"


@dataclass(frozen=True)
class DispatchOutcome:
    action: str  # started | duplicate | resumed | refused | ignored
    reason: str
    execution_name: str | None = None
    execution_arn: str | None = None


class PolicySource(Protocol):
    def get(self, group: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Home:
    """The partition, account and region this registry runs in (from its own state machine's ARN)."""

    partition: str
    account: str
    region: str

    @staticmethod
    def of(arn: str) -> Home:
        parts = arn.split(":")
        if len(parts) < 6 or not parts[4].isdigit():
            raise ValueError(f"not an ARN with partition, region and account: {arn!r}")
        return Home(partition=parts[1], account=parts[4], region=parts[3])


def check_home(event: ModelPackageStateChange, home: Home) -> None:
    """Reject an event (or a package ARN) from anywhere but this account, region and partition."""
    if event.account != home.account:
        raise ForeignEventError(f"account: event from account {event.account!r}, this registry is {home.account!r}")
    if event.region != home.region:
        raise ForeignEventError(f"region: event from region {event.region!r}, this registry is {home.region!r}")
    arn = event.detail.ModelPackageArn
    _, partition, _, region, account = arn.split(":")[:5]
    if (partition, account, region) != (home.partition, home.account, home.region):
        raise ForeignEventError(
            f"detail.ModelPackageArn: {arn!r} is not a package of partition {home.partition!r}, "
            f"account {home.account!r}, region {home.region!r}"
        )
    for resource in event.resources:
        if PACKAGE_ARN.match(resource) and resource != arn:
            raise ForeignEventError(f"resources: {resource!r} is not detail.ModelPackageArn {arn!r}")


@dataclass(frozen=True)
class Governance:
    """What the dispatcher needs to hold a decision to the segregation-of-duties rule."""

    board: ReviewBoard
    writer: LedgerWriter
    registry: ApprovalReverter


def execution_name(package_arn: str, transition: str) -> str:
    """Deterministic, valid (<= 80 chars, [A-Za-z0-9-_]) execution name for one transition of one package."""
    digest = hashlib.sha256(f"{package_arn}|{transition}".encode()).hexdigest()[:16]
    group_version = re.sub(r"[^A-Za-z0-9-]", "-", package_arn.split("model-package/", 1)[-1])
    return f"{group_version[:50]}-{transition[:10]}-{digest}"


class Executions(Protocol):
    """The promotion state machine's executions and waiting tasks (``promotion.adapters.StepFunctionsExecutions``)."""

    state_machine_arn: str

    def execution_arn(self, name: str) -> str: ...

    def start(self, name: str, payload: dict[str, Any]) -> tuple[bool, str]: ...

    def describe(self, execution_arn: str) -> dict[str, Any] | None: ...

    def ended(self, status: str) -> Iterable[dict[str, Any]]: ...

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> None: ...


class ApprovalReverter(Protocol):
    """Sets a package's approval status back (``ModelRegistry.set_approval``)."""

    def set_approval(self, package_arn: str, status: str, description: str) -> None: ...


def dispatch(
    event: ModelPackageStateChange,
    policies: PolicySource,
    executions: Executions,
    approvals: ApprovalDecisions,
    governance: Governance,
    home: Home,
) -> DispatchOutcome:
    check_home(event, home)
    detail = event.detail
    policy = policies.get(detail.ModelPackageGroupName)
    if policy is None:
        return DispatchOutcome("ignored", f"group {detail.ModelPackageGroupName!r} is not managed by this registry")

    pending = approvals.get(detail.ModelPackageArn)
    if pending is not None:
        if detail.ModelApprovalStatus == PENDING_APPROVAL:
            return DispatchOutcome("ignored", "awaiting the review board's decision")
        decider = identity_of(detail.LastModifiedBy.model_dump() if detail.LastModifiedBy else None)
        registrant = identity_of(detail.CreatedBy.model_dump() if detail.CreatedBy else None)
        verdict = governance.board.authorize(decider, registrant)
        if not verdict.authorized:
            return refuse_decision(event, pending.execution_arn, decider.arn, verdict.reason, approvals, governance)
        actor = decider.arn
        reason = detail.ApprovalDescription or f"{detail.ModelApprovalStatus} in SageMaker Studio"
        try:
            resume_approval(approvals, detail.ModelPackageArn, detail.ModelApprovalStatus, actor, reason, executions)
        except ApprovalNotPendingError as error:
            return DispatchOutcome("ignored", str(error))
        return DispatchOutcome(
            "resumed", f"{detail.ModelApprovalStatus} by {actor}", execution_arn=pending.execution_arn
        )

    stage = detail.stage()
    if detail.ModelPackageStatus not in (None, "Completed"):
        return DispatchOutcome("ignored", f"package status is {detail.ModelPackageStatus}")
    if detail.ModelApprovalStatus == PENDING_APPROVAL and stage in (None, STAGE_DEVELOPMENT):
        name = execution_name(detail.ModelPackageArn, EVALUATE)
        payload = {
            "package_arn": detail.ModelPackageArn,
            "group": detail.ModelPackageGroupName,
            "version": detail.ModelPackageVersion,
            "policy": policy,
        }
        started, arn = executions.start(name, payload)
        return DispatchOutcome(
            "started" if started else "duplicate",
            "evaluating for Staging" if started else "execution already exists",
            name,
            arn,
        )
    return DispatchOutcome("ignored", f"no action for stage {stage} with approval {detail.ModelApprovalStatus}")


UNAUTHORIZED = "unauthorized_approval"


def refuse_decision(
    event: ModelPackageStateChange,
    execution_arn: str,
    actor: str,
    why: str,
    approvals: ApprovalDecisions,
    governance: Governance,
) -> DispatchOutcome:
    """Set the status back, record and notify the attempt (once per modification); resume nothing."""
    detail = event.detail
    modified = str(detail.LastModifiedTime or event.id)
    if not approvals.note_unauthorized(detail.ModelPackageArn, modified):
        return DispatchOutcome("ignored", f"unauthorized decision of {modified} already refused", None, execution_arn)
    governance.registry.set_approval(
        detail.ModelPackageArn,
        PENDING_APPROVAL,
        f"Reverted: {detail.ModelApprovalStatus} by {actor or 'unknown'} refused ({why})",
    )
    governance.writer.record(
        LedgerEntry(
            group=detail.ModelPackageGroupName,
            version=detail.ModelPackageVersion,
            package_arn=detail.ModelPackageArn,
            from_stage=detail.stage(),
            to_stage=None,
            decision=UNAUTHORIZED,
            reason=why,
            actor=actor or "unknown",
            execution_arn=execution_arn,
            evidence={
                "attempted": detail.ModelApprovalStatus,
                "approval_description": detail.ApprovalDescription,
                "last_modified_by": detail.LastModifiedBy.model_dump() if detail.LastModifiedBy else None,
                "created_by": detail.CreatedBy.model_dump() if detail.CreatedBy else None,
                "reverted_to": PENDING_APPROVAL,
                "event_id": event.id,
            },
            transition=UNAUTHORIZED,
        ),
        subject=f"[{detail.ModelPackageGroupName}] v{detail.ModelPackageVersion} unauthorized approval refused",
        body={"attempted": detail.ModelApprovalStatus},
    )
    return DispatchOutcome("refused", why, None, execution_arn)
