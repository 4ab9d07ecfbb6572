"""The offline harness: the synthesized app running on moto, with the real Lambda code in-process.

``PipelineHarness`` takes the CDK cloud assembly (not a hand-written copy of anything), creates the
resources the Lambdas and the state machine use from the templates' own properties (tables, topics,
buckets, SSM parameters, model package groups, functions with their environments and asset code),
resolves the state machine definition's intrinsics to those resources, zeroes Wait and Retry
intervals, and runs executions on moto's ASL interpreter. Tests and ``make demo`` drive it the way
AWS would: an EventBridge event to the dispatcher, a board decision, an endpoint outcome.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.events.models import EventPattern
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from mlops_registry.core import contracts
from offline import coverage, iam_proof
from offline.moto_ext import (
    InProcessLambdaRunner,
    StackOutcomes,
    cloudformation_extensions,
    dynamodb_serializable_writes,
    package_listeners,
    quiet_logger,
    sagemaker_extensions,
    set_modifying_identity,
)
from offline.sagemaker_jobs import JobOutcomes, sagemaker_job_emulation

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PARTITION = "aws"
LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/offline-lambda-role"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
HARNESS_ENV = "dev"


def board_member(name: str) -> str:
    """A review-board member's session: the board role the stack creates, assumed as ``name``."""
    from mlops_registry.core.names import review_board_role_name

    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{review_board_role_name(HARNESS_ENV)}/{name}"


def data_scientist(name: str) -> str:
    """A data scientist's session (a role holding the data-scientists policy), assumed as ``name``."""
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{HARNESS_ENV}-data-scientists/{name}"


REGISTRANT = data_scientist("dana")


class HarnessError(AssertionError):
    """The emulated system did not behave as the test expected (timeouts, unexpected states)."""


@dataclass
class Resource:
    logical_id: str
    stack: str
    type: str
    properties: dict[str, Any]
    metadata: dict[str, Any]
    ref: str = ""
    attrs: dict[str, str] = field(default_factory=dict)


