"""Review-board approval request handler: parse the task, call ``ApprovalRequestService``, map the result."""

from __future__ import annotations

from typing import Any

from mlops_registry.core import notifier
from mlops_registry.core.approvals import ApprovalStore
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.ledger import Ledger, LedgerWriter
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, set_correlation_id
from promotion.approval import ApprovalRequestService
from promotion.settings import ApprovalSettings, load
from promotion.state import parse_task


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_task(event)
    if not request.task_token:
        raise InvalidEventError("task_token: required for an approval request")
    set_correlation_id(request.state.package_arn)
    settings = load(ApprovalSettings)
    service = ApprovalRequestService(
        registry=ModelRegistry(),
        requests=ApprovalStore(settings.APPROVALS_TABLE),
        writer=LedgerWriter(Ledger(settings.LEDGER_TABLE), notifier.topic(settings.TOPIC_ARN)),
        timeout_hours=settings.APPROVAL_TIMEOUT_HOURS,
    )
    outcome = service.request(request.state, request.task_token, request.execution_arn)
    count("ApprovalRequestRetried" if outcome.retried else "ApprovalRequested")
    return {"requested_at": outcome.requested_at}
