"""``ServingDeployStep``: the promotion state machine's deployment, replacing the ``Deploy`` pass-through.

    StartDeployment → DeploymentNextStep? ─ wait_stack ──────▶ WaitForDeployment → CheckDeployment ─┐
          ▲                               ─ wait_evaluation ─▶ WaitForEvaluation → EvaluateAbTest ──┤
          │                               ─ promote ─────────▶ PromoteToProduction                  │
          │                               └ otherwise ───────▶ RejectVersion (rolled back / lost)   │
          └────────────────────── (every task returns to DeploymentNextStep?) ◀─────────────────────┘

A deployment task that fails (an error, the deployment's deadline) goes to ``RestoreChampion`` first
(the same function's ``restore`` action: an A/B test's champion gets all traffic back, the serving
stack is set to the champion alone, a ``rolled_back`` ledger entry records it), then to
``RecordFailure``; a restore that itself fails still reaches ``RecordFailure``.

One Lambda (``serving.handler``) does the four actions. Waits are Wait states whose seconds the
Lambda computes (first look when an update of that configuration could have finished, then
exponential backoff; the A/B evaluation interval), so nothing polls in a loop and the execution's
history stays small. Each task retries transient errors and a busy stack/endpoint
(``ServingBusyError``) with backoff, and catches everything else into ``RecordFailure``.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from serving.timing import max_deployment_seconds

from infra import constants
from infra.constructs.encryption import ENCRYPT_DECRYPT, grant_key_use
from infra.constructs.promotion_pipeline import DeployStepFactory, PromotionPipeline
from infra.constructs.python_lambda import PythonLambda
from infra.nag import list_packages_acknowledgment, nag_form
from mlops_registry.core import serving_names
from mlops_registry.core.config import EnvironmentConfig

BUSY_ERRORS = ["ServingBusyError"]
BUSY_RETRY_INTERVAL = Duration.seconds(60)
BUSY_RETRY_ATTEMPTS = 10
BUSY_RETRY_BACKOFF = 1.5
DEPLOYMENT_TIMEOUT = Duration.seconds(120)


class ServingDeployStep(DeployStepFactory):
    """Builds the deployment states inside the pipeline (see the module docstring)."""

    def __init__(self, config: EnvironmentConfig) -> None:
        self.config = config
        self.function: PythonLambda | None = None

    def max_duration(self, config: EnvironmentConfig) -> Duration:
        longest = max(max_deployment_seconds(group.deployment) for group in config.groups)
        return Duration.seconds(longest)

    def __call__(
        self, scope: Construct, promote: sfn.IChainable, reject: sfn.IChainable, record_failure: sfn.IChainable
    ) -> sfn.IChainable:
        if not isinstance(scope, PromotionPipeline):
            raise TypeError("ServingDeployStep builds inside a PromotionPipeline")
        fn = self._build_function(scope)
        self.function = fn

        def task(name: str, action: str, result_path: str = "$.deployment") -> tasks.LambdaInvoke:
            invoke = scope.lambda_task(
                name, fn, action, result_path, extra_payload={"now": sfn.JsonPath.string_at("$$.State.EnteredTime")}
            )
            invoke.add_retry(
                errors=BUSY_ERRORS,
                interval=BUSY_RETRY_INTERVAL,
                max_attempts=BUSY_RETRY_ATTEMPTS,
                backoff_rate=BUSY_RETRY_BACKOFF,
                jitter_strategy=sfn.JitterType.FULL,
            )
            return invoke

        restore = task("RestoreChampion", "restore", "$.restore")
        restore.add_catch(record_failure, errors=["States.ALL"], result_path="$.restore_error")
        restore.next(record_failure)

        def guarded(invoke: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
            invoke.add_catch(restore, errors=["States.ALL"], result_path="$.error")
            return invoke

        start = guarded(task("StartDeployment", "start"))
        check = guarded(task("CheckDeployment", "check"))
        evaluate = guarded(task("EvaluateAbTest", "evaluate"))
        wait_stack = sfn.Wait(
            scope,
            "WaitForDeployment",
            comment="Until the serving stack's update could have settled (computed by the deployment task)",
            time=sfn.WaitTime.seconds_path("$.deployment.wait_seconds"),
        )
        wait_evaluation = sfn.Wait(
            scope,
            "WaitForEvaluation",
            comment="The A/B test's evaluation interval",
            time=sfn.WaitTime.seconds_path("$.deployment.wait_seconds"),
        )
        route = (
            sfn.Choice(scope, "DeploymentNextStep?")
            .when(sfn.Condition.string_equals("$.deployment.next", "wait_stack"), wait_stack)
            .when(sfn.Condition.string_equals("$.deployment.next", "wait_evaluation"), wait_evaluation)
            .when(sfn.Condition.string_equals("$.deployment.next", "promote"), promote)
            .otherwise(reject)
        )
        start.next(route)
        wait_stack.next(check)
        check.next(route)
        wait_evaluation.next(evaluate)
        evaluate.next(route)
        Validations.of(scope).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(scope, fn.function.function_arn)}:*]",
                reason="CDK grants the state machine invoke on the deployment function's versions and aliases.",
            )
        )
        return start

    # --- the deployment function -----------------------------------------------------------------
    def _build_function(self, pipeline: PromotionPipeline) -> PythonLambda:
        stack = Stack.of(pipeline)
        env = self.config.name
        role_prefix = f"arn:{stack.partition}:iam::{stack.account}:role/"
        fn = PythonLambda(
            pipeline,
            "DeploymentFunction",
            family="serving",
            handler="serving.handler.handler",
            description="Deploys approved versions through the serving stacks; runs A/B evaluations",
            key=pipeline.resources.key,
            environment={
                "ENV_NAME": env,
                "DEPLOY_ROLE_ARN_PREFIX": role_prefix,
                "LOCKS_TABLE": pipeline.locks.table_name,
                "LEDGER_TABLE": pipeline.resources.ledger.table.table_name,
                "TOPIC_ARN": pipeline.resources.topic.topic_arn,
            },
            timeout=DEPLOYMENT_TIMEOUT,
        )
        fn.grant(
            iam.PolicyStatement(
                sid="ReadRegistry", actions=["sagemaker:DescribeModelPackage"], resources=pipeline.package_arns
            )
        )
        fn.grant(
            iam.PolicyStatement(
                sid="DescribeGroups", actions=["sagemaker:DescribeModelPackageGroup"], resources=pipeline.group_arns
            )
        )
        fn.grant(
            iam.PolicyStatement(
                sid="ListVersions", actions=["sagemaker:ListModelPackages"], resources=[pipeline.all_packages_arn]
            )
        )
        fn.grant(
            iam.PolicyStatement(
                sid="ApproveForDeployment", actions=["sagemaker:UpdateModelPackage"], resources=pipeline.package_arns
            )
        )
        stack_arns: list[str] = []
        role_arns: list[str] = []
        for group in self.config.groups:
            stack_name = serving_names.serving_stack_name(env, group.name)
            role_arn = f"{role_prefix}{serving_names.deploy_role_name(env, group.name)}"
            stack_arn = stack.format_arn(service="cloudformation", resource="stack", resource_name=f"{stack_name}/*")
            stack_arns.append(stack_arn)
            role_arns.append(role_arn)
            fn.grant(
                iam.PolicyStatement(
                    sid=f"UpdateServingStack{_sid(group.name)}",
                    actions=["cloudformation:UpdateStack"],
                    resources=[stack_arn],
                    conditions={"StringEquals": {"cloudformation:RoleArn": role_arn}},
                )
            )
        fn.grant(
            iam.PolicyStatement(
                sid="ReadServingStacks",
                actions=["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"],
                resources=stack_arns,
            )
        )
        fn.grant(
            iam.PolicyStatement(
                sid="PassDeployRoles",
                actions=["iam:PassRole"],
                resources=role_arns,
                conditions={"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
            )
        )
        ab_endpoints = [
            stack.format_arn(
                service="sagemaker", resource="endpoint", resource_name=constants.endpoint_name(env, g.name).lower()
            )
            for g in self.config.groups
            if g.deployment.mode == "ab_test"
        ]
        if ab_endpoints:
            fn.grant(
                iam.PolicyStatement(
                    sid="AbTestTraffic",
                    actions=["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"],
                    resources=ab_endpoints,
                )
            )
        fn.grant(iam.PolicyStatement(sid="ReadVariantMetrics", actions=["cloudwatch:GetMetricData"], resources=["*"]))
        fn.grant(
            iam.PolicyStatement(
                sid="HoldPromotionLock", actions=["dynamodb:PutItem"], resources=[pipeline.locks.table_arn]
            )
        )
        grant_key_use(pipeline.resources.key, fn.role, actions=ENCRYPT_DECRYPT, services=["dynamodb"])
        pipeline.resources.ledger.grant_append(fn.role)  # the restored champion's ledger entry ...
        pipeline.grant_publish(fn)  # ... and its notification
        Validations.of(fn.role).acknowledge(
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(pipeline, arn)}]",
                    reason="Versions of the managed group are created at run time; scoped to that group's packages.",
                )
                for arn in pipeline.package_arns
            ],
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{nag_form(pipeline, arn)}]",
                    reason="A stack ARN ends in a stack id CloudFormation generates; scoped to that serving stack.",
                )
                for arn in stack_arns
            ],
            list_packages_acknowledgment(pipeline),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments/PutTelemetryRecords and cloudwatch:GetMetricData support no "
                "resource-level permissions.",
            ),
        )
        return fn


def _sid(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-") if part.isalnum())
