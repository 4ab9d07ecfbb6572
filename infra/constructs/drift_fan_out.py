"""``DriftFanOut``: drift over a window too large for one invocation, on Step Functions Distributed Map.

The scheduled drift function starts it when a window's capture exceeds
``constants.DRIFT_FANOUT_THRESHOLD_BYTES`` (see docs/monitoring.md). The state machine:

    EachCapturePrefix (Distributed Map over the window's hour folders, one per variant and hour)
      └─ EachCaptureObject (Distributed Map; S3 item reader = ListObjectsV2 of the folder)
           └─ ComputePartial (worker Lambda per capture object: decode, write its mergeable
                              partial statistics to S3)
    Reduce (reducer Lambda: merge the partials, publish PSI/KS exactly as a single pass would)

Workers' results are discarded (each partial is an S3 object), so no state payload grows with the
window.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, ArnFormat, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import constants
from infra.constructs.encryption import grant_key_use
from infra.constructs.python_lambda import PythonLambda
from infra.nag import nag_form, state_machine_acknowledgments
from mlops_registry.core import contracts

FAN_OUT_MEMORY_MB = 2048  # CPU scales with memory: decoding and statistics are CPU-bound
FAN_OUT_TIMEOUT = Duration.seconds(constants.LAMBDA_MAX_SECONDS)
FAN_OUT_EXECUTION_TIMEOUT = Duration.hours(6)


class DriftFanOut(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        bucket: s3.IBucket,
        key: kms.IKey,
        capture_prefixes: Sequence[str],
        baseline_prefix: str,
        environment: dict[str, str],
        layers: Sequence[lambda_.ILayerVersion],
        max_concurrency: int = constants.DRIFT_FANOUT_MAX_CONCURRENCY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = bucket
        self.partials_prefix = contracts.DRIFT_PARTIALS_PREFIX
        self.state_machine_name = constants.drift_fan_out_name(env_name)
        self.worker = self._function(
            "WorkerFunction",
            "monitoring.drift_handler.fan_out_worker",
            "Drift fan-out worker: partial statistics of a batch of capture objects",
            key,
            environment,
            layers,
        )
        self.reducer = self._function(
            "ReducerFunction",
            "monitoring.drift_handler.fan_out_reducer",
            "Drift fan-out reducer: merges the partials and publishes the window's drift",
            key,
            environment,
            layers,
        )
        self._grant_worker(key, capture_prefixes, baseline_prefix)
        self._grant_reducer(key, baseline_prefix)
        self.state_machine = self._build_state_machine(key, max_concurrency)

    # --- functions -------------------------------------------------------------------------------
    def _function(
        self,
        construct_id: str,
        handler: str,
        description: str,
        key: kms.IKey,
        environment: dict[str, str],
        layers: Sequence[lambda_.ILayerVersion],
    ) -> PythonLambda:
        return PythonLambda(
            self,
            construct_id,
            family="monitoring",
            handler=handler,
            description=description,
            key=key,
            environment=environment,
            timeout=FAN_OUT_TIMEOUT,
            memory_size=FAN_OUT_MEMORY_MB,
            extra_layers=list(layers),
        )

    def _objects(self, prefix: str) -> str:
        return self.bucket.arn_for_objects(f"{prefix}/*")

    def _grant_worker(self, key: kms.IKey, capture_prefixes: Sequence[str], baseline_prefix: str) -> None:
        read = [*[self._objects(p) for p in capture_prefixes], self._objects(baseline_prefix)]
        self.worker.grant(iam.PolicyStatement(sid="ReadCapturesAndBaselines", actions=["s3:GetObject"], resources=read))
        self.worker.grant(
            iam.PolicyStatement(
                sid="WritePartials", actions=["s3:PutObject"], resources=[self._objects(self.partials_prefix)]
            )
        )
        grant_key_use(
            key,
            self.worker.function,
            sid="ArtifactsKey",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            services=["s3"],
            context={"aws:s3:arn": self.bucket.bucket_arn},
        )
        self._acknowledge(
            self.worker,
            [*read, self._objects(self.partials_prefix)],
            "read the window's capture objects and the version's baseline, write its own partial under "
            f"'{self.partials_prefix}/'",
        )

    def _grant_reducer(self, key: kms.IKey, baseline_prefix: str) -> None:
        partials = self._objects(self.partials_prefix)
        self.reducer.grant(
            iam.PolicyStatement(
                sid="ListPartials",
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{self.partials_prefix}/*"]}},
            )
        )
        self.reducer.grant(
            iam.PolicyStatement(
                sid="ReadPartialsAndBaselines",
                actions=["s3:GetObject"],
                resources=[partials, self._objects(baseline_prefix)],
            )
        )
        self.reducer.grant(
            iam.PolicyStatement(sid="DeleteMergedPartials", actions=["s3:DeleteObject"], resources=[partials])
        )
        grant_key_use(
            key,
            self.reducer.function,
            sid="ArtifactsKey",
            actions=["kms:Decrypt"],
            services=["s3"],
            context={"aws:s3:arn": self.bucket.bucket_arn},
        )
        self.reducer.grant(
            iam.PolicyStatement(sid="ReadEndpointMetrics", actions=["cloudwatch:GetMetricData"], resources=["*"])
        )
        self.reducer.grant(
            iam.PolicyStatement(
                sid="PublishDriftMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": contracts.DRIFT_METRICS_NAMESPACE}},
            )
        )
        stack = Stack.of(self)
        self.reducer.grant(
            iam.PolicyStatement(
                sid="PutDriftEvents",
                actions=["events:PutEvents"],
                resources=[stack.format_arn(service="events", resource="event-bus", resource_name="default")],
                conditions={"StringEquals": {"events:source": contracts.DRIFT_EVENT_SOURCE}},
            )
        )
        self._acknowledge(
            self.reducer,
            [partials, self._objects(baseline_prefix)],
            "read and delete the run's partials, read the version's baseline",
            wildcard_reason=(
                "X-Ray PutTraceSegments/PutTelemetryRecords and cloudwatch:GetMetricData support no resource-level "
                "permissions; cloudwatch:PutMetricData is limited to the drift namespace by its condition."
            ),
        )

    def _acknowledge(
        self, function: PythonLambda, object_arns: Sequence[str], purpose: str, wildcard_reason: str | None = None
    ) -> None:
        acknowledgments = [
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, arn)}]",
                reason=f"Objects under one prefix of the artifacts bucket only: {purpose}.",
            )
            for arn in dict.fromkeys(object_arns)
        ]
        acknowledgments.append(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=wildcard_reason
                or "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
            )
        )
        Validations.of(function.role).acknowledge(*acknowledgments)

    # --- state machine ---------------------------------------------------------------------------
    def _build_state_machine(self, key: kms.IKey, max_concurrency: int) -> sfn.StateMachine:
        compute = tasks.LambdaInvoke(
            self,
            "ComputePartial",
            lambda_function=self.worker.function,
            payload=sfn.TaskInput.from_json_path_at("$"),
            result_selector={"partial.$": "$.Payload.partial", "rows.$": "$.Payload.rows"},
            retry_on_service_exceptions=True,
        )
        each_object = sfn.DistributedMap(
            self,
            "EachCaptureObject",
            comment="One worker per capture object of the folder",
            item_reader=sfn.S3ObjectsItemReader(bucket=self.bucket, prefix=sfn.JsonPath.string_at("$.prefix")),
            item_selector={
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
                "variant": sfn.JsonPath.string_at("$.variant"),
                "run": sfn.JsonPath.object_at("$.run"),
            },
            max_concurrency=max_concurrency,
            result_path=sfn.JsonPath.DISCARD,
        )
        each_object.item_processor(compute)
        each_prefix = sfn.DistributedMap(
            self,
            "EachCapturePrefix",
            comment="The window's capture folders: one per variant and hour",
            items_path=sfn.JsonPath.string_at("$.prefixes"),
            item_selector={
                "variant": sfn.JsonPath.string_at("$$.Map.Item.Value.variant"),
                "prefix": sfn.JsonPath.string_at("$$.Map.Item.Value.prefix"),
                "run": sfn.JsonPath.object_at("$"),
            },
            max_concurrency=max_concurrency,
            result_path=sfn.JsonPath.DISCARD,
        )
        each_prefix.item_processor(each_object)
        reduce = tasks.LambdaInvoke(
            self,
            "Reduce",
            lambda_function=self.reducer.function,
            payload=sfn.TaskInput.from_json_path_at("$"),
            result_selector={"summary.$": "$.Payload"},
            retry_on_service_exceptions=True,
        )
        log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            retention=constants.LOG_RETENTION,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(each_prefix.next(reduce)),
            timeout=FAN_OUT_EXECUTION_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        logical_id = Stack.of(self).get_logical_id(machine.node.default_child)  # type: ignore[arg-type]
        name_of_machine = '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"' + logical_id + '"}]}]}'
        # Rendered as cdk-nag prints it, with literal account/region/partition where the env has them.
        execution_arn = nag_form(
            self,
            Stack.of(self).format_arn(
                service="states",
                resource="execution",
                resource_name="MACHINE",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        Validations.of(machine).acknowledge(
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{execution_arn.replace('MACHINE', name_of_machine + suffix)}]",
                    reason=(
                        "Distributed Map: the state machine describes and stops its own executions and their Map "
                        "Run child executions, which are named at run time under this state machine."
                    ),
                )
                for suffix in (":*", "/*:*")
            ]
        )
        Validations.of(machine.role).acknowledge(
            *state_machine_acknowledgments(self, [fn.function.function_arn for fn in (self.worker, self.reducer)])
        )
        return machine

    @property
    def state_machine_arn(self) -> str:
        stack = Stack.of(self)
        return stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
