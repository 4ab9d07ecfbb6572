"""Review-board approval request: the ``waitForTaskToken`` task.

Marks the version Staging/PendingApproval, stores the task token keyed by package ARN, records the
request in the ledger and tells the board what to review and how to decide (CLI or Studio).

Idempotent per execution: a retried or duplicated task (its response lost, a Lambda service error)
refreshes the stored task token but keeps the first attempt's request time, so the ledger entry's key
is the same (``append_once``: one ``requested`` entry) and the board is notified once (the store
remembers it was notified).
"""

from __future__ import annotations

from typing import Any

from mlops_registry.core import notifier
from mlops_registry.core.approvals import ApprovalStore, PendingApproval
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.contracts import PIPELINE_ACTOR
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.ledger import Ledger, LedgerEntry, now_iso
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, set_correlation_id
from promotion.settings import ApprovalSettings, load
from promotion.state import parse_task


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_task(event)
    if not request.task_token:
        raise InvalidEventError("task_token: required for an approval request")
    state = request.state
    set_correlation_id(state.package_arn)
    settings = load(ApprovalSettings)
    registry = ModelRegistry()
    view = registry.describe(state.package_arn)
    registry.set_lifecycle(view.arn, "Staging", "PendingApproval", "All gates passed; awaiting the review board")
    store = ApprovalStore(settings.APPROVALS_TABLE)
    recorded = store.request(
        PendingApproval(
            package_arn=view.arn,
            task_token=request.task_token,
            execution_arn=request.execution_arn,
            group=view.group,
            version=view.version,
            requested_at=now_iso(),
        ),
        timeout_hours=settings.APPROVAL_TIMEOUT_HOURS,
    )
    requested_at = recorded.requested_at
    Ledger(settings.LEDGER_TABLE).append_once(
        LedgerEntry(
            group=view.group,
            version=view.version,
            package_arn=view.arn,
            from_stage="Staging",
            to_stage="Staging",
            decision="requested",
            reason="review board approval requested",
            actor=PIPELINE_ACTOR,
            execution_arn=request.execution_arn,
            evidence={"gates": state.gates},
            at=requested_at,
            transition="approval-requested",
        )
    )
    if recorded.notified:
        count("ApprovalRequestRetried")
        return {"requested_at": requested_at}
    notifier.publish(
        settings.TOPIC_ARN,
        f"[{view.group}] v{view.version} awaits review board approval",
        {
            "group": view.group,
            "version": view.version,
            "package_arn": view.arn,
            "decision": "approval_requested",
            "gates": state.gates,
            "model_card": view.customer_metadata.get("ModelCardArn"),
            "timeout_hours": settings.APPROVAL_TIMEOUT_HOURS,
            "approve": f"registry approve --arn {view.arn} --reason '<why>'  (or set Approved in SageMaker Studio)",
            "reject": f"registry reject --arn {view.arn} --reason '<why>'  (or set Rejected in SageMaker Studio)",
        },
    )
    store.mark_notified(view.arn, request.execution_arn)
    count("ApprovalRequested")
    return {"requested_at": requested_at}
