"""Review-board approval request: what the ``waitForTaskToken`` task does, over its ports.

Marks the version Staging/PendingApproval, stores the task token keyed by package ARN, records the
request in the ledger and tells the board what to review and how to decide (CLI or Studio).

Idempotent per execution: a retried or duplicated task (its response lost, a Lambda service error)
refreshes the stored task token but keeps the first attempt's request time, so the ledger entry's key
is the same (``once``: one ``requested`` entry) and the board is notified once (the store remembers it
was notified).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlops_registry.core.approvals import PendingApproval
from mlops_registry.core.contracts import STAGE_STAGING
from mlops_registry.core.ledger import LedgerEntry, LedgerWriter, now_iso
from mlops_registry.core.ports import ApprovalRequests, Registry
from promotion.lifecycle import PIPELINE_ACTOR
from promotion.state import PromotionState


@dataclass(frozen=True)
class ApprovalRequested:
    requested_at: str
    retried: bool  # the board had already been told (a retried task)


class ApprovalRequestService:
    def __init__(
        self,
        registry: Registry,
        requests: ApprovalRequests,
        writer: LedgerWriter,
        timeout_hours: int,
        now: Callable[[], str] = now_iso,
    ) -> None:
        self.registry = registry
        self.requests = requests
        self.writer = writer
        self.timeout_hours = timeout_hours
        self.now = now

    def request(self, state: PromotionState, task_token: str, execution_arn: str) -> ApprovalRequested:
        view = self.registry.describe(state.package_arn)
        self.registry.set_lifecycle(
            view.arn, STAGE_STAGING, "PendingApproval", "All gates passed; awaiting the review board"
        )
        recorded = self.requests.request(
            PendingApproval(
                package_arn=view.arn,
                task_token=task_token,
                execution_arn=execution_arn,
                group=view.group,
                version=view.version,
                requested_at=self.now(),
            ),
            timeout_hours=self.timeout_hours,
        )
        entry = LedgerEntry(
            group=view.group,
            version=view.version,
            package_arn=view.arn,
            from_stage=STAGE_STAGING,
            to_stage=STAGE_STAGING,
            decision="requested",
            reason="review board approval requested",
            actor=PIPELINE_ACTOR,
            execution_arn=execution_arn,
            evidence={"gates": state.gates},
            at=recorded.requested_at,
            transition="approval-requested",
        )
        self.writer.record(
            entry,
            subject=f"[{view.group}] v{view.version} awaits review board approval",
            body=self._board_notice(view.arn, state.gates, view.customer_metadata),
            once=True,
            announce=not recorded.notified,
        )
        if not recorded.notified:
            self.requests.mark_notified(view.arn, execution_arn)
        return ApprovalRequested(recorded.requested_at, retried=recorded.notified)

    def _board_notice(self, arn: str, gates: dict[str, Any], metadata: dict[str, str]) -> dict[str, Any]:
        return {
            "decision": "approval_requested",
            "gates": gates,
            "model_card": metadata.get("ModelCardArn"),
            "timeout_hours": self.timeout_hours,
            "approve": f"registry approve --arn {arn} --reason '<why>'  (or set Approved in SageMaker Studio)",
            "reject": f"registry reject --arn {arn} --reason '<why>'  (or set Rejected in SageMaker Studio)",
        }
