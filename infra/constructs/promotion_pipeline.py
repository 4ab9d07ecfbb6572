"""``PromotionPipeline``: EventBridge rule → dispatcher → Step Functions promotion state machine.

States (each Lambda task retries throttling/transient errors with backoff and jitter and catches
everything else into ``RecordFailure`` → ``PromotionFailed``):

    EnterDevelopment → MetricsGate → MetricsPassed? → EnterStaging → StartValidation → ValidationDone?
      (→ WaitForValidation → PollValidation → ValidationDone? until the job ends) → RecordValidation
      → ValidationPassed? → BiasGate → BiasPassed? → ExplainabilityGate → ExplainabilityPassed? → RequestApproval (task token, timeout)
      → BoardApproved? → AcquireProductionLock → NotSuperseded? → Deploy → PromoteToProduction
    any denial / rejection / timeout / superseded → RejectVersion → VersionRejected
    a failed or timed-out validation job → RecordFailure → PromotionFailed (never a pass)

``deploy_step`` lets the serving capability replace the ``Deploy`` pass-through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import constants
from infra.constructs.audit_ledger import AuditLedger
from infra.constructs.dead_letters import dead_letter_queue
from infra.constructs.encryption import DECRYPT, ENCRYPT_DECRYPT, PUBLISH, grant_key_use
from infra.constructs.experiment_tracking import TrackingAccess
from infra.constructs.holdout_validation import HoldoutValidation
from infra.constructs.python_lambda import PythonLambda
from infra.nag import list_packages_acknowledgment, nag_form, state_machine_acknowledgments
from mlops_registry.core import contracts
from mlops_registry.core.baseline import performance_baseline_s3_key
from mlops_registry.core.config import EnvironmentConfig, publish
from mlops_registry.core.mlflow_rest import LIFECYCLE_MIRROR_ACTIONS

TRANSIENT_ERRORS = [
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "TransientServiceError",
]


@dataclass
class PipelineResources:
    """What the pipeline's tasks need from the registry stack."""

    key: kms.IKey
    ledger: AuditLedger
    topic: sns.ITopic
    artifacts: s3.IBucket
    # The environment's MLflow; the lifecycle function mirrors stage changes into it.
    tracking: TrackingAccess | None = None
    # The shareable model artifacts (what the validation's transform jobs load) and their key.
    models: s3.IBucket | None = None
    models_key: kms.IKey | None = None


class PromotionPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        resources: PipelineResources,
        deploy_step: DeployStepFactory | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.resources = resources
        stack = Stack.of(self)
        self.group_names = [g.name for g in config.groups]
        self.package_arns = [
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-package/{name}/*"
            for name in self.group_names
        ]
        self.group_arns = [
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-package-group/{name}"
            for name in self.group_names
        ]
        # ListModelPackages is authorized against model packages as a whole (Service Authorization
        # Reference), not the group it filters on: no narrower resource exists for it.
        self.all_packages_arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-package/*"
        self._build_tables()
        self._build_policies()
        self._build_functions()
        self._build_validation()
        self.state_machine = self._build_state_machine(deploy_step)
        # Who may decide an approval: the configured principals, or the role StageRights creates.
        self.review_board_principals = list(config.review_board_principals) or [
            f"arn:{stack.partition}:iam::{stack.account}:role/{constants.review_board_role_name(config.name)}"
        ]
        self._build_dispatcher()

    # --- data --------------------------------------------------------------------------------
    def _table(self, construct_id: str, name: str, key: str, ttl: str | None) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            construct_id,
            table_name=name,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.resources.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=ttl,
            removal_policy=RemovalPolicy.RETAIN,
        )
        return table

    def _build_tables(self) -> None:
        env = self.config.name
        self.approvals = self._table("Approvals", constants.approvals_table_name(env), "package_arn", "expires_at")
        self.locks = self._table("PromotionLocks", constants.locks_table_name(env), "group_name", "expires_at")
        self.idempotency = self._table("Idempotency", constants.idempotency_table_name(env), "id", "expiration")

    def _build_policies(self) -> None:
        prefix = constants.group_policy_prefix(self.config.name)
        self.policy_prefix = prefix
        self.policy_parameters = []
        for group in self.config.groups:
            value = json.dumps(publish(group), sort_keys=True, separators=(",", ":"))
            self.policy_parameters.append(
                ssm.StringParameter(
                    self,
                    f"Policy-{group.name}",
                    parameter_name=contracts.group_policy_parameter(prefix, group.name),
                    string_value=value,
                    description=f"Promotion policy of model group {group.name} (generated from cdk.json)",
                    tier=ssm.ParameterTier.ADVANCED if len(value) > 4000 else ssm.ParameterTier.STANDARD,
                )
            )

    # --- functions ---------------------------------------------------------------------------
    def _function(
        self, construct_id: str, handler: str, description: str, env: dict[str, str], **kwargs: Any
    ) -> PythonLambda:
        return PythonLambda(
            self,
            construct_id,
            family="promotion",
            handler=handler,
            description=description,
            key=self.resources.key,
            environment=env,
            **kwargs,
        )

    def _grant_registry_read(self, fn: PythonLambda) -> None:
        fn.grant(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=self.package_arns))
        fn.grant(iam.PolicyStatement(actions=["sagemaker:DescribeModelPackageGroup"], resources=self.group_arns))
        fn.grant(iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=[self.all_packages_arn]))

    def _grant_idempotency(self, fn: PythonLambda) -> None:
        fn.grant(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                resources=[self.idempotency.table_arn],
            )
        )
        grant_key_use(self.resources.key, fn.role, actions=ENCRYPT_DECRYPT, services=["dynamodb"])

    def grant_publish(self, fn: PythonLambda) -> None:
        """Let ``fn`` publish to the notification topic (its key, for SNS only)."""
        fn.grant(iam.PolicyStatement(actions=["sns:Publish"], resources=[self.resources.topic.topic_arn]))
        grant_key_use(self.resources.key, fn.role, actions=PUBLISH, services=["sns"])

    def _build_functions(self) -> None:
        r = self.resources
        idem = {"IDEMPOTENCY_TABLE": self.idempotency.table_name}
        self.gates: dict[str, PythonLambda] = {}
        for gate in ("metrics", "bias", "explainability"):
            fn = self._function(
                f"{gate.capitalize()}GateFunction",
                f"promotion.gate_handlers.{gate}_gate",
                f"Promotion {gate} gate",
                idem,
            )
            self._grant_registry_read(fn)
            self._grant_idempotency(fn)
            fn.grant(iam.PolicyStatement(actions=["s3:GetObject"], resources=[r.artifacts.arn_for_objects("*")]))
            grant_key_use(
                r.key, fn.role, actions=DECRYPT, services=["s3"], context={"aws:s3:arn": r.artifacts.bucket_arn}
            )
            self.gates[gate] = fn
            self._acknowledge_registry_wildcards(fn, reports=True)

        self.approval = self._function(
            "RequestApprovalFunction",
            "promotion.approval_handler.handler",
            "Stores the review-board task token and notifies",
            {
                "APPROVALS_TABLE": self.approvals.table_name,
                "LEDGER_TABLE": r.ledger.table.table_name,
                "TOPIC_ARN": r.topic.topic_arn,
                "APPROVAL_TIMEOUT_HOURS": str(self.config.approval_timeout_hours),
            },
        )
        self._grant_registry_read(self.approval)
        self.approval.grant(iam.PolicyStatement(actions=["sagemaker:UpdateModelPackage"], resources=self.package_arns))
        self.approval.grant(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:UpdateItem"], resources=[self.approvals.table_arn]
            )
        )
        r.ledger.grant_append(self.approval.role)
        self.grant_publish(self.approval)
        self._acknowledge_registry_wildcards(self.approval)

        self.lifecycle = self._function(
            "LifecycleFunction",
            "promotion.lifecycle_handler.handler",
            "Stage changes, ledger entries and notifications",
            {
                "LEDGER_TABLE": r.ledger.table.table_name,
                "LOCKS_TABLE": self.locks.table_name,
                "TOPIC_ARN": r.topic.topic_arn,
                "LOCK_TTL_SECONDS": str(constants.LOCK_TTL_SECONDS),
                "ARTIFACTS_BUCKET": r.artifacts.bucket_name,
                **idem,
                **(
                    {
                        "MLFLOW_TRACKING_URI": r.tracking.tracking_uri,
                        "MLFLOW_MIRROR_ATTEMPTS": str(self.config.mlflow.mirror_attempts),
                    }
                    if r.tracking is not None and self.config.mlflow is not None
                    else {}
                ),
            },
        )
        if r.tracking is not None:
            # Exactly the MLflow REST calls the mirror makes (mlops_registry.core.mlflow_rest.REST_ACTIONS).
            for statement in r.tracking.rest_statements(LIFECYCLE_MIRROR_ACTIONS, "MirrorLifecycleIntoMlflow"):
                self.lifecycle.grant(statement)
        self._grant_registry_read(self.lifecycle)
        self._grant_idempotency(self.lifecycle)
        self.lifecycle.grant(iam.PolicyStatement(actions=["sagemaker:UpdateModelPackage"], resources=self.package_arns))
        self.lifecycle.grant(
            iam.PolicyStatement(actions=["dynamodb:PutItem", "dynamodb:DeleteItem"], resources=[self.locks.table_arn])
        )
        r.ledger.grant_append(self.lifecycle.role)
        self.grant_publish(self.lifecycle)
        self._grant_performance_baselines(self.lifecycle)
        # Model cards advance with the lifecycle (and are created for versions registered without the CLI).
        card_arns = self.card_arns()
        self.lifecycle.grant(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:DescribeModelCard",
                    "sagemaker:UpdateModelCard",
                    "sagemaker:CreateModelCard",
                    "sagemaker:AddTags",
                ],
                resources=card_arns,
            )
        )
        self._acknowledge_registry_wildcards(self.lifecycle)
        Validations.of(self.lifecycle.role).acknowledge(
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, arn)}]",
                    reason="Model cards of a managed group are named <group>-... at registration; scoped to that group.",
                )
                for arn in card_arns
            ]
        )

    def _grant_performance_baselines(self, fn: PythonLambda) -> None:
        """At promotion: read the version's quality evidence (a report in the artifacts bucket) and
        write its performance baseline, only at ``baselines/<managed group>/<version>/performance-baseline.json``."""
        r = self.resources
        fn.grant(
            iam.PolicyStatement(
                sid="ReadQualityEvidence", actions=["s3:GetObject"], resources=[r.artifacts.arn_for_objects("*")]
            )
        )
        baseline_keys = [
            r.artifacts.arn_for_objects(performance_baseline_s3_key(name, "*")) for name in self.group_names
        ]
        fn.grant(
            iam.PolicyStatement(sid="WritePerformanceBaselines", actions=["s3:PutObject"], resources=baseline_keys)
        )
        grant_key_use(
            r.key,
            fn.role,
            actions=("kms:Decrypt", "kms:GenerateDataKey"),
            services=["s3"],
            context={"aws:s3:arn": r.artifacts.bucket_arn},
        )
        Validations.of(fn.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, r.artifacts.arn_for_objects('*'))}]",
                reason="Quality reports are objects under run-time keys of the registry's own artifacts bucket (GetObject only).",
            ),
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, arn)}]",
                    reason="Performance baselines of a managed group's versions (numbered at run time); PutObject only.",
                )
                for arn in baseline_keys
            ],
        )

    def card_arns(self) -> list[str]:
        stack = Stack.of(self)
        return [
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-card/{name}-*"
            for name in self.group_names
        ]

    def _build_validation(self) -> None:
        r = self.resources
        if r.models is None:
            raise ValueError("PromotionPipeline: Staging validation needs the models bucket (PipelineResources.models)")
        self.validation = HoldoutValidation(
            self,
            "HoldoutValidation",
            key=r.key,
            artifacts=r.artifacts,
            models=r.models,
            models_key=r.models_key,
            card_arns=self.card_arns(),
        )
        self._grant_registry_read(self.validation.function)
        self._acknowledge_registry_wildcards(self.validation.function)

    def _acknowledge_registry_wildcards(self, fn: PythonLambda, reports: bool = False) -> None:
        acks = [
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, arn)}]",
                reason=f"Versions of managed group {name} are created at run time; scoped to that group's packages.",
            )
            for name, arn in zip(self.group_names, self.package_arns, strict=True)
        ]
        acks.append(list_packages_acknowledgment(self))
        if reports:
            acks.append(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, self.resources.artifacts.arn_for_objects('*'))}]",
                    reason="Reports are objects under run-time keys of the registry's own artifacts bucket (GetObject only).",
                )
            )
        Validations.of(fn.role).acknowledge(*acks)

    # --- state machine -----------------------------------------------------------------------
    def lambda_task(
        self, name: str, fn: PythonLambda, action: str, result_path: str, **kwargs: Any
    ) -> tasks.LambdaInvoke:
        """A Lambda task of the promotion: the standard payload (action, state, execution) and the
        transient-error retry. Deploy steps build their tasks with it too."""
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=fn.function,
            payload=sfn.TaskInput.from_object(
                {
                    "action": action,
                    "state": sfn.JsonPath.object_at("$"),
                    "execution_arn": sfn.JsonPath.string_at("$$.Execution.Id"),
                    **kwargs.pop("extra_payload", {}),
                }
            ),
            payload_response_only="integration_pattern" not in kwargs,
            retry_on_service_exceptions=False,
            result_path=result_path,
            **kwargs,
        )
        task.add_retry(
            errors=TRANSIENT_ERRORS,
            interval=constants.TASK_RETRY_INTERVAL,
            max_attempts=constants.TASK_RETRY_ATTEMPTS,
            backoff_rate=constants.TASK_RETRY_BACKOFF,
            max_delay=constants.TASK_RETRY_MAX_DELAY,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _build_state_machine(self, deploy_step: DeployStepFactory | None) -> sfn.StateMachine:
        failed = sfn.Fail(
            self,
            "PromotionFailed",
            error="PromotionFailed",
            cause="A promotion task failed permanently; see the ledger and the notification",
        )
        record_failure = self.lambda_task("RecordFailure", self.lifecycle, "record_failure", "$.failure")
        record_failure.add_catch(failed, errors=["States.ALL"], result_path="$.failure_error")
        record_failure.next(failed)

        def guarded(task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
            task.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
            return task

        rejected = sfn.Succeed(self, "VersionRejected", comment="The version did not reach Production; see the ledger")
        reject = guarded(self.lambda_task("RejectVersion", self.lifecycle, "reject", "$.lifecycle")).next(rejected)

        enter_dev = guarded(self.lambda_task("EnterDevelopment", self.lifecycle, "enter_development", "$.lifecycle"))
        metrics = guarded(self.lambda_task("MetricsGate", self.gates["metrics"], "gate", "$.gates.metrics"))
        enter_staging = guarded(self.lambda_task("EnterStaging", self.lifecycle, "enter_staging", "$.lifecycle"))
        now = {"now": sfn.JsonPath.string_at("$$.State.EnteredTime")}
        validation_fn = self.validation.function
        start_validation = guarded(
            self.lambda_task("StartValidation", validation_fn, "start", "$.validation", extra_payload=now)
        )
        wait_validation = sfn.Wait(
            self, "WaitForValidation", time=sfn.WaitTime.duration(constants.VALIDATION_POLL_INTERVAL)
        )
        poll_validation = guarded(
            self.lambda_task("PollValidation", validation_fn, "poll", "$.validation", extra_payload=now)
        )
        record_validation = sfn.Pass(
            self,
            "RecordValidation",
            comment="The platform's verdict on the holdout set becomes the validation gate",
            input_path="$.validation.verdict",
            result_path="$.gates.validation",
        )
        bias = guarded(self.lambda_task("BiasGate", self.gates["bias"], "gate", "$.gates.bias"))
        explain = guarded(
            self.lambda_task("ExplainabilityGate", self.gates["explainability"], "gate", "$.gates.explainability")
        )

        approval = self.lambda_task(
            "RequestApproval",
            self.approval,
            "request_approval",
            "$.approval",
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            task_timeout=sfn.Timeout.duration(Duration.hours(self.config.approval_timeout_hours)),
            extra_payload={"task_token": sfn.JsonPath.task_token},
        )
        timed_out = sfn.Pass(
            self,
            "ApprovalTimedOut",
            parameters={
                "decision": "TimedOut",
                "actor": contracts.APPROVAL_TIMEOUT_ACTOR,
                "reason": f"no decision within {self.config.approval_timeout_hours} h",
            },
            result_path="$.approval",
        ).next(reject)
        approval.add_catch(timed_out, errors=["States.Timeout"], result_path="$.approval_error")
        guarded(approval)

        lock = guarded(self.lambda_task("AcquireProductionLock", self.lifecycle, "acquire_lock", "$.lock"))
        lock.add_retry(
            errors=["PromotionLockHeld"],
            interval=constants.LOCK_RETRY_INTERVAL,
            max_attempts=constants.LOCK_RETRY_ATTEMPTS,
            backoff_rate=1.5,
            jitter_strategy=sfn.JitterType.FULL,
        )
        promote = guarded(self.lambda_task("PromoteToProduction", self.lifecycle, "promote", "$.lifecycle"))
        promoted = sfn.Succeed(self, "Promoted", comment="The version serves in Production")

        deploy: sfn.IChainable
        if deploy_step is not None:
            deploy = deploy_step(self, promote, reject, record_failure)
        else:
            deploy = sfn.Pass(
                self, "Deploy", comment="Deployment pass-through until a serving step is configured"
            ).next(promote)
        promote.next(promoted)

        def passed(gate: str) -> sfn.Condition:
            return sfn.Condition.boolean_equals(f"$.gates.{gate}.passed", True)

        staging_gates = bias.next(
            sfn.Choice(self, "BiasPassed?")
            .when(
                passed("bias"),
                explain.next(
                    sfn.Choice(self, "ExplainabilityPassed?")
                    .when(
                        passed("explainability"),
                        approval.next(
                            sfn.Choice(self, "BoardApproved?")
                            .when(
                                sfn.Condition.string_equals("$.approval.decision", "Approved"),
                                lock.next(
                                    sfn.Choice(self, "NotSuperseded?")
                                    .when(sfn.Condition.boolean_equals("$.lock.superseded", False), deploy)
                                    .otherwise(reject)
                                ),
                            )
                            .otherwise(reject)
                        ),
                    )
                    .otherwise(reject)
                ),
            )
            .otherwise(reject)
        )
        # Staging validation: start, then wait and poll until the platform's verdict is there.
        record_validation.next(
            sfn.Choice(self, "ValidationPassed?").when(passed("validation"), staging_gates).otherwise(reject)
        )
        validation_done = (
            sfn.Choice(self, "ValidationDone?")
            .when(sfn.Condition.boolean_equals("$.validation.done", True), record_validation)
            .otherwise(wait_validation)
        )
        wait_validation.next(poll_validation)
        poll_validation.next(validation_done)
        definition = enter_dev.next(metrics).next(
            sfn.Choice(self, "MetricsPassed?")
            .when(passed("metrics"), enter_staging.next(start_validation).next(validation_done))
            .otherwise(reject)
        )
        log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            retention=constants.LOG_RETENTION,
            encryption_key=self.resources.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=constants.state_machine_name(self.config.name),
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(self.config.approval_timeout_hours + 24)
            .plus(Duration.minutes(max(g.validation.timeout_minutes for g in self.config.groups)))
            .plus(deploy_step.max_duration(self.config) if deploy_step is not None else Duration.seconds(0)),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        tasks = [*self.gates.values(), self.approval, self.lifecycle, self.validation.function]
        Validations.of(machine.role).acknowledge(
            *state_machine_acknowledgments(self, [fn.function.function_arn for fn in tasks])
        )
        return machine

    # --- events → dispatcher -----------------------------------------------------------------
    def _build_dispatcher(self) -> None:
        self.dispatcher = self._function(
            "DispatcherFunction",
            "promotion.dispatcher.handler",
            "Turns model package state changes into promotion executions",
            {
                "STATE_MACHINE_ARN": self.state_machine.state_machine_arn,
                "APPROVALS_TABLE": self.approvals.table_name,
                "GROUP_POLICY_PREFIX": self.policy_prefix,
                "LEDGER_TABLE": self.resources.ledger.table.table_name,
                "TOPIC_ARN": self.resources.topic.topic_arn,
                "REVIEW_BOARD_PRINCIPALS": ",".join(self.review_board_principals),
            },
            asynchronous=True,
        )
        stack = Stack.of(self)
        # Refusing an unauthorized decision: set the status back, record it, notify.
        self.dispatcher.grant(
            iam.PolicyStatement(
                actions=["sagemaker:UpdateModelPackage"],
                resources=self.package_arns,
                conditions={"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}},
            )
        )
        self.resources.ledger.grant_append(self.dispatcher.role)
        self.grant_publish(self.dispatcher)
        self.dispatcher.grant(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[self.state_machine.state_machine_arn])
        )
        execution_arns = f"arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:{constants.state_machine_name(self.config.name)}:*"
        self.dispatcher.grant(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[execution_arns]))
        # The Service Authorization Reference lists no resource type for SendTask*: only "*" grants it
        # (a state machine ARN here is refused by the real authorizer); the task token is the capability.
        self.dispatcher.grant(
            iam.PolicyStatement(actions=["states:SendTaskSuccess", "states:SendTaskFailure"], resources=["*"])
        )
        self.dispatcher.grant(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"], resources=[self.approvals.table_arn]
            )
        )
        for parameter in self.policy_parameters:
            parameter.grant_read(self.dispatcher.role)
        grant_key_use(self.resources.key, self.dispatcher.role, actions=ENCRYPT_DECRYPT, services=["dynamodb"])
        Validations.of(self.dispatcher.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, execution_arns)}]",
                reason="Execution names are derived from package ARNs at run time; scoped to this state machine.",
            ),
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(self, arn)}]",
                    reason=f"Versions of managed group {name} are created at run time; the dispatcher may only set "
                    "their approval status back to PendingManualApproval.",
                )
                for name, arn in zip(self.group_names, self.package_arns, strict=True)
            ],
        )
        rule_dlq = dead_letter_queue(
            self, "RuleDeadLetters", key=self.resources.key, collects="the EventBridge rule's target"
        )
        self.rule = events.Rule(
            self,
            "ModelPackageStateChange",
            description="Model package state changes of the managed groups",
            event_pattern=events.EventPattern(
                source=[contracts.SAGEMAKER_EVENT_SOURCE],
                detail_type=[contracts.MODEL_PACKAGE_STATE_CHANGE],
                account=[stack.account],
                region=[stack.region],
                detail={"ModelPackageGroupName": sorted(self.group_names)},
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.dispatcher.function,
                dead_letter_queue=rule_dlq,
                retry_attempts=8,
                max_event_age=Duration.hours(24),
            )
        )


class DeployStepFactory:
    """Protocol-like base: ``(scope, promote, reject, record_failure) -> IChainable`` leading to ``promote``."""

    def max_duration(self, config: EnvironmentConfig) -> Duration:
        """How long the deployment can take at most (added to the state machine's timeout)."""
        return Duration.seconds(0)

    def __call__(
        self, scope: Construct, promote: sfn.IChainable, reject: sfn.IChainable, record_failure: sfn.IChainable
    ) -> sfn.IChainable:  # pragma: no cover - interface
        raise NotImplementedError
