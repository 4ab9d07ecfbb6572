"""Dispatcher handler: EventBridge ``SageMaker Model Package State Change`` → promotion execution.

A malformed event raises ``InvalidEventError`` naming the field (after a ``MalformedEvent`` metric);
nothing is started or written for it, and the asynchronous invocation ends in the DLQ for inspection.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.core import notifier
from mlops_registry.core.approvals import ApprovalStore
from mlops_registry.core.aws import client
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.config import publish, read_published
from mlops_registry.core.contracts import group_policy_parameter
from mlops_registry.core.errors import ForeignEventError, InvalidEventError
from mlops_registry.core.events import parse_state_change
from mlops_registry.core.ledger import Ledger
from mlops_registry.core.observability import count, instrumented, logger, set_correlation_id
from mlops_registry.core.segregation import ReviewBoard
from promotion.dispatch import ExecutionStarter, Governance, Home, dispatch
from promotion.settings import DispatcherSettings, load


class SsmPolicySource:
    """Each managed group's policy lives in an SSM parameter written by the CDK app."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._ssm = client("ssm")

    def get(self, group: str) -> dict[str, Any] | None:
        try:
            value = self._ssm.get_parameter(Name=group_policy_parameter(self.prefix, group))["Parameter"]["Value"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise
        return publish(read_published(value, f"ssm:{group_policy_parameter(self.prefix, group)}"))


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
    sfn = client("stepfunctions")
    try:
        outcome = dispatch(
            change,
            policies=SsmPolicySource(settings.GROUP_POLICY_PREFIX),
            starter=ExecutionStarter(sfn, settings.STATE_MACHINE_ARN),
            approvals=ApprovalStore(settings.APPROVALS_TABLE),
            sfn=sfn,
            governance=Governance(
                board=ReviewBoard(settings.board_principals()),
                ledger=Ledger(settings.LEDGER_TABLE),
                notify=lambda subject, body: notifier.publish(settings.TOPIC_ARN, subject, body),
                sagemaker=client("sagemaker"),
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
