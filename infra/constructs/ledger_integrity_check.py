"""``LedgerIntegrityCheck``: a daily schedule verifies every managed group's ledger hash chain and alarms
on a break.

EventBridge schedule → check function (``promotion.ledger_check.handler``, asynchronous, with its
encrypted dead-letter queue) → CloudWatch metrics ``LedgerChainBroken`` / ``LedgerGroupsVerified``
→ alarm (any broken chain) → notification topic. A second alarm fires when the check itself fails,
so a silenced check is noticed too. The function reads the ledger (Query, GetItem) and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import constants
from infra.constructs.audit_ledger import AuditLedger
from infra.constructs.encryption import PUBLISH, grant_key_use
from infra.constructs.python_lambda import PythonLambda
from mlops_registry.core import contracts
from mlops_registry.core.contracts import LEDGER_CHAIN_BROKEN_METRIC


class LedgerIntegrityCheck(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        groups: Sequence[str],
        ledger: AuditLedger,
        key: kms.IKey,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = self._build_function(groups, ledger, key, topic)
        self.schedule = events.Rule(
            self,
            "Daily",
            description="Verifies the audit ledger's hash chain of every managed group",
            schedule=events.Schedule.cron(minute="17", hour=str(constants.LEDGER_CHECK_HOUR_UTC)),
        )
        self.schedule.add_target(
            targets.LambdaFunction(self.function.function, retry_attempts=2, max_event_age=Duration.hours(6))
        )
        self.broken_alarm = cloudwatch.Alarm(
            self,
            "ChainBroken",
            alarm_description="The audit ledger's hash chain is broken for at least one group: an entry was "
            "altered, removed or inserted outside the pipeline. Run `registry verify-ledger --group G`.",
            metric=cloudwatch.Metric(
                namespace=contracts.LEDGER_METRICS_NAMESPACE,
                metric_name=LEDGER_CHAIN_BROKEN_METRIC,
                statistic="Maximum",
                period=Duration.days(1),
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.check_failed_alarm = cloudwatch.Alarm(
            self,
            "CheckFailed",
            alarm_description="The daily audit ledger check failed to run to completion.",
            metric=self.function.function.metric_errors(period=Duration.days(1), statistic="Sum"),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.broken_alarm, self.check_failed_alarm):
            alarm.add_alarm_action(cw_actions.SnsAction(topic))

    def _build_function(
        self, groups: Sequence[str], ledger: AuditLedger, key: kms.IKey, topic: sns.ITopic
    ) -> PythonLambda:
        fn = PythonLambda(
            self,
            "Function",
            family="promotion",
            handler="promotion.ledger_check.handler",
            description="Verifies the audit ledger's hash chains daily",
            key=key,
            environment={
                "LEDGER_TABLE": ledger.table.table_name,
                "MANAGED_GROUPS": ",".join(groups),
                "LEDGER_METRICS_NAMESPACE": contracts.LEDGER_METRICS_NAMESPACE,
                "TOPIC_ARN": topic.topic_arn,
            },
            timeout=constants.LEDGER_CHECK_TIMEOUT,
            asynchronous=True,
        )
        ledger.grant_verify(fn.role)
        fn.grant(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],  # PutMetricData has no resource type; the namespace condition scopes it
                conditions={"StringEquals": {"cloudwatch:namespace": contracts.LEDGER_METRICS_NAMESPACE}},
            )
        )
        fn.grant(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        grant_key_use(key, fn.role, actions=PUBLISH, services=["sns"])
        Validations.of(fn.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; "
                "cloudwatch:PutMetricData has none either and is limited to the ledger namespace by the "
                "cloudwatch:namespace condition.",
            )
        )
        return fn
