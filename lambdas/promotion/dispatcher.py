"""Dispatcher handler: EventBridge ``SageMaker Model Package State Change`` → promotion execution.

A malformed event raises ``InvalidEventError`` naming the field (after a ``MalformedEvent`` metric);
nothing is started or written for it, and the asynchronous invocation ends in the DLQ for inspection.
"""

from __future__ import annotations

from typing import Any

from mlops_registry.core import notifier
from mlops_registry.core.approvals import ApprovalStore
from mlops_registry.core.aws import client
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.errors import ForeignEventError, InvalidEventError
from mlops_registry.core.ledger import Ledger, LedgerWriter
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, logger, set_correlation_id
from mlops_registry.core.segregation import ReviewBoard
from promotion.adapters import SsmPolicySource, StepFunctionsExecutions
from promotion.dispatch import Governance, Home, dispatch
from promotion.settings import DispatcherSettings, load
from promotion.state_change import parse_state_change


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        change = parse_state_change(event)
    except InvalidEventError:
        count("MalformedEvent")
        logger.exception("rejected a malformed model package state change")
        raise
    set_correlation_id(change.detail.ModelPackageArn)
    settings = load(DispatcherSettings)
    try:
        outcome = dispatch(
            change,
            policies=SsmPolicySource(settings.GROUP_POLICY_PREFIX),
            executions=StepFunctionsExecutions(client("stepfunctions"), settings.STATE_MACHINE_ARN),
            approvals=ApprovalStore(settings.APPROVALS_TABLE),
            governance=Governance(
                board=ReviewBoard(settings.board_principals()),
                writer=LedgerWriter(Ledger(settings.LEDGER_TABLE), notifier.topic(settings.TOPIC_ARN)),
                registry=ModelRegistry(client("sagemaker")),
            ),
            home=Home.of(settings.STATE_MACHINE_ARN),
        )
    except ForeignEventError:
        count("ForeignEvent")
        logger.exception("rejected an event from outside this registry's account and region")
        raise
    count(f"Dispatch_{outcome.action}")
    if outcome.action == "refused":
        count("UnauthorizedApproval")
    logger.info("dispatched", extra={"outcome": outcome.__dict__})
    return dict(outcome.__dict__)
