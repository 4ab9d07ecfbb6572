"""Reconciler handler: the scheduled sweep, and Step Functions' execution status changes.

Scheduled (EventBridge schedule): ``Reconciler.run`` over every managed group. An ``Execution
Status Change`` event of the promotion state machine (parsed by ``promotion.state_change``; a
malformed one raises ``InvalidEventError`` naming the field): record that execution's failure if the
ledger lacks it. An event about another state machine is rejected (``ForeignEventError``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mlops_registry.core import notifier
from mlops_registry.core.aws import client
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.errors import ForeignEventError, InvalidEventError
from mlops_registry.core.ledger import Ledger, LedgerWriter
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, logger
from promotion.adapters import SsmPolicySource, StepFunctionsExecutions
from promotion.reconcile import Reconciler
from promotion.settings import ReconcilerSettings, load
from promotion.state_change import is_execution_status_change, parse_execution_status_change


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = load(ReconcilerSettings)
    executions = StepFunctionsExecutions(client("stepfunctions"), settings.STATE_MACHINE_ARN)
    reconciler = Reconciler(
        registry=ModelRegistry(),
        ledger=Ledger(settings.LEDGER_TABLE),
        writer=LedgerWriter(Ledger(settings.LEDGER_TABLE), notifier.topic(settings.TOPIC_ARN)),
        executions=executions,
        policies=SsmPolicySource(settings.GROUP_POLICY_PREFIX),
        lookback=timedelta(hours=settings.FAILED_LOOKBACK_HOURS),
    )
    if is_execution_status_change(event):
        try:
            change = parse_execution_status_change(event)
        except InvalidEventError:
            count("MalformedEvent")
            logger.exception("rejected a malformed execution status change")
            raise
        detail = change.detail
        arn = detail.executionArn
        if detail.stateMachineArn != settings.STATE_MACHINE_ARN:
            count("ForeignEvent")
            raise ForeignEventError(
                f"detail.stateMachineArn: {detail.stateMachineArn!r} is not {settings.STATE_MACHINE_ARN!r}"
            )
        if not arn.startswith(executions.execution_arn("")):
            count("ForeignEvent")
            raise ForeignEventError(
                f"detail.executionArn: {arn!r} is not an execution of {settings.STATE_MACHINE_ARN!r}"
            )
        recorded = reconciler.record_failure_of(arn)
        count("UnrecordedFailure", 1 if recorded else 0)
        return {"failures_recorded": [arn] if recorded else []}
    report = reconciler.run(settings.groups())
    count("ReconcilerStarted", len(report.started))
    count("OutOfBandChange", len(report.out_of_band))
    count("UnrecordedFailure", len(report.failures_recorded))
    logger.info("reconciled", extra=report.as_dict())
    return report.as_dict()
