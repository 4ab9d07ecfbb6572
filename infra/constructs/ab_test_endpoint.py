"""``AbTestEndpoint``: a group's endpoint with a champion and a challenger variant.

Two CloudFormation parameters say what serves: ``ChampionPackageArn`` (the Production version) and
``ChallengerPackageArn`` (the candidate under test, empty when no test runs). With a challenger the
endpoint config has two production variants, ``Champion`` and ``Challenger``
(``contracts.VARIANT_CHAMPION`` / ``VARIANT_CHALLENGER``), weighted from the group's
``abTest.challengerWeight``; without one, the champion alone takes all traffic. The variant names
never change, so metrics, alarms and data capture stay comparable across tests.

Endpoint updates (adding a challenger, making a winner permanent) shift traffic all at once with a
baking period and roll back automatically on the per-variant 5XX and latency alarms (SageMaker's
guardrails support multi-variant endpoints for blue/green updates; only rolling updates exclude
them). Weights during a test are changed by the evaluator with ``UpdateEndpointWeightsAndCapacities``;
the stack's parameters are then set to the winner alone, so the template again says what serves.
"""

from __future__ import annotations

from aws_cdk import CfnCondition, Fn, Token
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct
from serving.ab_test import initial_weights

from infra.constructs.guarded_endpoint import ServingEndpoint, package_version
from mlops_registry.core import contracts
from mlops_registry.core.config import AB_TEST_ROUTING, GroupPolicy


class AbTestEndpoint(ServingEndpoint):
    variants = contracts.VARIANTS_BY_MODE["ab_test"]

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        group: GroupPolicy,
        champion_arn: str,
        has_champion: CfnCondition,
        challenger_arn: str,
        has_challenger: CfnCondition,
        key: kms.IKey,
        artifacts: s3.IBucket,
        models: s3.IBucket,
        artifacts_key: kms.IKey,
        topic: sns.ITopic | None = None,
        vpc_config: sagemaker.CfnModel.VpcConfigProperty | None = None,
        network_isolation: bool = True,
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
        self.weights = initial_weights(group.deployment.ab_test.challenger_weight)
        self._build_alarms()
        champion = self._model(contracts.VARIANT_CHAMPION, champion_arn, has_champion)
        challenger = self._model(contracts.VARIANT_CHALLENGER, challenger_arn, has_challenger)
        champion_weight = Token.as_number(
            Fn.condition_if(has_challenger.logical_id, self.weights[contracts.VARIANT_CHAMPION], 1.0)
        )
        # Inside Fn::If the variant is opaque to CDK's property mapper: CloudFormation casing by hand.
        challenger_variant = Fn.condition_if(
            has_challenger.logical_id,
            {
                "VariantName": contracts.VARIANT_CHALLENGER,
                "ModelName": challenger.attr_model_name,
                "InstanceType": group.deployment.instance_type,
                "InitialInstanceCount": group.deployment.instance_count,
                "InitialVariantWeight": self.weights[contracts.VARIANT_CHALLENGER],
            },
            Fn.ref("AWS::NoValue"),
        )
        versions = Fn.join(
            "",
            [
                package_version(champion_arn),
                Token.as_string(
                    Fn.condition_if(has_challenger.logical_id, Fn.join("", ["-v", package_version(challenger_arn)]), "")
                ),
            ],
        )
        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            endpoint_config_name=Fn.join("", [f"{self.base_name}-{self.fingerprint(self.weights)}-v", versions]),
            production_variants=[
                self._variant(contracts.VARIANT_CHAMPION, champion, champion_weight),
                challenger_variant,
            ],
            data_capture_config=self._data_capture(),
            kms_key_id=self.key.key_arn,
        )
        self.endpoint_config.cfn_options.condition = has_champion
        bg = group.deployment.blue_green
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
                blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                    traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                        type=AB_TEST_ROUTING.upper(), wait_interval_in_seconds=bg.wait_interval_seconds
                    ),
                    termination_wait_in_seconds=bg.termination_wait_seconds,
                    maximum_execution_timeout_in_seconds=bg.maximum_execution_timeout_seconds,
                ),
                auto_rollback_configuration=self._auto_rollback(),
            ),
        )
        self.endpoint.cfn_options.condition = has_champion
        for alarm in self.alarms:
            self.endpoint.node.add_dependency(alarm)
