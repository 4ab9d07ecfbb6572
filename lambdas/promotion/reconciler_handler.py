"""Reconciler handler: the scheduled sweep, and Step Functions' execution status changes.

Scheduled (EventBridge schedule): ``Reconciler.run`` over every managed group. An ``Execution
Status Change`` event of the promotion state machine: record that execution's failure if the ledger
lacks it. An event about another state machine is rejected (``ForeignEventError``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mlops_registry.core import notifier
from mlops_registry.core.aws import client
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.errors import ForeignEventError
from mlops_registry.core.ledger import Ledger, LedgerWriter
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, logger
from promotion.adapters import SsmPolicySource, StepFunctionsExecutions
from promotion.reconcile import Reconciler
from promotion.settings import ReconcilerSettings, load

EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"


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
    if isinstance(event, dict) and event.get("detail-type") == EXECUTION_STATUS_CHANGE:
        detail = event.get("detail") or {}
        arn = str(detail.get("executionArn") or "")
        if detail.get("stateMachineArn") != settings.STATE_MACHINE_ARN or not arn.startswith(
            executions.execution_arn("")
        ):
            count("ForeignEvent")
            raise ForeignEventError(
                f"detail.stateMachineArn: {detail.get('stateMachineArn')!r} is not {settings.STATE_MACHINE_ARN!r}"
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