class Resolver:
    """Resolves CloudFormation intrinsics of the synthesized templates to emulated resources."""

    def __init__(self, templates: dict[str, dict[str, Any]]) -> None:
        self.templates = templates
        self.resources: dict[tuple[str, str], Resource] = {}
        self.exports: dict[str, tuple[str, Any]] = {}
        for stack, template in templates.items():
            for logical_id, body in template.get("Resources", {}).items():
                self.resources[(stack, logical_id)] = Resource(
                    logical_id, stack, body["Type"], body.get("Properties", {}), body.get("Metadata", {})
                )
            for output in template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if export:
                    self.exports[export] = (stack, output["Value"])

    def resolve(self, value: Any, stack: str) -> Any:
        if isinstance(value, list):
            return [self.resolve(v, stack) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self._ref(arg, stack)
            if fn == "Fn::GetAtt":
                resource = self.resources[(stack, arg[0])]
                if arg[1] not in resource.attrs:
                    raise HarnessError(f"no emulated attribute {arg[1]} for {stack}/{arg[0]} ({resource.type})")
                return resource.attrs[arg[1]]
            if fn == "Fn::Join":
                return arg[0].join(str(self.resolve(p, stack)) for p in arg[1])
            if fn == "Fn::ImportValue":
                name = self.resolve(arg, stack)
                source_stack, source_value = self.exports[name]
                return self.resolve(source_value, source_stack)
            if fn == "Fn::Select":
                return self.resolve(arg[1], stack)[int(arg[0])]
            if fn == "Fn::Split":
                return str(self.resolve(arg[1], stack)).split(arg[0])
            if fn == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for key in ("AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"):
                    text = text.replace("${" + key + "}", self._ref(key, stack))
                return text
        return {k: self.resolve(v, stack) for k, v in value.items()}

    def _ref(self, name: str, stack: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        resource = self.resources.get((stack, name))
        if resource is None:
            parameters = self.templates[stack].get("Parameters", {})
            if name in parameters:
                return str(parameters[name].get("Default", ""))
            raise HarnessError(f"unresolvable Ref {name} in {stack}")
        return resource.ref

    def of_type(self, rtype: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == rtype]


RANKER_FEATURES = ["user_affinity", "item_popularity", "price_bucket", "session_length", "device_type"]


def ranker_reports(ndcg: float = 0.36, rmse: float = 1.05) -> dict[str, dict[str, Any]]:
    """Reports that pass the gates of the A/B-tested example group ``recommender-ranker``."""
    from offline.samples import bias_report, explainability_report, metrics_report

    fair = {"DPPL": 0.05, "DI": 0.97}
    return {
        "metrics": metrics_report({"ndcg_at_10": ndcg, "rmse": rmse}, section="regression_metrics"),
        "bias": bias_report({"region": {"eu": fair, "us": fair}}),
        "explainability": explainability_report(
            dict(zip(RANKER_FEATURES, [0.34, 0.21, 0.17, 0.16, 0.12], strict=True))
        ),
    }


@dataclass
class Registration:
    package_arn: str
    group: str
    version: int


class PipelineHarness:
    """Context manager: the whole promotion system on moto. See the module docstring."""

    def __init__(
        self,
        outdir: Path,
        templates: dict[str, dict[str, Any]],
        approval_timeout_seconds: int | None = None,
        prove_iam: bool = True,
        count_iam: bool = True,
        wait_seconds: int = 0,
        emit_events: bool = False,
        mlflow_url: str | None = None,
    ) -> None:
        self.outdir = Path(outdir)
        # Wait states last this long (0 in tests; the sandbox keeps a short real pause so a polling
        # loop, e.g. an A/B test waiting for traffic, does not spin).
        self.wait_seconds = wait_seconds
        # True: every change of a package is delivered to the dispatcher, asynchronously, as
        # EventBridge would (tests that drive the system only through the CLI); False: tests deliver.
        self.emit_events = emit_events
        self._deliveries: list[threading.Thread] = []
        self.delivery_errors: list[BaseException] = []
        # Every call a function (or the state machine) makes is checked against its synthesized role
        # at the end (``iam_proof``); a call the real authorizer would refuse fails the run.
        self.prove_iam = prove_iam
        self.count_iam = count_iam  # False for runs on deliberately altered templates (kept out of the totals)
        self.iam = iam_proof.CallRecorder(iam_proof.Account(PARTITION, REGION, ACCOUNT))
        self.resolver = Resolver(templates)
        self.approval_timeout_seconds = approval_timeout_seconds
        self.runner = InProcessLambdaRunner()
        self.stack_outcomes = StackOutcomes()
        # What the next Batch Transform / Processing job does (run, fail, hang): ``fail_next_job``.
        self.job_outcomes = JobOutcomes()
        self._stack = ExitStack()
        self.executions: list[str] = []
        self._coverage_lock = threading.Lock()
        # The MLflow the functions are configured for (the template's tracking server or App ARN) and,
        # when given, the real local server they talk to instead (``mlflow_url``).
        self.mlflow_url = mlflow_url
        self.mlflow_configured_uri: str | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> PipelineHarness:
        from mlops_registry.core.aws import reset_clients

        os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "offline")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "offline")
        self._stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        # moto logs a warning per resource type it has no CloudFormation model for (the serving
        # stacks' alarms and scaling targets): expected here, and noise in every run's output.
        self._stack.enter_context(quiet_logger("moto.cloudformation.parsing"))
        self._stack.enter_context(sagemaker_extensions())
        self._stack.enter_context(sagemaker_job_emulation(self.job_outcomes))
        self._stack.enter_context(dynamodb_serializable_writes())
        self._stack.enter_context(cloudformation_extensions(self.stack_outcomes))
        self._stack.enter_context(self.runner.installed())
        self._stack.enter_context(self.iam.installed())
        self._stack.enter_context(mock.patch.object(retrier_decl, "time", SimpleNamespace(sleep=lambda seconds: None)))
        self._stack.enter_context(self._record_mlflow_calls())
        self.runner.extra_env.update(
            {
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("OFFLINE_LOG_LEVEL", "WARNING"),
            }
        )
        self.runner.reserve(self.runner.extra_env)
        reset_clients()
        self.session = boto3.session.Session(region_name=REGION)
        self.sm = self.session.client("sagemaker")
        self.sfn = self.session.client("stepfunctions")
        self.ddb = self.session.client("dynamodb")
        self.s3 = self.session.client("s3")
        self.sqs = self.session.client("sqs")
        self.sns = self.session.client("sns")
        self.lambda_ = self.session.client("lambda")
        self._assign_physical_ids()
        self._watch_iam()
        self._create_resources()
        if self.emit_events:
            package_listeners.append(self._emit_state_change)
            self._stack.callback(package_listeners.remove, self._emit_state_change)
        return self

    def _emit_state_change(self, description: dict[str, Any]) -> None:
        event = self._event_for(description)

        def deliver() -> None:
            try:
                self.deliver(event)
            except BaseException as error:  # reported by settle_events / at exit
                self.delivery_errors.append(error)

        thread = threading.Thread(target=deliver, name="eventbridge-delivery", daemon=True)
        self._deliveries.append(thread)
        thread.start()

    def settle_events(self, timeout: float = 30) -> None:
        """Wait until every emitted event has been delivered."""
        deadline = time.monotonic() + timeout
        while True:
            pending = [t for t in self._deliveries if t.is_alive()]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise HarnessError(f"{len(pending)} event deliveries still running after {timeout}s")
            pending[0].join(timeout=0.1)

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        try:
            if self.emit_events:
                self.settle_events()
            self.wait_all_executions(timeout=30)
        finally:
            set_modifying_identity(None)
            self._stack.close()
        proof = self.iam_proof()
        if self.count_iam:
            iam_proof.record_totals(self.iam, proof)
        if self.prove_iam and exc_type is None and proof.failures():
            raise HarnessError("IAM proof failed:\n  " + "\n  ".join(proof.failures()))

    # --- IAM proof ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _record_mlflow_calls(self) -> Iterator[None]:
        """MLflow REST calls bypass botocore: record each with the IAM action that authorizes it on the
        MLflow the template configures (``sagemaker-mlflow:<Api>`` on a tracking server,
        ``sagemaker:CallMlflowAppApi`` on an App)."""
        from mlops_registry.core import mlflow_rest

        original = mlflow_rest.MlflowRestClient.call
        harness = self

        def call(client: Any, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            configured = harness.mlflow_configured_uri
            match = mlflow_rest.MLFLOW_ARN.match(configured or "")
            if match:
                action = (
                    mlflow_rest.APP_REST_ACTION
                    if match.group("type") == "mlflow-app"
                    else mlflow_rest.REST_ACTIONS[(method, path)]
                )
                harness.iam.observe_action(action, str(configured))
            return original(client, method, path, body)

        with mock.patch.object(mlflow_rest.MlflowRestClient, "call", call):
            yield

    def _watch_iam(self) -> None:
        """Mark whose code runs: each function as its own role, the state machine's threads as its role."""
        self.iam.encryption = iam_proof.encryption_of(self.resolver)
        self.role_policies = iam_proof.role_statements(self.resolver)
        self.function_roles = {
            r.ref: iam_proof.principal_of(r, "Role") for r in self.resolver.of_type("AWS::Lambda::Function")
        }
        machines = self.resolver.of_type("AWS::StepFunctions::StateMachine")
        # Every state machine runs with its own role: Step Functions makes its integrations' calls as it.
        self.state_machine_roles = {m.ref: iam_proof.principal_of(m, "RoleArn") for m in machines}
        self.runner.around.append(lambda name: self.iam.acting_as(self.function_roles[name]))
        self._stack.enter_context(iam_proof.state_machine_clients(self._state_machine_role))

    def _state_machine_role(self, machine_arn: str | None) -> str:
        if machine_arn not in self.state_machine_roles:
            raise HarnessError(f"a service integration ran outside any known state machine ({machine_arn})")
        return self.state_machine_roles[machine_arn]

    def iam_proof(self, policies: dict[str, list[dict[str, Any]]] | None = None) -> iam_proof.Proof:
        """The recorded calls judged against the synthesized role policies (or ``policies``)."""
        return iam_proof.prove(self.iam, policies if policies is not None else self.role_policies)

    # --- physical ids ------------------------------------------------------------------------
    def _assign_physical_ids(self) -> None:
        for r in self.resolver.resources.values():
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
        for r in self.resolver.of_type("AWS::S3::Bucket"):
            r.ref = (
                str(self.resolver.resolve(r.properties.get("BucketName"), r.stack))
                if r.properties.get("BucketName")
                else r.logical_id.lower()[:63]
            )
            r.attrs["Arn"] = f"arn:aws:s3:::{r.ref}"

    # --- resources ---------------------------------------------------------------------------
    def _create_resources(self) -> None:
        resolve = self.resolver.resolve
        iam = self.session.client("iam")
        iam.create_role(RoleName="offline-lambda-role", AssumeRolePolicyDocument="{}")
        for r in self.resolver.of_type("AWS::S3::Bucket"):
            self.s3.create_bucket(Bucket=r.ref, CreateBucketConfiguration={"LocationConstraint": REGION})
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
            self.ddb.create_table(**kwargs)
        for r in self.resolver.of_type("AWS::SNS::Topic"):
            self.sns.create_topic(Name=r.attrs["TopicName"])
        for r in self.resolver.of_type("AWS::SSM::Parameter"):
            p = resolve(r.properties, r.stack)
            self.session.client("ssm").put_parameter(Name=p["Name"], Value=p["Value"], Type="String")
        for r in self.resolver.of_type("AWS::SageMaker::ModelPackageGroup"):
            self.sm.create_model_package_group(
                ModelPackageGroupName=r.ref,
                ModelPackageGroupDescription=r.properties.get("ModelPackageGroupDescription", ""),
            )
        for r in self.resolver.of_type("AWS::Lambda::Function"):
            self._create_function(r)
        self._upload_governed_data()
        self.topic_arn = self.resolver.of_type("AWS::SNS::Topic")[0].ref
        queue = self.sqs.create_queue(QueueName="offline-notifications")["QueueUrl"]
        self.notifications_queue = queue
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(
            TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        self._create_serving_stacks()
        machines = self.resolver.of_type("AWS::StepFunctions::StateMachine")
        promotion = [m for m in machines if m.attrs["Name"].endswith("-promotion")]
        if len(promotion) != 1:
            raise HarnessError(f"expected one promotion state machine in the app, found {len(promotion)}")
        self.state_machines: dict[str, str] = {}
        for machine in machines:
            if machine is not promotion[0]:
                definition = json.loads(self.resolver.resolve(machine.properties["DefinitionString"], machine.stack))
                runnable = self._rewrite_for_tests(definition)
                self.state_machines[machine.attrs["Name"]] = self.sfn.create_state_machine(
                    name=machine.attrs["Name"], definition=json.dumps(runnable), roleArn=LAMBDA_ROLE
                )["stateMachineArn"]
        self._create_state_machine(promotion[0])

    @property
    def policies(self) -> dict[str, Any]:
        """Each managed group's policy, as the stack publishes it (its SSM parameter)."""
        from mlops_registry.core.config import read_published

        found = {}
        for r in self.resolver.of_type("AWS::SSM::Parameter"):
            p = self.resolver.resolve(r.properties, r.stack)
            if "/groups/" in str(p.get("Name", "")):
                policy = read_published(p["Value"])
                found[policy.name] = policy
        return found

    def _upload_governed_data(self) -> None:
        """What the platform team puts in place: each group's holdout set (generated data) where its
        policy names it, and the validation library's code asset where the Processing path reads it."""
        from offline.samples import holdout_csv

        for policy in self.policies.values():
            self.s3.put_object(
                Bucket=self.artifacts_bucket, Key=policy.validation.holdout.key, Body=holdout_csv(policy)
            )
        env = self.function_env("ValidationFunction")
        bucket, key = env["PROCESSING_CODE_URI"].removeprefix("s3://").split("/", 1)
        source = self.outdir / f"asset.{key.removesuffix('.zip')}"
        if not source.is_dir():
            raise HarnessError(f"the validation code asset {source} is missing from the cloud assembly")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(source).as_posix())
        with suppress(self.s3.exceptions.BucketAlreadyOwnedByYou):
            self.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())

    def put_holdout(self, group: str, body: bytes) -> None:
        """Replace a group's holdout set (as the platform team would)."""
        key = self.policies[group].validation.holdout.key
        self.s3.put_object(Bucket=self.artifacts_bucket, Key=key, Body=body)

    def set_validation_budget(self, max_bytes: int) -> None:
        """The largest holdout the validation function processes itself (its LAMBDA_HOLDOUT_MAX_BYTES)."""
        name = self.function_name("ValidationFunction")
        variables = self.lambda_.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        self.lambda_.update_function_configuration(
            FunctionName=name, Environment={"Variables": {**variables, "LAMBDA_HOLDOUT_MAX_BYTES": str(max_bytes)}}
        )

    def fail_next_job(self, kind: str, outcome: str = "fail", reason: str = "") -> None:
        """The next Batch Transform (``transform``) or Processing (``processing``) job fails or hangs."""
        self.job_outcomes.push(kind, outcome, reason)

    def _create_serving_stacks(self) -> None:
        """Each serving stack as a CloudFormation stack in moto, from its synthesized template.

        Cross-stack imports are resolved to the emulated registry's resources first (moto only knows
        exports of stacks it created); everything else (parameters, conditions, names) is moto's and
        ``moto_ext.cloudformation_extensions``' business, as UpdateStack later is.
        """
        cfn = self.session.client("cloudformation")
        self.serving_stacks: dict[str, str] = {}
        for stack_name, template in self.resolver.templates.items():
            if "-" not in stack_name or "Serving-" not in stack_name:
                continue
            body = self._resolve_imports(json.loads(json.dumps(template)), stack_name)
            cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_NAMED_IAM"])
            self.serving_stacks[stack_name.split("Serving-", 1)[1]] = stack_name

    def _resolve_imports(self, node: Any, stack: str) -> Any:
        if isinstance(node, list):
            return [self._resolve_imports(v, stack) for v in node]
        if isinstance(node, dict):
            if set(node) == {"Fn::ImportValue"}:
                return self.resolver.resolve(node, stack)
            return {k: self._resolve_imports(v, stack) for k, v in node.items()}
        return node

    def _create_function(self, r: Resource) -> None:
        p = self.resolver.resolve(r.properties, r.stack)
        asset = r.metadata.get("aws:asset:path")
        if not asset:
            raise HarnessError(f"function {r.logical_id} has no asset path in its metadata")
        code_dir = self.outdir / asset
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(code_dir.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(code_dir).as_posix())
        environment = {k: str(v) for k, v in p.get("Environment", {}).get("Variables", {}).items()}
        if "MLFLOW_TRACKING_URI" in environment:
            self.mlflow_configured_uri = environment["MLFLOW_TRACKING_URI"]
            if self.mlflow_url:
                environment["MLFLOW_TRACKING_URI"] = self.mlflow_url
                environment["MLFLOW_MIRROR_BACKOFF_SECONDS"] = "0"
        self.runner.reserve(environment)
        self.lambda_.create_function(
            FunctionName=r.ref,
            Runtime="python3.11",  # the local interpreter runs the code; the template's runtime is newer
            Role=LAMBDA_ROLE,
            Handler=p["Handler"],
            Code={"ZipFile": buffer.getvalue()},
            Timeout=int(p.get("Timeout", 60)),
            MemorySize=int(p.get("MemorySize", 512)),
            Environment={"Variables": environment},
        )

    def _create_state_machine(self, r: Resource) -> None:
        definition = json.loads(self.resolver.resolve(r.properties["DefinitionString"], r.stack))
        self.definition = definition
        self.graph = coverage.graph_of(definition)
        coverage.register_definition(self.graph)
        runnable = self._rewrite_for_tests(json.loads(json.dumps(definition)))
        self.state_machine_arn = self.sfn.create_state_machine(
            name=r.attrs["Name"], definition=json.dumps(runnable), roleArn=LAMBDA_ROLE
        )["stateMachineArn"]
        if self.state_machine_arn != r.ref:
            raise HarnessError(f"state machine ARN {self.state_machine_arn} != resolved {r.ref}")

    def _rewrite_for_tests(self, definition: dict[str, Any]) -> dict[str, Any]:
        """Zero Wait and Retry intervals (moto really sleeps); optionally shorten the approval timeout."""

        def visit(states: dict[str, Any]) -> None:
            for state in states.values():
                for retrier in state.get("Retry", []):
                    # ASL requires >= 1; the retrier's sleep is a no-op in the harness (see __enter__).
                    retrier["IntervalSeconds"] = 1
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

    # --- driving the system ------------------------------------------------------------------
    @property
    def artifacts_bucket(self) -> str:
        names = [r.ref for r in self.resolver.of_type("AWS::S3::Bucket") if "-artifacts-" in r.ref]
        return names[0]

    @property
    def models_bucket(self) -> str:
        """The shareable model-artifacts bucket (what registry-reader accounts may read)."""
        names = [r.ref for r in self.resolver.of_type("AWS::S3::Bucket") if "-models-" in r.ref]
        return names[0]

    def table(self, suffix: str) -> str:
        for r in self.resolver.of_type("AWS::DynamoDB::Table"):
            if r.ref.endswith(suffix):
                return r.ref
        raise HarnessError(f"no table ending in {suffix}")

    def function_env(self, logical_prefix: str) -> dict[str, str]:
        for r in self.resolver.of_type("AWS::Lambda::Function"):
            if r.logical_id.startswith(logical_prefix) or logical_prefix in r.logical_id:
                env = self.resolver.resolve(r.properties, r.stack).get("Environment", {}).get("Variables", {})
                return {k: str(v) for k, v in env.items()}
        raise HarnessError(f"no function matching {logical_prefix}")

    def function_name(self, fragment: str) -> str:
        matches = [r.ref for r in self.resolver.of_type("AWS::Lambda::Function") if fragment in r.logical_id]
        if len(matches) != 1:
            raise HarnessError(f"expected one function matching {fragment!r}, got {matches}")
        return matches[0]

    def put_json(self, key: str, document: Any) -> str:
        self.s3.put_object(Bucket=self.artifacts_bucket, Key=key, Body=json.dumps(document).encode())
        return f"s3://{self.artifacts_bucket}/{key}"

    def register_version(
        self,
        group: str,
        *,
        metrics: dict[str, Any] | None,
        bias: dict[str, Any] | None,
        explainability: dict[str, Any] | None,
        tag: str,
        registrant: str = REGISTRANT,
        customer_metadata: dict[str, str] | None = None,
        feature_baseline: dict[str, Any] | None = None,
        model: str | bytes | None = "honest",
    ) -> Registration:
        """Upload the model, the reports (and the feature baseline, when given) and create a package in
        Development, as the CLI/SDK would, as ``registrant`` (SageMaker records it as the package's
        ``CreatedBy``). ``model``: the kind of sample model (``offline.samples.sample_model``) or a
        ``model.tar.gz``; None uploads none."""
        if model is not None:
            from offline.samples import sample_model

            archive = model if isinstance(model, bytes) else sample_model(self.policies[group], model).archive
            self.s3.put_object(Bucket=self.models_bucket, Key=f"{group}/{tag}/model.tar.gz", Body=archive)
        model_metrics: dict[str, Any] = {}
        if metrics is not None:
            model_metrics["ModelQuality"] = {
                "Statistics": {
                    "ContentType": "application/json",
                    "S3Uri": self.put_json(f"{group}/{tag}/metrics.json", metrics),
                }
            }
        if bias is not None:
            model_metrics["Bias"] = {
                "Report": {"ContentType": "application/json", "S3Uri": self.put_json(f"{group}/{tag}/bias.json", bias)}
            }
        if explainability is not None:
            model_metrics["Explainability"] = {
                "Report": {
                    "ContentType": "application/json",
                    "S3Uri": self.put_json(f"{group}/{tag}/explainability.json", explainability),
                }
            }
        drift_baselines = None
        if feature_baseline is not None:
            from mlops_registry.core.baseline import drift_check_baselines

            uri = self.put_json(f"{contracts.BASELINE_PREFIX}/{group}/{tag}/feature-baseline.json", feature_baseline)
            drift_baselines = drift_check_baselines(uri)
        set_modifying_identity(registrant)
        try:
            response = self._create_package(group, tag, model_metrics, customer_metadata, drift_baselines)
        finally:
            set_modifying_identity(None)
        arn = response["ModelPackageArn"]
        version = int(arn.rsplit("/", 1)[1])
        return Registration(arn, group, version)

    def _create_package(
        self,
        group: str,
        tag: str,
        model_metrics: dict[str, Any],
        customer_metadata: dict[str, str] | None = None,
        drift_baselines: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self.sm.create_model_package(  # type: ignore[no-any-return]
            ModelPackageGroupName=group,
            ModelPackageDescription=f"{group} {tag}",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [
                    {
                        "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{group}:{tag}",
                        "ModelDataUrl": f"s3://{self.models_bucket}/{group}/{tag}/model.tar.gz",
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelMetrics=model_metrics,
            ModelLifeCycle={"Stage": "Development", "StageStatus": "Registered", "StageDescription": "registered"},
            **({"CustomerMetadataProperties": customer_metadata} if customer_metadata else {}),
            **({"DriftCheckBaselines": drift_baselines} if drift_baselines else {}),
        )

    def state_change_event(self, package_arn: str) -> dict[str, Any]:
        """The EventBridge event SageMaker emits for the package's current state."""
        detail = self.sm.describe_model_package(ModelPackageName=package_arn)
        detail.pop("ResponseMetadata", None)
        return self._event_for(detail)

    def _event_for(self, detail: dict[str, Any]) -> dict[str, Any]:
        package_arn = detail["ModelPackageArn"]
        return {
            "version": "0",
            "id": f"offline-{time.time_ns()}",
            "detail-type": contracts.MODEL_PACKAGE_STATE_CHANGE,
            "source": contracts.SAGEMAKER_EVENT_SOURCE,
            "account": ACCOUNT,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": REGION,
            "resources": [package_arn],
            "detail": json.loads(json.dumps(detail, default=lambda v: int(v.timestamp() * 1000))),
        }

    def rule_matches(self, event: dict[str, Any]) -> bool:
        rules = [r for r in self.resolver.of_type("AWS::Events::Rule") if "ModelPackageStateChange" in r.logical_id]
        pattern = self.resolver.resolve(rules[0].properties["EventPattern"], rules[0].stack)
        return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))  # type: ignore[arg-type]

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """EventBridge → dispatcher (only when the rule's synthesized pattern matches)."""
        if not self.rule_matches(event):
            return {"action": "not-delivered", "reason": "the rule's pattern does not match"}
        response = self.lambda_.invoke(
            FunctionName=self.function_name("Dispatcher"), Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise HarnessError(f"dispatcher failed: {payload}")
        if payload.get("execution_arn") and payload["execution_arn"] not in self.executions:
            self.executions.append(payload["execution_arn"])
        return dict(payload)

    def invoke_dispatcher(self, event: Any) -> tuple[dict[str, Any], str | None]:
        """The dispatcher invoked with ``event`` whatever the rule says: (payload, error type or None)."""
        response = self.lambda_.invoke(
            FunctionName=self.function_name("Dispatcher"), Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read())
        return payload, (payload.get("errorType") if response.get("FunctionError") else None)

    def reconcile(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """The reconciler, as its schedule (default) or an execution status change invokes it."""
        scheduled = {
            "version": "0",
            "id": f"offline-schedule-{time.time_ns()}",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": REGION,
            "resources": [],
            "detail": {},
        }
        response = self.lambda_.invoke(
            FunctionName=self.function_name("ReconcilerFunction"), Payload=json.dumps(event or scheduled).encode()
        )
        payload = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise HarnessError(f"reconciler failed: {payload}")
        for arn in payload.get("started", []):
            for execution in self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]:
                if (
                    json.loads(self.sfn.describe_execution(executionArn=execution["executionArn"])["input"])[
                        "package_arn"
                    ]
                    == arn
                    and execution["executionArn"] not in self.executions
                ):
                    self.executions.append(execution["executionArn"])
        return dict(payload)

    def announce(self, registration: Registration) -> dict[str, Any]:
        return self.deliver(self.state_change_event(registration.package_arn))

    def pending_approval(self, package_arn: str, timeout: float = 60) -> bool:
        # Staging validation scores the holdout set with the model first: on a loaded machine that
        # takes several seconds before the approval is requested.
        from mlops_registry.core.approvals import ApprovalStore

        store = ApprovalStore(self.table("-approvals"), dynamodb=self.ddb)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if store.get(package_arn) is not None:
                return True
            if self._finished(package_arn):
                return False
            time.sleep(0.05)
        raise HarnessError(f"no approval became pending for {package_arn} within {timeout}s")

    def _finished(self, package_arn: str) -> bool:
        for arn in self.executions:
            if package_arn.rsplit("/", 2)[-2] in arn:
                description = self.sfn.describe_execution(executionArn=arn)
                if description["status"] in TERMINAL and json.loads(description["input"])["package_arn"] == package_arn:
                    return True
        return False

    def approve_with_cli(self, package_arn: str, actor: str, reason: str, decision: str = "Approved") -> dict[str, Any]:
        """``registry approve/reject`` as ``actor``: it sets the approval status (what the CLI does, with
        the caller's credentials) and SageMaker's event reaches the dispatcher, which decides."""
        return self.decide_in_studio(package_arn, actor, decision, reason)

    def decide_in_studio(self, package_arn: str, actor: str, decision: str, reason: str) -> dict[str, Any]:
        """The board sets the approval status in SageMaker Studio; SageMaker emits the event."""
        set_modifying_identity(actor)
        try:
            self.sm.update_model_package(
                ModelPackageArn=package_arn, ModelApprovalStatus=decision, ApprovalDescription=reason
            )
        finally:
            set_modifying_identity(None)
        return self.deliver(self.state_change_event(package_arn))

    def wait(self, execution_arn: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            description = self.sfn.describe_execution(executionArn=execution_arn)
            if description["status"] in TERMINAL:
                self._record_coverage(execution_arn)
                return dict(description)
            time.sleep(0.05)
        raise HarnessError(f"execution {execution_arn} still running after {timeout}s")

    def wait_all_executions(self, timeout: float = 30) -> None:
        for arn in list(self.executions):
            try:
                status = self.sfn.describe_execution(executionArn=arn)["status"]
            except Exception:
                continue
            if status == "RUNNING":
                with suppress(Exception):
                    self.sfn.stop_execution(executionArn=arn, error="HarnessShutdown")
            else:
                self._record_coverage(arn)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        token = None
        while True:
            page = self.sfn.get_execution_history(
                executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def states_entered(self, execution_arn: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if "stateEnteredEventDetails" in e
        ]

    def _record_coverage(self, execution_arn: str) -> None:
        with self._coverage_lock:
            coverage.record(self.graph, self.states_entered(execution_arn))

    def package(self, package_arn: str) -> dict[str, Any]:
        return dict(self.sm.describe_model_package(ModelPackageName=package_arn))

    def ledger(self) -> Any:
        from mlops_registry.core.ledger import Ledger

        return Ledger(self.table("-audit-ledger"), dynamodb=self.ddb)

    def notifications(self) -> Iterator[dict[str, Any]]:
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.notifications_queue, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.notifications_queue, ReceiptHandle=message["ReceiptHandle"])
                yield json.loads(message["Body"])

    # --- serving -----------------------------------------------------------------------------
    def serving_stack(self, group: str) -> dict[str, Any]:
        stack = self.session.client("cloudformation").describe_stacks(StackName=self.serving_stacks[group])
        return dict(stack["Stacks"][0])

    def serving_parameters(self, group: str) -> dict[str, str]:
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in self.serving_stack(group).get("Parameters", [])}

    def endpoint_name(self, group: str) -> str:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in self.serving_stack(group).get("Outputs", [])}
        return outputs["EndpointName"]

    def serving(self, group: str) -> dict[str, dict[str, Any]]:
        """What the group's endpoint serves: variant -> {package_arn, weight, model, config}; {} without endpoint."""
        try:
            endpoint = self.sm.describe_endpoint(EndpointName=self.endpoint_name(group))
        except self.sm.exceptions.ClientError:
            return {}
        config = self.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        weights = {v["VariantName"]: v.get("CurrentWeight") for v in endpoint.get("ProductionVariants", [])}
        served = {}
        for variant in config["ProductionVariants"]:
            model = self.sm.describe_model(ModelName=variant["ModelName"])
            served[variant["VariantName"]] = {
                "package_arn": model["PrimaryContainer"].get("ModelPackageName"),
                "weight": weights.get(variant["VariantName"], variant.get("InitialVariantWeight")),
                "model": variant["ModelName"],
                "config": endpoint["EndpointConfigName"],
            }
        return served

    def fail_next_deployment(self, group: str, outcome: str = "rollback", reason: str = "") -> None:
        """The next update of the group's serving stack rolls back (the guardrails' alarms tripped) or sticks."""
        self.stack_outcomes.push(self.serving_stacks[group], outcome, reason)

    def fail_aws_calls(
        self, service: str, operation: str, *, code: str, status: int, times: int, function: str | None = None
    ) -> list[int]:
        """The next ``times`` calls of ``service`` ``operation`` (made by the function whose logical id
        contains ``function``, when given) fail with ``code`` / HTTP ``status``, as the caller sees them
        once the SDK's own retries are exhausted. Returns a one-element list: the failures still to come."""
        from botocore.client import BaseClient
        from botocore.exceptions import ClientError

        role = self.function_roles[self.function_name(function)] if function else None
        remaining = [times]
        original = BaseClient._make_api_call

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if (
                client.meta.service_model.service_name == service
                and operation_name == operation
                and (role is None or self.iam.current() == role)
                and remaining[0] > 0
            ):
                remaining[0] -= 1
                raise ClientError(
                    {
                        "Error": {"Code": code, "Message": f"{code} (offline fault)"},
                        "ResponseMetadata": {"HTTPStatusCode": status},
                    },
                    operation_name,
                )
            return original(client, operation_name, api_params)

        self._stack.enter_context(mock.patch.object(BaseClient, "_make_api_call", _make_api_call))
        return remaining

    def on_invoke(self, fragment: str, action: str, callback: Any) -> None:
        """Run ``callback(payload)`` just before each invocation of a function's ``action`` (the payload may
        be changed: e.g. a later ``now`` stands for time passing)."""
        function = self.function_name(fragment)

        def hook(name: str, payload: dict[str, Any]) -> BaseException | None:
            if name == function and payload.get("action") == action:
                callback(payload)
            return None

        self.runner.faults.append(hook)

    def publish_variant_metrics(self, group: str, counts: dict[str, dict[str, int]], success_metric: str) -> None:
        """What SageMaker (invocations, 5XX) and the application (the success metric) publish per variant."""
        from offline.traffic import put_variant_metrics

        put_variant_metrics(self.session.client("cloudwatch"), self.endpoint_name(group), counts, success_metric)

    def drift_schedule_input(self, group: str) -> dict[str, Any]:
        """The input the group's synthesized drift schedule invokes the drift function with (its
        ``windowEnd`` is the scheduler's scheduled time, which the caller sets)."""
        for path in sorted(self.outdir.glob("*.template.json")):  # the schedules live in nested stacks
            for resource in json.loads(path.read_text()).get("Resources", {}).values():
                if resource["Type"] != "AWS::Scheduler::Schedule":
                    continue
                request = json.loads(resource["Properties"]["Target"]["Input"])
                if request.get("group") == group:
                    return dict(request)
        raise HarnessError(f"no drift schedule for group {group}")

    def promote(
        self, group: str, tag: str, approver: str, reports: dict[str, Any], **options: Any
    ) -> tuple[Registration, dict[str, Any]]:
        """Register a version, let it through the gates, approve it with the CLI, wait for the end."""
        registration = self.register_version(group, tag=tag, **reports, **options)
        outcome = self.announce(registration)
        if outcome.get("action") != "started":
            raise HarnessError(f"no execution started for {registration.package_arn}: {outcome}")
        if not self.pending_approval(registration.package_arn):
            raise HarnessError(f"{registration.package_arn} never waited for approval")
        self.approve_with_cli(registration.package_arn, approver, f"{tag} reviewed")
        return registration, self.wait(outcome["execution_arn"])
