"""``PromotionReconciler``: nothing lost, nothing changed behind the pipeline's back.

A Lambda on a schedule (``constants.RECONCILE_SCHEDULE``) compares every managed group's versions
with the ledger: it starts versions no event started (same deterministic execution name as the
dispatcher), records stage/approval changes made outside the pipeline as ``out_of_band_change``
(notified, counted, alarmed), and gives every failed / timed-out / aborted promotion execution a
ledger entry. The same function receives Step Functions' execution status changes of the promotion
state machine, so an unrecorded failure is recorded at once when that event arrives.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants
from infra.constructs.promotion_pipeline import PromotionPipeline
from infra.constructs.python_lambda import PythonLambda
from infra.nag import list_packages_acknowledgment, nag_form
from mlops_registry.core import contracts

OUT_OF_BAND_METRIC = "OutOfBandChange"
UNRECORDED_FAILURE_METRIC = "UnrecordedFailure"
SERVICE_DIMENSION = {"service": "promotion"}  # Powertools' service dimension of the promotion family


class PromotionReconciler(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, pipeline: PromotionPipeline) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        r = pipeline.resources
        machine = pipeline.state_machine
        self.function = PythonLambda(
            self,
            "ReconcilerFunction",
            family="promotion",
            handler="promotion.reconciler_handler.handler",
            description="Starts versions no event started, records out-of-band changes and unrecorded failures",
            key=r.key,
            environment={
                "STATE_MACHINE_ARN": machine.state_machine_arn,
                "GROUP_POLICY_PREFIX": pipeline.policy_prefix,
                "MANAGED_GROUPS": ",".join(pipeline.group_names),
                "LEDGER_TABLE": r.ledger.table.table_name,
                "TOPIC_ARN": r.topic.topic_arn,
                "FAILED_LOOKBACK_HOURS": str(constants.FAILED_EXECUTION_LOOKBACK_HOURS),
            },
            timeout=constants.RECONCILER_TIMEOUT,
            asynchronous=True,
        )
        fn = self.function
        fn.grant(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=pipeline.package_arns))
        fn.grant(iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=[pipeline.all_packages_arn]))
        fn.grant(
            iam.PolicyStatement(
                actions=["states:StartExecution", "states:ListExecutions"], resources=[machine.state_machine_arn]
            )
        )
        execution_arns = (
            f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:"
            f"{constants.state_machine_name(pipeline.config.name)}:*"
        )
        fn.grant(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[execution_arns]))
        r.ledger.grant_query(fn.role)
        r.ledger.grant_append(fn.role)
        pipeline.grant_publish(fn)
        for parameter in pipeline.policy_parameters:
            parameter.grant_read(fn.role)
        Validations.of(fn.role).acknowledge(
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, arn)}]",
                    reason=f"Versions of managed group {name} are created at run time; read-only, that group's packages.",
                )
                for name, arn in zip(pipeline.group_names, pipeline.package_arns, strict=True)
            ],
            list_packages_acknowledgment(self),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, execution_arns)}]",
                reason="Execution names are derived from package ARNs at run time; read-only, this state machine.",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, r.ledger.table.table_arn)}/index/"
                f"{contracts.LEDGER_STAGE_INDEX}]",
                reason="The ledger's stage-at-time index (read-only, the ledger's own grant).",
            ),
        )
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Reconcile the managed groups with the ledger",
            schedule=events.Schedule.rate(constants.RECONCILE_SCHEDULE),
        )
        self.schedule.add_target(targets.LambdaFunction(fn.function, retry_attempts=2))
        self.execution_failures = events.Rule(
            self,
            "ExecutionFailures",
            description="Promotion executions that ended in failure",
            event_pattern=events.EventPattern(
                source=[contracts.STEP_FUNCTIONS_EVENT_SOURCE],
                detail_type=[contracts.EXECUTION_STATUS_CHANGE],
                account=[stack.account],
                region=[stack.region],
                detail={"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [machine.state_machine_arn]},
            ),
        )
        self.execution_failures.add_target(
            targets.LambdaFunction(fn.function, retry_attempts=8, max_event_age=Duration.hours(24))
        )
        action = cw_actions.SnsAction(r.topic)
        self.alarms = []
        for metric_name, description in (
            (OUT_OF_BAND_METRIC, "A stage or approval status was changed outside the promotion pipeline"),
            (UNRECORDED_FAILURE_METRIC, "A promotion execution failed without recording its failure"),
        ):
            alarm = cloudwatch.Alarm(
                self,
                f"{metric_name}Alarm",
                alarm_description=description,
                metric=cloudwatch.Metric(
                    namespace=contracts.METRICS_NAMESPACE,
                    metric_name=metric_name,
                    dimensions_map=SERVICE_DIMENSION,
                    statistic="Sum",
                    period=constants.RECONCILE_SCHEDULE,
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.alarms.append(alarm)
