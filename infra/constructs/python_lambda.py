"""``PythonLambda``: packages one function family from ``lambdas/`` together with the shared package.

No Docker: the asset is the ``lambdas/`` folder filtered down to the family and ``mlops_registry.core``;
third-party code comes from layers (Powertools from its public layer, resolved at deploy time
through the public SSM parameter, version pinned in ``constants``). Every function gets its own
role (no AWS managed policies), a JSON-logging log group with retention, X-Ray tracing and, when it
is invoked asynchronously, an encrypted dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, SymlinkFollowMode, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra import constants
from infra.constructs.dead_letters import dead_letter_queue
from infra.nag import nag_form
from mlops_registry.core import contracts

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDAS_ROOT = REPO_ROOT / constants.LAMBDAS_DIR
LAYER_CACHE = Path(".build") / "layers"


def asset_excludes(family: str) -> list[str]:
    """Glob patterns that cut ``lambdas/`` down to one family plus the shared package."""
    keep = {family, constants.SHARED_PACKAGE}
    others = sorted(p.name for p in LAMBDAS_ROOT.iterdir() if p.is_dir() and p.name not in keep)
    # The shared package is a link to the repository's mlops_registry/: functions get its core only.
    shared = LAMBDAS_ROOT / constants.SHARED_PACKAGE
    not_core = sorted(
        f"{constants.SHARED_PACKAGE}/{p.name}"
        for p in shared.iterdir()
        if p.is_dir() and p.name != constants.SHARED_CORE
    )
    return [*others, *not_core, "**/__pycache__", "**/*.pyc", "**/tests", "*.md"]


def dependencies_layer(scope: Construct, construct_id: str, requirements: Sequence[str]) -> lambda_.ILayerVersion:
    """A layer of pinned third-party wheels for the Lambda runtime and architecture, without Docker.

    ``pip install --target`` with the runtime's platform tags (binary wheels only) into a cache under
    ``.build/layers/`` keyed by the requirements, so the download happens once per clone, not per synth.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(construct_id)
    if existing is not None:
        return existing  # type: ignore[return-value]
    return lambda_.LayerVersion(
        stack,
        construct_id,
        code=lambda_.Code.from_asset(str(_pip_layer_directory(tuple(requirements)))),
        compatible_runtimes=[constants.LAMBDA_RUNTIME],
        compatible_architectures=[constants.LAMBDA_ARCHITECTURE],
        description=f"Pinned wheels: {', '.join(requirements)}",
    )


def _pip_layer_directory(requirements: tuple[str, ...]) -> Path:
    import hashlib
    import shutil
    import subprocess
    import sys

    python_version = constants.LAMBDA_RUNTIME_NAME.removeprefix("python")
    platform = "manylinux2014_aarch64" if constants.LAMBDA_ARCHITECTURE_NAME == "arm64" else "manylinux2014_x86_64"
    key = hashlib.sha256("|".join([*requirements, python_version, platform]).encode()).hexdigest()[:16]
    root = REPO_ROOT / LAYER_CACHE / key
    if (root / "python").is_dir():
        return root
    import os

    # One staging folder per process: test workers (and parallel synths) may build the same layer at once.
    staging = root.with_name(f"{key}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:",
        "--platform", platform, "--python-version", python_version, "--implementation", "cp",
        "--target", str(staging / "python"), *requirements,
    ]  # fmt: skip
    # pip's own chatter (index warnings of this machine's configuration) is shown only when it fails.
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip could not build the layer for {list(requirements)}:\n{result.stderr[-2000:]}")
    try:
        staging.rename(root)
    except OSError:  # another process finished the same layer first: keep its copy
        if not (root / "python").is_dir():
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return root


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """One Powertools layer reference per stack, read from the public SSM parameter at deploy time."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("PowertoolsLayer")
    if existing is not None:
        return existing  # type: ignore[return-value]
    arn = ssm.StringParameter.value_for_string_parameter(stack, constants.POWERTOOLS_LAYER_PARAMETER)
    return lambda_.LayerVersion.from_layer_version_arn(stack, "PowertoolsLayer", arn)


class PythonLambda(Construct):
    """A Lambda function from ``lambdas/<family>`` with the project's baseline applied."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        family: str,
        handler: str,
        description: str,
        key: kms.IKey,
        environment: Mapping[str, str] | None = None,
        timeout: Duration = constants.LAMBDA_TIMEOUT,
        memory_size: int = constants.LAMBDA_MEMORY_MB,
        asynchronous: bool = False,
        extra_layers: Sequence[lambda_.ILayerVersion] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        if not (LAMBDAS_ROOT / family).is_dir():
            raise ValueError(f"PythonLambda: no function family 'lambdas/{family}'")
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=constants.LOG_RETENTION,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (least privilege, no managed policies)",
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn, f"{self.log_group.log_group_arn}:log-stream:*"],
            )
        )
        self.dead_letter_queue: sqs.Queue | None = None
        if asynchronous:
            self.dead_letter_queue = dead_letter_queue(
                self, "DeadLetters", key=key, collects="the function's asynchronous invocations"
            )
        env = {"POWERTOOLS_SERVICE_NAME": family, "POWERTOOLS_METRICS_NAMESPACE": contracts.METRICS_NAMESPACE}
        env.update(environment or {})
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=constants.LAMBDA_RUNTIME,
            architecture=constants.LAMBDA_ARCHITECTURE,
            code=lambda_.Code.from_asset(
                str(LAMBDAS_ROOT), exclude=asset_excludes(family), follow_symlinks=SymlinkFollowMode.ALWAYS
            ),
            handler=handler,
            description=description,
            role=self.role,
            timeout=timeout,
            memory_size=memory_size,
            environment=env,
            environment_encryption=key,
            layers=[powertools_layer(self), *extra_layers],
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2 if asynchronous else None,
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
            ),
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(self, self.log_group.log_group_arn)}:log-stream:*]",
                reason="Log stream names are generated by Lambda at run time; scoped to this function's own log group.",
            ),
        )

    def grant(self, statement: iam.PolicyStatement) -> None:
        self.role.add_to_principal_policy(statement)
