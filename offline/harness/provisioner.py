"""The synthesized app created in the emulator from the templates' own properties: tables, topics,
buckets, SSM parameters, model package groups, functions (environment and asset code), the serving
stacks (as CloudFormation stacks) and the state machines (definitions resolved, waits and retry
intervals zeroed). Resources are found by their type and CDK construct path, never by their names."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import zipfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.harness import coverage
from offline.harness.common import ACCOUNT, LAMBDA_ROLE, REGION, HarnessError
from offline.harness.resolver import Resolver, Resource

# Where the app's constructs are (construct ids below each stack; infra/ chooses them).
ARTIFACTS_BUCKET = "ArtifactStore/Artifacts"
MODELS_BUCKET = "ArtifactStore/Models"
PROMOTION_STATE_MACHINE = "Pipeline/StateMachine"
PACKAGE_STATE_CHANGE_RULE = "Pipeline/ModelPackageStateChange"
VALIDATION_FUNCTION = "HoldoutValidation/ValidationFunction"
GROUP_POLICY_PREFIX = "Policy-"  # Pipeline/Policy-<group>: each group's published policy


@functools.lru_cache(maxsize=64)
def zipped(directory: Path) -> bytes:
    """A code asset as a zip archive. The cloud assembly names each asset folder by its content's hash,
    so a folder's archive is built once a process."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def assign_physical_ids(resolver: Resolver) -> None:
    """Each resource's emulated name (Ref) and attributes (GetAtt), as CloudFormation would name it."""
    for r in resolver.resources.values():
        p = r.properties
        if r.type == "AWS::DynamoDB::Table":
            name = p.get("TableName") or r.logical_id
            r.ref = name
            r.attrs["Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif r.type == "AWS::SNS::Topic":
            name = p.get("TopicName") or r.logical_id
            r.ref = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
            r.attrs["TopicArn"] = r.ref
            r.attrs["TopicName"] = name
        elif r.type == "AWS::SQS::Queue":
            r.ref = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{r.logical_id[:70]}"
            r.attrs["Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{r.logical_id[:70]}"
            r.attrs["QueueName"] = r.logical_id[:70]
        elif r.type == "AWS::Lambda::Function":
            name = r.logical_id[:64]
            r.ref = name
            r.attrs["Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        elif r.type == "AWS::StepFunctions::StateMachine":
            name = p.get("StateMachineName") or r.logical_id
            r.ref = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
            r.attrs["Arn"] = r.ref
            r.attrs["Name"] = name
        elif r.type == "AWS::KMS::Key":
            r.ref = f"offline-key-{r.logical_id}"
            r.attrs["Arn"] = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{r.ref}"
        elif r.type == "AWS::SSM::Parameter":
            r.ref = p.get("Name", r.logical_id)
        elif r.type == "AWS::SageMaker::ModelPackageGroup":
            r.ref = p["ModelPackageGroupName"]
            r.attrs["ModelPackageGroupArn"] = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{r.ref}"
        elif r.type == "AWS::SageMaker::MlflowTrackingServer":
            r.ref = p["TrackingServerName"]
            r.attrs["TrackingServerArn"] = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-tracking-server/{r.ref}"
        elif r.type == "AWS::SageMaker::MlflowApp":
            r.ref = "app-" + hashlib.sha256(p["Name"].encode()).hexdigest()[:12]
            r.attrs["Arn"] = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/{r.ref}"
        elif r.type == "AWS::IAM::Role":
            r.ref = r.logical_id[:64]
            r.attrs["Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{r.ref}"
        else:
            r.ref = r.logical_id
            r.attrs.setdefault("Arn", f"arn:aws:offline:{REGION}:{ACCOUNT}:{r.logical_id}")
    for r in resolver.of_type("AWS::S3::Bucket"):
        r.ref = (
            str(resolver.resolve(r.properties.get("BucketName"), r.stack))
            if r.properties.get("BucketName")
            else r.logical_id.lower()[:63]
        )
        r.attrs["Arn"] = f"arn:aws:s3:::{r.ref}"


@dataclass
class DefinitionRewrite:
    """How the harness changes state machine definitions: Wait states last ``wait_seconds``, Retry
    intervals the minimum (their sleep is a no-op: ``emulator.instant_retries``), and the approval's
    task token times out after ``approval_timeout_seconds`` when given."""

    wait_seconds: int = 0
    approval_timeout_seconds: int | None = None

    def apply(self, definition: dict[str, Any]) -> dict[str, Any]:
        def visit(states: dict[str, Any]) -> None:
            for state in states.values():
                for retrier in state.get("Retry", []):
                    retrier["IntervalSeconds"] = 1  # ASL requires >= 1
                    retrier["BackoffRate"] = 1
                    retrier.pop("MaxDelaySeconds", None)
                    retrier.pop("JitterStrategy", None)
                if state.get("Type") == "Wait":
                    for key in ("SecondsPath", "TimestampPath", "Timestamp"):
                        state.pop(key, None)
                    state["Seconds"] = self.wait_seconds
                if (
                    self.approval_timeout_seconds is not None
                    and state.get("Type") == "Task"
                    and str(state.get("Resource", "")).endswith(".waitForTaskToken")
                ):
                    state["TimeoutSeconds"] = self.approval_timeout_seconds
                for branch in state.get("Branches", []):
                    visit(branch["States"])
                if "Iterator" in state:
                    visit(state["Iterator"]["States"])
                if "ItemProcessor" in state:
                    visit(state["ItemProcessor"]["States"])

        visit(definition["States"])
        return definition


@dataclass
class Provisioned:
    """What the provisioner created that the driver needs by name."""

    topic_arn: str = ""
    notifications_queue: str = ""
    serving_stacks: dict[str, str] = field(default_factory=dict)  # group -> stack name
    state_machines: dict[str, str] = field(default_factory=dict)  # other machines: name -> ARN
    state_machine_arn: str = ""  # the promotion state machine
    definition: dict[str, Any] = field(default_factory=dict)  # its definition, as synthesized
    graph: coverage.Graph | None = None
    mlflow_configured_uri: str | None = None


class Provisioner:
    """Creates the app's resources in the emulator (inside ``mock_aws``) through ``session``."""

    def __init__(
        self,
        resolver: Resolver,
        outdir: Path,
        session: Any,
        reserve_environment: Any,
        rewrite: DefinitionRewrite,
        mlflow_url: str | None = None,
    ) -> None:
        self.resolver = resolver
        self.outdir = Path(outdir)
        self.session = session
        self.reserve_environment = reserve_environment  # sets a function's variables before threads run
        self.rewrite = rewrite
        self.mlflow_url = mlflow_url
        self.result = Provisioned()

    # --- where things are ------------------------------------------------------------------------
    @property
    def artifacts_bucket(self) -> str:
        return self.resolver.one("AWS::S3::Bucket", ARTIFACTS_BUCKET).ref

    @property
    def models_bucket(self) -> str:
        return self.resolver.one("AWS::S3::Bucket", MODELS_BUCKET).ref

    def group_policies(self) -> dict[str, Any]:
        """Each managed group's policy, as the stack publishes it (its SSM parameter)."""
        from mlops_registry.core.config import read_published

        found = {}
        for r in self.resolver.of_type("AWS::SSM::Parameter"):
            if not any(segment.startswith(GROUP_POLICY_PREFIX) for segment in r.segments):
                continue
            policy = read_published(self.resolver.resolve(r.properties, r.stack)["Value"])
            found[policy.name] = policy
        return found

    def serving_stack_names(self) -> dict[str, str]:
        """group -> the serving stack that holds its endpoint (as the deployment function names it)."""
        from mlops_registry.core.serving_names import serving_stack_name

        environment = self.function_environment(self.resolver.one("AWS::Lambda::Function", "DeploymentFunction"))
        with_endpoint = {r.stack for r in self.resolver.of_type("AWS::SageMaker::Endpoint")}
        stacks = {}
        for group in self.group_policies():
            name = serving_stack_name(environment["ENV_NAME"], group)
            if name not in with_endpoint:
                raise HarnessError(f"group {group}: no serving stack {name} with an endpoint in the app")
            stacks[group] = name
        return stacks

    def function_environment(self, function: Resource) -> dict[str, str]:
        env = self.resolver.resolve(function.properties, function.stack).get("Environment", {}).get("Variables", {})
        return {k: str(v) for k, v in env.items()}

    # --- creating -------------------------------------------------------------------------------
    def provision(self) -> Provisioned:
        resolve = self.resolver.resolve
        s3 = self.session.client("s3")
        ddb = self.session.client("dynamodb")
        sns = self.session.client("sns")
        sqs = self.session.client("sqs")
        sm = self.session.client("sagemaker")
        ssm = self.session.client("ssm")
        lambda_ = self.session.client("lambda")
        self.session.client("iam").create_role(RoleName="offline-lambda-role", AssumeRolePolicyDocument="{}")
        for r in self.resolver.of_type("AWS::S3::Bucket"):
            s3.create_bucket(Bucket=r.ref, CreateBucketConfiguration={"LocationConstraint": REGION})
        for r in self.resolver.of_type("AWS::DynamoDB::Table"):
            p = resolve(r.properties, r.stack)
            kwargs: dict[str, Any] = {
                "TableName": r.ref,
                "KeySchema": p["KeySchema"],
                "AttributeDefinitions": p["AttributeDefinitions"],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if p.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = [
                    {k: v for k, v in g.items() if k in ("IndexName", "KeySchema", "Projection")}
                    for g in p["GlobalSecondaryIndexes"]
                ]
            ddb.create_table(**kwargs)
        for r in self.resolver.of_type("AWS::SNS::Topic"):
            sns.create_topic(Name=r.attrs["TopicName"])
        for r in self.resolver.of_type("AWS::SSM::Parameter"):
            p = resolve(r.properties, r.stack)
            ssm.put_parameter(Name=p["Name"], Value=p["Value"], Type="String")
        for r in self.resolver.of_type("AWS::SageMaker::ModelPackageGroup"):
            sm.create_model_package_group(
                ModelPackageGroupName=r.ref,
                ModelPackageGroupDescription=r.properties.get("ModelPackageGroupDescription", ""),
            )
        for r in self.resolver.of_type("AWS::Lambda::Function"):
            self._create_function(lambda_, r)
        self._upload_governed_data(s3)
        topics = self.resolver.of_type("AWS::SNS::Topic")
        if len(topics) != 1:
            raise HarnessError(f"expected one notification topic in the app, found {len(topics)}")
        self.result.topic_arn = topics[0].ref
        queue = sqs.create_queue(QueueName="offline-notifications")["QueueUrl"]
        self.result.notifications_queue = queue
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=self.result.topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self._create_serving_stacks()
        self._create_state_machines()
        return self.result

    def _upload_governed_data(self, s3: Any) -> None:
        """What the platform team puts in place: each group's holdout set (generated data) where its
        policy names it, and the validation library's code asset where the Processing path reads it."""
        from offline.samples import holdout_csv

        for policy in self.group_policies().values():
            s3.put_object(Bucket=self.artifacts_bucket, Key=policy.validation.holdout.key, Body=holdout_csv(policy))
        env = self.function_environment(self.resolver.one("AWS::Lambda::Function", VALIDATION_FUNCTION))
        bucket, key = env["PROCESSING_CODE_URI"].removeprefix("s3://").split("/", 1)
        source = self.outdir / f"asset.{key.removesuffix('.zip')}"
        if not source.is_dir():
            raise HarnessError(f"the validation code asset {source} is missing from the cloud assembly")
        with suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=bucket, Key=key, Body=zipped(source))

    def _create_serving_stacks(self) -> None:
        """Each serving stack as a CloudFormation stack in moto, from its synthesized template.

        Cross-stack imports are resolved to the emulated registry's resources first (moto only knows
        exports of stacks it created); everything else (parameters, conditions, names) is moto's and
        ``emulator.cloudformation_extensions``' business, as UpdateStack later is.
        """
        cfn = self.session.client("cloudformation")
        for group, stack_name in self.serving_stack_names().items():
            template = self.resolver.templates[stack_name]
            body = self._resolve_imports(json.loads(json.dumps(template)), stack_name)
            cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_NAMED_IAM"])
            self.result.serving_stacks[group] = stack_name

    def _resolve_imports(self, node: Any, stack: str) -> Any:
        if isinstance(node, list):
            return [self._resolve_imports(v, stack) for v in node]
        if isinstance(node, dict):
            if set(node) == {"Fn::ImportValue"}:
                return self.resolver.resolve(node, stack)
            return {k: self._resolve_imports(v, stack) for k, v in node.items()}
        return node

    def _create_function(self, lambda_: Any, r: Resource) -> None:
        p = self.resolver.resolve(r.properties, r.stack)
        asset = r.metadata.get("aws:asset:path")
        if not asset:
            raise HarnessError(f"function {r.logical_id} has no asset path in its metadata")
        environment = {k: str(v) for k, v in p.get("Environment", {}).get("Variables", {}).items()}
        if "MLFLOW_TRACKING_URI" in environment:
            self.result.mlflow_configured_uri = environment["MLFLOW_TRACKING_URI"]
            if self.mlflow_url:
                environment["MLFLOW_TRACKING_URI"] = self.mlflow_url
                environment["MLFLOW_MIRROR_BACKOFF_SECONDS"] = "0"
        self.reserve_environment(environment)
        lambda_.create_function(
            FunctionName=r.ref,
            Runtime="python3.11",  # the local interpreter runs the code; the template's runtime is newer
            Role=LAMBDA_ROLE,
            Handler=p["Handler"],
            Code={"ZipFile": zipped(self.outdir / asset)},
            Timeout=int(p.get("Timeout", 60)),
            MemorySize=int(p.get("MemorySize", 512)),
            Environment={"Variables": environment},
        )

    def _create_state_machines(self) -> None:
        sfn = self.session.client("stepfunctions")
        promotion = self.resolver.one("AWS::StepFunctions::StateMachine", PROMOTION_STATE_MACHINE)
        for machine in self.resolver.of_type("AWS::StepFunctions::StateMachine"):
            definition = json.loads(self.resolver.resolve(machine.properties["DefinitionString"], machine.stack))
            if machine is promotion:
                self.result.definition = definition
                self.result.graph = coverage.graph_of(definition)
                coverage.register_definition(self.result.graph)
                definition = json.loads(json.dumps(definition))
            arn = sfn.create_state_machine(
                name=machine.attrs["Name"], definition=json.dumps(self.rewrite.apply(definition)), roleArn=LAMBDA_ROLE
            )["stateMachineArn"]
            if machine is promotion:
                if arn != machine.ref:
                    raise HarnessError(f"state machine ARN {arn} != resolved {machine.ref}")
                self.result.state_machine_arn = arn
            else:
                self.result.state_machines[machine.attrs["Name"]] = arn
