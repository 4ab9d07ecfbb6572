"""``GuardedEndpoint``: a group's blue/green SageMaker endpoint, declared in CDK, parameterized by package ARN.

What serves is a CloudFormation parameter of the serving stack (``ModelPackageArn``); the model, the
endpoint config and the endpoint exist only once it is set (a ``CfnCondition``), so the stack can be
deployed before any version is approved. The pipeline deploys a version by updating that parameter
with the previous template (``UpdateStack``), through the stack's own service role: the template
always says what serves, and a platform team's ``cdk deploy`` keeps the serving version (CDK reuses
previous parameter values).

Every update of the endpoint runs SageMaker's deployment guardrails: ``BlueGreenUpdatePolicy`` (canary
or linear traffic shifting from config, a baking period per step, a termination wait and a maximum
execution timeout, all validated at synth against SageMaker's documented ranges) and
``AutoRollbackConfiguration`` on the alarms this construct creates (the variant's 5XX errors and its
model latency against config) plus any alarm the group's config names. The variant name never
changes across versions (``contracts.VARIANT_PRIMARY``), data capture goes to the encrypted artifacts
bucket under ``contracts.DATA_CAPTURE_PREFIX`` (the drift Lambda reads it there), the endpoint
config's storage is encrypted with the registry key, and the model's execution role reads only the
group's artifacts.

``ServingEndpoint`` holds what every serving endpoint shares (execution role, alarms, models, data
capture, ``grant_deploy``); a platform team extends serving by subclassing it, as ``AbTestEndpoint``
does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Acknowledgment, Annotations, ArnFormat, CfnCondition, Duration, Fn, Stack, Validations
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import constants
from infra.constructs.encryption import DECRYPT, key_statement
from infra.nag import nag_form
from mlops_registry.core import contracts, serving_names
from mlops_registry.core.config import GroupPolicy

# Guardrail alarms: 2 of the last 3 one-minute periods, so a bake period of a few minutes can trip them.
GUARDRAIL_ALARM_PERIOD = Duration.minutes(1)
GUARDRAIL_EVALUATION_PERIODS = 3
GUARDRAIL_DATAPOINTS = 2
MICROSECONDS_PER_MILLISECOND = 1000  # SageMaker publishes ModelLatency in microseconds
# Target tracking on invocations per instance per minute (SageMaker's predefined metric).
INVOCATIONS_PER_INSTANCE_TARGET = 1000
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 600
CAPTURE_CONTENT_TYPES = {"csvContentTypes": ["text/csv"], "jsonContentTypes": ["application/json"]}


def package_version(package_arn: str) -> str:
    """The version number of a model package ARN parameter, as a CloudFormation expression."""
    return Fn.select(2, Fn.split("/", package_arn))


class ServingEndpoint(Construct):
    """Shared parts of a group's endpoint; subclasses declare the models, endpoint config and endpoint."""

    variants: tuple[str, ...] = ()

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        group: GroupPolicy,
        key: kms.IKey,
        artifacts: s3.IBucket,
        models: s3.IBucket,
        artifacts_key: kms.IKey,
        topic: sns.ITopic | None = None,
        vpc_config: sagemaker.CfnModel.VpcConfigProperty | None = None,
        network_isolation: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.env_name = env_name
        self.group = group
        self.key = key  # internal: data capture, endpoint storage
        self.artifacts = artifacts  # internal bucket: data capture
        self.models_bucket = models  # shareable model artifacts
        self.artifacts_key = artifacts_key
        self.topic = topic
        self.vpc_config = vpc_config
        self.network_isolation = network_isolation
        self.endpoint_name = constants.endpoint_name(env_name, group.name)
        self.base_name = serving_names.resource_base(env_name, group.name)
        self.execution_role = self._build_execution_role()
        self.alarms: list[cloudwatch.Alarm] = []
        self.alarm_names: list[str] = []  # literal names: IAM and the auto-rollback refer to them
        self.models: dict[str, sagemaker.CfnModel] = {}
        self.extra_alarm_names = list(group.deployment.blue_green.extra_alarm_names)

    # --- shared builders ---------------------------------------------------------------------
    def _build_execution_role(self) -> iam.Role:
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description=f"SageMaker execution role of {self.endpoint_name}: the group's artifacts only",
        )
        artifacts = self.models_bucket.arn_for_objects(f"{self.group.name}/*")
        capture = self.artifacts.arn_for_objects(f"{contracts.DATA_CAPTURE_PREFIX}/{self.endpoint_name}/*")
        repositories = stack.format_arn(service="ecr", resource="repository", resource_name="*")
        log_group = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"/aws/sagemaker/Endpoints/{self.endpoint_name}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        statements = [
            iam.PolicyStatement(sid="ReadGroupArtifacts", actions=["s3:GetObject"], resources=[artifacts]),
            iam.PolicyStatement(sid="WriteDataCapture", actions=["s3:PutObject"], resources=[capture]),
            key_statement(
                stack,
                self.artifacts_key,
                sid="ModelArtifactsKey",
                actions=DECRYPT,
                services=["s3"],
                context={"aws:s3:arn": self.models_bucket.bucket_arn},
            ),
            key_statement(
                stack,
                self.key,
                sid="DataCaptureKey",
                actions=["kms:GenerateDataKey"],
                services=["s3"],
                context={"aws:s3:arn": self.artifacts.bucket_arn},
            ),
            iam.PolicyStatement(
                sid="PullImages",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                resources=[repositories],
            ),
            iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
            iam.PolicyStatement(
                sid="EndpointLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[log_group, f"{log_group}:*"],
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, artifacts)}]",
                reason=f"GetObject on the artifacts of group {self.group.name} only (one prefix per group).",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, capture)}]",
                reason="SageMaker writes data capture under run-time keys of this endpoint's own prefix.",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, repositories)}]",
                reason="The image comes from the model package, chosen at registration; pull-only, this account.",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken supports no resource-level permissions.",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, log_group)}:*]",
                reason="Log streams are named by SageMaker per instance; scoped to this endpoint's log group.",
            ),
        )
        return role

    def _guardrail_alarm(self, variant: str, kind: str) -> cloudwatch.Alarm:
        bg = self.group.deployment.blue_green
        dimensions = {
            contracts.DIMENSION_ENDPOINT: self.endpoint_name,
            contracts.DIMENSION_VARIANT: variant,
        }
        if kind == "5xx":
            metric = cloudwatch.Metric(
                namespace=contracts.SAGEMAKER_NAMESPACE,
                metric_name=contracts.METRIC_5XX,
                dimensions_map=dimensions,
                statistic="Sum",
                period=GUARDRAIL_ALARM_PERIOD,
            )
            threshold: float = bg.error_5xx_threshold
            comparison = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            description = f"{variant}: >= {bg.error_5xx_threshold} 5XX errors a minute (rolls a deployment back)"
        else:
            metric = cloudwatch.Metric(
                namespace=contracts.SAGEMAKER_NAMESPACE,
                metric_name=contracts.METRIC_LATENCY,
                dimensions_map=dimensions,
                statistic="Average",
                period=GUARDRAIL_ALARM_PERIOD,
            )
            threshold = bg.latency_threshold_ms * MICROSECONDS_PER_MILLISECOND
            comparison = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
            description = f"{variant}: model latency above {bg.latency_threshold_ms} ms (rolls a deployment back)"
        name = serving_names.guardrail_alarm_name(self.env_name, self.group.name, variant, kind)
        alarm = cloudwatch.Alarm(
            self,
            f"{variant}{kind.capitalize()}Alarm",
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=GUARDRAIL_EVALUATION_PERIODS,
            datapoints_to_alarm=GUARDRAIL_DATAPOINTS,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if self.topic is not None:
            alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        self.alarm_names.append(name)
        return alarm

    def _build_alarms(self) -> None:
        for variant in self.variants:
            for kind in serving_names.GUARDRAIL_KINDS:
                self._guardrail_alarm(variant, kind)

    @property
    def rollback_alarm_names(self) -> list[str]:
        """Every alarm SageMaker's auto-rollback watches during an update of this endpoint."""
        return self.alarm_names + self.extra_alarm_names

    def _auto_rollback(self) -> sagemaker.CfnEndpoint.AutoRollbackConfigProperty:
        return sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name) for name in self.rollback_alarm_names]
        )

    def _model(self, variant: str, package_arn: str, condition: CfnCondition) -> sagemaker.CfnModel:
        model = sagemaker.CfnModel(
            self,
            f"{variant}Model",
            model_name=Fn.join("", [f"{self.base_name}-{variant.lower()}-v", package_version(package_arn)]),
            execution_role_arn=self.execution_role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=package_arn),
            vpc_config=self.vpc_config,
            # No network access from the model container unless the group opts out (CKV_AWS_370).
            enable_network_isolation=self.network_isolation,
        )
        model.cfn_options.condition = condition
        self.models[variant] = model
        return model

    def _variant(
        self, variant: str, model: sagemaker.CfnModel, weight: float | Any
    ) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        deployment = self.group.deployment
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=variant,
            model_name=model.attr_model_name,
            instance_type=deployment.instance_type,
            initial_instance_count=deployment.instance_count,
            initial_variant_weight=weight,
        )

    def _data_capture(self) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=self.group.deployment.data_capture_percent,
            destination_s3_uri=f"s3://{self.artifacts.bucket_name}/{contracts.DATA_CAPTURE_PREFIX}",
            kms_key_id=self.key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                csv_content_types=CAPTURE_CONTENT_TYPES["csvContentTypes"],
                json_content_types=CAPTURE_CONTENT_TYPES["jsonContentTypes"],
            ),
        )

    def fingerprint(self, *extra: Any) -> str:
        """A short hash of the endpoint config's static settings: part of its name, so a changed setting
        makes CloudFormation create a new config (configs are immutable) while an unchanged one keeps it."""
        deployment = self.group.deployment
        payload = {
            "instance_type": deployment.instance_type,
            "instance_count": deployment.instance_count,
            "capture": deployment.data_capture_percent,
            "capture_types": CAPTURE_CONTENT_TYPES,
            "variants": list(self.variants),
            "extra": [str(e) for e in extra],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]

    # --- deploy rights -------------------------------------------------------------------------
    def grant_deploy(self, role: iam.IRole) -> None:
        """What CloudFormation needs, through ``role``, to change the models this endpoint serves."""
        stack = Stack.of(self)
        base = self.base_name.lower()  # SageMaker ARNs carry lower-cased names
        models = stack.format_arn(service="sagemaker", resource="model", resource_name=f"{base}-*")
        configs = stack.format_arn(service="sagemaker", resource="endpoint-config", resource_name=f"{base}-*")
        endpoint = stack.format_arn(service="sagemaker", resource="endpoint", resource_name=self.endpoint_name.lower())
        packages = stack.format_arn(service="sagemaker", resource="model-package", resource_name=f"{self.group.name}/*")
        tagging = ["sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags"]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="GroupModels",
                actions=["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel", *tagging],
                resources=[models],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="GroupEndpointConfigs",
                actions=[
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    *tagging,
                ],
                resources=[configs],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="GroupEndpoint",
                actions=[
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DeleteEndpoint",
                    *tagging,
                ],
                resources=[endpoint, configs],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="GroupPackages", actions=["sagemaker:DescribeModelPackage"], resources=[packages])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassExecutionRole",
                actions=["iam:PassRole"],
                resources=[self.execution_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        alarm_arns = [
            stack.format_arn(
                service="cloudwatch", resource="alarm", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
            )
            for name in self.rollback_alarm_names
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="GuardrailAlarms", actions=["cloudwatch:DescribeAlarms"], resources=alarm_arns)
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EndpointStorageKey",
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sagemaker.{stack.region}.amazonaws.com"}},
            )
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, models)}]",
                reason=f"Models of group {self.group.name} are named '{base}-<variant>-v<version>' per deployed version.",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, configs)}]",
                reason=f"Endpoint configs of group {self.group.name} are named '{base}-<settings hash>-v<versions>'.",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, packages)}]",
                reason=f"The deployed version of group {self.group.name} is chosen at run time (a stack parameter).",
            ),
        )


