"""``MonitoringStack``: the drift Lambda and, per managed group, its schedule, alarms and dashboard.

One function serves every group: each group's EventBridge Scheduler schedule invokes it with that
group's run request (endpoint, variants, features, thresholds, window), so the function's
environment stays small however many groups are managed.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Duration, NestedStack, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import constants
from infra.constructs.drift_alarms import DriftAlarms, variants_for
from infra.constructs.drift_dashboard import DriftDashboard
from infra.constructs.drift_fan_out import DriftFanOut
from infra.constructs.encryption import DECRYPT, key_statement
from infra.constructs.python_lambda import PythonLambda, dependencies_layer
from infra.nag import list_packages_acknowledgment, nag_form
from infra.stacks.registry_stack import RegistryStack
from mlops_registry.core import contracts
from mlops_registry.core.config import EnvironmentConfig, GroupPolicy

# NumPy comes from the AWS-managed SDK for pandas layer, resolved at deploy time through its public
# SSM parameter (no Docker, no fetch at synth). 3.16.0 rather than 3.16.1: 3.16.1 grew to 204 MB
# unzipped (aws/aws-sdk-pandas#3331) and would leave too little of Lambda's 250 MB for Powertools.
SDK_FOR_PANDAS_VERSION = "3.16.0"
SDK_FOR_PANDAS_LAYER_PARAMETER = (
    f"/aws/service/aws-sdk-pandas/{SDK_FOR_PANDAS_VERSION}/py{constants.LAMBDA_RUNTIME_NAME.removeprefix('python')}"
    f"/{constants.LAMBDA_ARCHITECTURE_NAME}/layer-arn"
)
DRIFT_MEMORY_MB = 2048  # CPU scales with memory: the statistics are NumPy-bound
DRIFT_TIMEOUT = Duration.seconds(constants.LAMBDA_MAX_SECONDS)  # the fan-out threshold is sized to it
DRIFT_RETRY_ATTEMPTS = 2
DRIFT_MIN_SAMPLES = 100  # fewer values in a window publish no PSI/KS (too noisy to alarm on)


def schedule_expression(minutes: int) -> scheduler.ScheduleExpression:
    """A cron aligned to UTC period boundaries when possible, so runs line up with alarm periods."""
    if minutes < 60 and 60 % minutes == 0:
        return scheduler.ScheduleExpression.expression(f"cron(0/{minutes} * * * ? *)")
    if minutes % 60 == 0 and (24 * 60) % minutes == 0:
        hours = minutes // 60
        return scheduler.ScheduleExpression.expression(f"cron(0 {'*' if hours == 1 else f'0/{hours}'} * * ? *)")
    return scheduler.ScheduleExpression.rate(Duration.minutes(minutes))


def run_request(env_name: str, group: GroupPolicy) -> dict[str, Any]:
    """The drift Lambda's input for one group (``monitoring.models.DriftRunRequest``)."""
    monitoring = group.monitoring
    return {
        "group": group.name,
        "endpointName": constants.endpoint_name(env_name, group.name),
        "variants": list(variants_for(group)),
        "features": list(group.features),
        "psiThreshold": monitoring.psi_threshold,
        "ksThreshold": monitoring.ks_threshold,
        "windowMinutes": monitoring.window_minutes,
        "performanceMetrics": list(monitoring.performance_metrics),
        "performanceDriftThreshold": monitoring.performance_drift_threshold,
        "minSamples": DRIFT_MIN_SAMPLES,
    }


class MonitoringStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, registry: RegistryStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.registry = registry
        self.endpoints = {g.name: constants.endpoint_name(config.name, g.name) for g in config.groups}
        self.drift_function = self._build_drift_function()
        self.scheduler_role = self._build_scheduler_role()
        self.groups: dict[str, GroupMonitoring] = {}
        for group in config.groups:
            self.groups[group.name] = GroupMonitoring(
                self,
                f"Group-{group.name}",
                env_name=config.name,
                group=group,
                function=self.drift_function.function,
                scheduler_role=self.scheduler_role,
                topic=registry.notifications.topic,
            )

    @property
    def alarms(self) -> dict[str, DriftAlarms]:
        return {name: group.alarms for name, group in self.groups.items()}

    def _build_drift_function(self) -> PythonLambda:
        layer_arn = ssm.StringParameter.value_for_string_parameter(self, SDK_FOR_PANDAS_LAYER_PARAMETER)
        # NumPy and pyarrow (the decoder's Arrow readers) come from the AWS SDK for pandas layer.
        numpy_layer = lambda_.LayerVersion.from_layer_version_arn(self, "SdkForPandasLayer", layer_arn)
        wheels = dependencies_layer(self, "DriftWheelsLayer", constants.DRIFT_LAYER_REQUIREMENTS)  # orjson
        # Referenced by its deterministic name, so the grants (and their cdk-nag forms) stay local.
        bucket = s3.Bucket.from_bucket_name(
            self, "ArtifactsBucket", constants.artifacts_bucket_name(self.config.name, self.account, self.region)
        )
        environment = {
            "CAPTURE_BUCKET": bucket.bucket_name,
            "CAPTURE_PREFIX": contracts.DATA_CAPTURE_PREFIX,
            "DRIFT_NAMESPACE": contracts.DRIFT_METRICS_NAMESPACE,
            "EVENT_BUS_NAME": "default",
            "DRIFT_EVENT_SOURCE": contracts.DRIFT_EVENT_SOURCE,
            "DRIFT_EVENT_DETAIL_TYPE": contracts.DRIFT_EVENT_DETAIL_TYPE,
            "DRIFT_PARTIALS_PREFIX": contracts.DRIFT_PARTIALS_PREFIX,
        }
        self.fan_out = DriftFanOut(
            self,
            "DriftFanOut",
            env_name=self.config.name,
            bucket=bucket,
            key=self.registry.key,
            capture_prefixes=[f"{contracts.DATA_CAPTURE_PREFIX}/{e}" for e in self.endpoints.values()],
            baseline_prefix=contracts.BASELINE_PREFIX,
            environment=environment,
            layers=[numpy_layer, wheels],
        )
        function = PythonLambda(
            self,
            "DriftFunction",
            family="monitoring",
            handler="monitoring.drift_handler.handler",
            description="Computes feature and performance drift of the managed endpoints from data capture",
            key=self.registry.key,
            environment={
                **environment,
                "FANOUT_STATE_MACHINE_ARN": self.fan_out.state_machine_arn,
                "FANOUT_THRESHOLD_BYTES": str(constants.DRIFT_FANOUT_THRESHOLD_BYTES),
            },
            timeout=DRIFT_TIMEOUT,
            memory_size=DRIFT_MEMORY_MB,
            asynchronous=True,
            extra_layers=[numpy_layer, wheels],
        )
        function.grant(
            iam.PolicyStatement(
                sid="StartFanOut", actions=["states:StartExecution"], resources=[self.fan_out.state_machine_arn]
            )
        )
        capture_prefixes = [f"{contracts.DATA_CAPTURE_PREFIX}/{e}/*" for e in self.endpoints.values()]
        object_prefixes = [*capture_prefixes, f"{contracts.BASELINE_PREFIX}/*"]
        function.grant(
            iam.PolicyStatement(
                sid="ListCaptureWindows",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": capture_prefixes}},
            )
        )
        function.grant(
            iam.PolicyStatement(
                sid="ReadCapturesAndBaselines",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(prefix) for prefix in object_prefixes],
            )
        )
        function.grant(
            key_statement(
                self,
                self.registry.key,
                sid="DecryptCapturesAndBaselines",
                actions=DECRYPT,
                services=["s3"],
                context={"aws:s3:arn": bucket.bucket_arn},
            )
        )
        function.grant(
            iam.PolicyStatement(
                sid="FindProductionVersion",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[self._package_arns(g) for g in self.config.groups],
            )
        )
        # The Service Authorization Reference authorizes ListModelPackages against model-package/*
        # (not the group it filters on) and GetMetricData against * only.
        all_packages = self.format_arn(service="sagemaker", resource="model-package", resource_name="*")
        function.grant(
            iam.PolicyStatement(sid="ListVersions", actions=["sagemaker:ListModelPackages"], resources=[all_packages])
        )
        function.grant(
            iam.PolicyStatement(sid="ReadEndpointMetrics", actions=["cloudwatch:GetMetricData"], resources=["*"])
        )
        function.grant(
            iam.PolicyStatement(
                sid="PublishDriftMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": contracts.DRIFT_METRICS_NAMESPACE}},
            )
        )
        function.grant(
            iam.PolicyStatement(
                sid="PutDriftEvents",
                actions=["events:PutEvents"],
                resources=[self.format_arn(service="events", resource="event-bus", resource_name="default")],
                conditions={"StringEquals": {"events:source": contracts.DRIFT_EVENT_SOURCE}},
            )
        )
        self._acknowledge_drift_function(function, bucket, object_prefixes)
        return function

    def _acknowledge_drift_function(self, function: PythonLambda, bucket: s3.IBucket, prefixes: list[str]) -> None:
        acknowledgments = [
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "X-Ray PutTraceSegments/PutTelemetryRecords and cloudwatch:GetMetricData support no "
                    "resource-level permissions; cloudwatch:PutMetricData is limited to the drift namespace by "
                    "the cloudwatch:namespace condition."
                ),
            ),
            list_packages_acknowledgment(self),
        ]
        acknowledgments += [
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, bucket.arn_for_objects(prefix))}]",
                reason=(
                    f"Read-only access to the objects under '{prefix[:-2]}/' only: data-capture files are named "
                    "by SageMaker per hour, baselines by the registry CLI per version."
                ),
            )
            for prefix in prefixes
        ]
        acknowledgments += [
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, self._package_arns(group))}]",
                reason=(
                    f"DescribeModelPackage on the versions of the managed group '{group.name}' only, "
                    "to find the one in Production."
                ),
            )
            for group in self.config.groups
        ]
        Validations.of(function.role).acknowledge(*acknowledgments)

    def _package_arns(self, group: GroupPolicy) -> str:
        return self.format_arn(service="sagemaker", resource="model-package", resource_name=f"{group.name}/*")

    def _build_scheduler_role(self) -> iam.Role:
        """One role for every drift schedule: it may invoke the drift function and nothing else."""
        role = iam.Role(
            self,
            "SchedulerRole",
            description="EventBridge Scheduler: invokes the drift function",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
        )
        function_arn = nag_form(self, self.drift_function.function.function_arn)
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{function_arn}:*]",
                reason="lambda:InvokeFunction on the drift function's own versions/aliases (grantInvoke's ARN:*).",
            )
        )
        return role


