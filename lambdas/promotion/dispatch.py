"""Dispatcher logic: decide what a model package state change means and act on it exactly once.

- a version registered (PendingManualApproval, stage absent or Development) in a managed group
  starts the promotion execution, named deterministically from the package ARN and the transition,
  so duplicate deliveries start nothing new;
- the board setting Approved/Rejected in Studio while an approval waits resumes that execution;
- anything else (unmanaged group, the pipeline's own lifecycle writes) is ignored, with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError
from registry_core.approvals import ApprovalStore, resume_approval
from registry_core.errors import ApprovalNotPendingError
from registry_core.events import ModelPackageStateChange

EVALUATE = "evaluate"


@dataclass(frozen=True)
class DispatchOutcome:
    action: str  # started | duplicate | resumed | ignored
    reason: str
    execution_name: str | None = None
    execution_arn: str | None = None


class PolicySource(Protocol):
    def get(self, group: str) -> dict[str, Any] | None: ...


def execution_name(package_arn: str, transition: str) -> str:
    """Deterministic, valid (<= 80 chars, [A-Za-z0-9-_]) execution name for one transition of one package."""
    digest = hashlib.sha256(f"{package_arn}|{transition}".encode()).hexdigest()[:16]
    group_version = re.sub(r"[^A-Za-z0-9-]", "-", package_arn.split("model-package/", 1)[-1])
    return f"{group_version[:50]}-{transition[:10]}-{digest}"


class ExecutionStarter:
    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self._sfn = sfn
        self.state_machine_arn = state_machine_arn

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, name: str, payload: dict[str, Any]) -> tuple[bool, str]:
        """(started?, execution ARN). An existing execution of that name means a duplicate."""
        arn = self.execution_arn(name)
        try:
            self._sfn.describe_execution(executionArn=arn)
            return False, arn
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise
        try:
            response = self._sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
            return True, str(response["executionArn"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False, arn
            raise


def dispatch(
    event: ModelPackageStateChange,
    policies: PolicySource,
    starter: ExecutionStarter,
    approvals: ApprovalStore,
    sfn: Any,
) -> DispatchOutcome:
    detail = event.detail
    policy = policies.get(detail.ModelPackageGroupName)
    if policy is None:
        return DispatchOutcome("ignored", f"group {detail.ModelPackageGroupName!r} is not managed by this registry")

    pending = approvals.get(detail.ModelPackageArn)
    if pending is not None:
        if detail.ModelApprovalStatus == "PendingManualApproval":
            return DispatchOutcome("ignored", "awaiting the review board's decision")
        actor = (detail.LastModifiedBy.identity() if detail.LastModifiedBy else None) or "unknown-studio-user"
        reason = detail.ApprovalDescription or f"{detail.ModelApprovalStatus} in SageMaker Studio"
        try:
            resume_approval(approvals, detail.ModelPackageArn, detail.ModelApprovalStatus, actor, reason, sfn=sfn)
        except ApprovalNotPendingError as error:
            return DispatchOutcome("ignored", str(error))
        return DispatchOutcome(
            "resumed", f"{detail.ModelApprovalStatus} by {actor}", execution_arn=pending.execution_arn
        )

    stage = detail.stage()
    if detail.ModelPackageStatus not in (None, "Completed"):
        return DispatchOutcome("ignored", f"package status is {detail.ModelPackageStatus}")
    if detail.ModelApprovalStatus == "PendingManualApproval" and stage in (None, "Development"):
        name = execution_name(detail.ModelPackageArn, EVALUATE)
        payload = {
            "package_arn": detail.ModelPackageArn,
            "group": detail.ModelPackageGroupName,
            "version": detail.ModelPackageVersion,
            "policy": policy,
        }
        started, arn = starter.start(name, payload)
        return DispatchOutcome(
            "started" if started else "duplicate",
            "evaluating for Staging" if started else "execution already exists",
            name,
            arn,
        )
    return DispatchOutcome("ignored", f"no action for stage {stage} with approval {detail.ModelApprovalStatus}")