class GuardedEndpoint(ServingEndpoint):
    """One ``Primary`` variant, updated blue/green behind SageMaker's deployment guardrails."""

    variants = contracts.VARIANTS_BY_MODE["blue_green"]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        group: GroupPolicy,
        package_arn: str,
        deployed: CfnCondition,
        key: kms.IKey,
        artifacts: s3.IBucket,
        models: s3.IBucket,
        artifacts_key: kms.IKey,
        topic: sns.ITopic | None = None,
        vpc_config: sagemaker.CfnModel.VpcConfigProperty | None = None,
        network_isolation: bool = True,
        extra_alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env_name=env_name,
            group=group,
            key=key,
            artifacts=artifacts,
            models=models,
            artifacts_key=artifacts_key,
            topic=topic,
            vpc_config=vpc_config,
            network_isolation=network_isolation,
        )
        self.deployed = deployed
        self.extra_alarm_names += [alarm.alarm_name for alarm in extra_alarms]
        self._build_alarms()
        model = self._model(contracts.VARIANT_PRIMARY, package_arn, deployed)
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            endpoint_config_name=Fn.join(
                "", [f"{self.base_name}-{self.fingerprint()}-v", package_version(package_arn)]
            ),
            production_variants=[self._variant(contracts.VARIANT_PRIMARY, model, 1.0)],
            data_capture_config=self._data_capture(),
            kms_key_id=self.key.key_arn,
        )
        self.endpoint_config.cfn_options.condition = deployed
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=self.deployment_config(),
        )
        self.endpoint.cfn_options.condition = deployed
        for alarm in self.alarms:
            self.endpoint.node.add_dependency(alarm)
        self._build_autoscaling()
        if group.deployment.instance_count < 2:
            Annotations.of(self).add_warning_v2(
                "mlops:serving:single-instance",
                f"{group.name}: with one instance, the first {group.deployment.blue_green.traffic_routing} step "
                "of a blue/green update already shifts all capacity; use instanceCount >= 2 for gradual shifting.",
            )

    def deployment_config(self) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
        bg = self.group.deployment.blue_green
        if bg.traffic_routing == "canary":
            routing = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                type="CANARY",
                wait_interval_in_seconds=bg.wait_interval_seconds,
                canary_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                    type="CAPACITY_PERCENT", value=bg.canary_percent
                ),
            )
        else:
            routing = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                type="LINEAR",
                wait_interval_in_seconds=bg.wait_interval_seconds,
                linear_step_size=sagemaker.CfnEndpoint.CapacitySizeProperty(
                    type="CAPACITY_PERCENT", value=bg.linear_step_percent
                ),
            )
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=routing,
                termination_wait_in_seconds=bg.termination_wait_seconds,
                maximum_execution_timeout_in_seconds=bg.maximum_execution_timeout_seconds,
            ),
            auto_rollback_configuration=self._auto_rollback(),
        )

    def _build_autoscaling(self) -> None:
        deployment = self.group.deployment
        self.scalable_target: appscaling.CfnScalableTarget | None = None
        if deployment.max_instances <= deployment.instance_count:
            return
        target = appscaling.CfnScalableTarget(
            self,
            "ScalableTarget",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=f"endpoint/{self.endpoint_name}/variant/{contracts.VARIANT_PRIMARY}",
            min_capacity=deployment.instance_count,
            max_capacity=deployment.max_instances,
        )
        target.cfn_options.condition = self.deployed
        target.add_resource_dependency(self.endpoint)
        policy = appscaling.CfnScalingPolicy(
            self,
            "ScalingPolicy",
            policy_name=f"{self.endpoint_name}-invocations-per-instance",
            policy_type="TargetTrackingScaling",
            scaling_target_id=target.ref,
            target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=INVOCATIONS_PER_INSTANCE_TARGET,
                predefined_metric_specification=appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance"
                ),
                scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS,
                scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS,
            ),
        )
        policy.cfn_options.condition = self.deployed
        self.scalable_target = target

    def grant_deploy(self, role: iam.IRole) -> None:
        super().grant_deploy(role)
        if self.scalable_target is None:
            return
        stack = Stack.of(self)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EndpointAutoscaling",
                actions=[
                    "application-autoscaling:RegisterScalableTarget",
                    "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:DescribeScalableTargets",
                    "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:DeleteScalingPolicy",
                    "application-autoscaling:DescribeScalingPolicies",
                ],
                resources=["*"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AutoscalingServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[
                    stack.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name="aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                    )
                ],
                conditions={"StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
            )
        )
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Application Auto Scaling scalable targets and policies support no resource-level "
                "permissions (their ARNs carry random ids); needed only when the variant autoscales.",
            )
        )