class GroupMonitoring(NestedStack):
    """One group's drift schedule, ``DriftAlarms`` and ``DriftDashboard``, in a nested stack.

    About 20 resources per group (two alarms per feature): one nested stack each keeps every template
    far below CloudFormation's 500-resource limit however many groups are managed.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        group: GroupPolicy,
        function: lambda_.IFunction,
        scheduler_role: iam.IRole,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id, description=f"Drift monitoring of the model group {group.name}")
        endpoint = constants.endpoint_name(env_name, group.name)
        request = run_request(env_name, group)
        request["windowEnd"] = scheduler.ContextAttribute.scheduled_time
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Drift run for {group.name} every {group.monitoring.schedule_minutes} minutes",
            schedule=schedule_expression(group.monitoring.schedule_minutes),
            target=targets.LambdaInvoke(
                function,
                input=scheduler.ScheduleTargetInput.from_object(request),
                role=scheduler_role,
                retry_attempts=DRIFT_RETRY_ATTEMPTS,
                max_event_age=Duration.minutes(group.monitoring.schedule_minutes),
            ),
        )
        self.alarms = DriftAlarms(self, "Alarms", group=group, endpoint_name=endpoint, topic=topic)
        self.dashboard = DriftDashboard(self, "Dashboard", alarms=self.alarms, dashboard_name=f"{endpoint}-monitoring")
