"""``ServingStack``: one managed group's endpoint, its guardrail alarms and its deploy role.

One stack per group, so a deployment touches one group's resources only and the stack's service role
can be scoped to them. What serves is the stack's parameter(s) (see ``GuardedEndpoint`` /
``AbTestEndpoint``); the pipeline and ``registry rollback`` change them with ``UpdateStack``
(previous template) through ``DeployRole``, the only principal CloudFormation acts as for them.
The stack carries no bootstrap-version rule, so that update needs nothing but the role.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnCondition, CfnOutput, CfnParameter, DefaultStackSynthesizer, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra import constants
from infra.constructs.ab_test_endpoint import AbTestEndpoint
from infra.constructs.guarded_endpoint import GuardedEndpoint, ServingEndpoint
from infra.stacks.registry_stack import RegistryStack
from mlops_registry.core import contracts, serving_names
from mlops_registry.core.config import EnvironmentConfig, GroupPolicy

PACKAGE_ARN_PATTERN = r"^$|^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:model-package/{group}/[0-9]+$"


class ServingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        group: GroupPolicy,
        registry: RegistryStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
            description=f"Serving endpoint of model group {group.name} ({group.deployment.mode.replace('_', '/')})",
            **kwargs,
        )
        self.group = group
        artifacts = s3.Bucket.from_bucket_name(
            self, "ArtifactsBucket", constants.artifacts_bucket_name(config.name, self.account, self.region)
        )
        models = s3.Bucket.from_bucket_name(
            self, "ModelsBucket", constants.models_bucket_name(config.name, self.account, self.region)
        )
        common: dict[str, Any] = {
            "env_name": config.name,
            "group": group,
            "key": registry.key,
            "artifacts": artifacts,
            "models": models,
            "artifacts_key": registry.artifacts_key,
            "topic": registry.notifications.topic,
            "network_isolation": group.deployment.network_isolation,
            "vpc_config": sagemaker.CfnModel.VpcConfigProperty(
                subnets=list(group.deployment.vpc_subnet_ids),
                security_group_ids=list(group.deployment.vpc_security_group_ids),
            )
            if group.deployment.vpc_subnet_ids
            else None,
        }
        self.endpoint: ServingEndpoint
        if group.deployment.mode == "blue_green":
            package = self._package_parameter(contracts.PARAM_MODEL_PACKAGE, "The model package version that serves")
            deployed = self._condition("ModelDeployed", package)
            self.endpoint = GuardedEndpoint(self, "Endpoint", package_arn=package, deployed=deployed, **common)
        else:
            champion = self._package_parameter(contracts.PARAM_CHAMPION, "The Production version (champion)")
            challenger = self._package_parameter(
                contracts.PARAM_CHALLENGER, "The version under A/B test (challenger); empty when no test runs"
            )
            has_champion = self._condition("ChampionDeployed", champion)
            has_challenger = CfnCondition(
                self,
                "ChallengerDeployed",
                expression=Fn.condition_and(
                    Fn.condition_not(Fn.condition_equals(champion, "")),
                    Fn.condition_not(Fn.condition_equals(challenger, "")),
                ),
            )
            self.endpoint = AbTestEndpoint(
                self,
                "Endpoint",
                champion_arn=champion,
                has_champion=has_champion,
                challenger_arn=challenger,
                has_challenger=has_challenger,
                **common,
            )
        self.deploy_role = iam.Role(
            self,
            "DeployRole",
            role_name=serving_names.deploy_role_name(config.name, group.name),
            assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
            description=f"CloudFormation service role: changes what endpoint {self.endpoint.endpoint_name} serves",
        )
        self.endpoint.grant_deploy(self.deploy_role)
        self.add_stack_dependency(registry)
        CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)
        CfnOutput(self, "DeployRoleArn", value=self.deploy_role.role_arn)

    def _package_parameter(self, name: str, description: str) -> str:
        parameter = CfnParameter(
            self,
            name,
            type="String",
            default="",
            description=f"{description}; set by the promotion pipeline or 'registry rollback', empty before any",
            allowed_pattern=PACKAGE_ARN_PATTERN.replace("{group}", self.group.name),
            constraint_description=f"a versioned model package ARN of group {self.group.name}, or empty",
        )
        return parameter.value_as_string

    def _condition(self, name: str, package_arn: str) -> CfnCondition:
        return CfnCondition(self, name, expression=Fn.condition_not(Fn.condition_equals(package_arn, "")))
