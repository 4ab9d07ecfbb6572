"""The driver: the synthesized app running on the emulator, driven the way AWS would drive it.

``PipelineHarness`` takes the CDK cloud assembly (not a hand-written copy of anything), has the
provisioner create the app's resources in moto from the templates' own properties, and runs
executions of the synthesized state machine on moto's ASL interpreter with the real Lambda code
in-process. Tests, ``make demo`` and the sandbox drive it as AWS would: an EventBridge event to the
dispatcher, a board decision, an endpoint outcome.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from moto import mock_aws
from moto.events.models import EventPattern

from mlops_registry.core import contracts
from offline import iam_proof
from offline.environment import share_service_models
from offline.harness import coverage, emulator
from offline.harness.common import ACCOUNT, PARTITION, REGION, REGISTRANT, TERMINAL, HarnessError
from offline.harness.provisioner import (
    PACKAGE_STATE_CHANGE_RULE,
    DefinitionRewrite,
    Provisioned,
    Provisioner,
    assign_physical_ids,
)
from offline.harness.resolver import Resolver, Resource
from offline.harness.runtime import InProcessLambdaRunner
from offline.sagemaker_jobs import JobOutcomes, sagemaker_job_emulation

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


@dataclass(frozen=True)
class _World:
    snapshot: emulator.WorldSnapshot
    provisioned: Provisioned
    environment: dict[str, str]  # every function's variables, reserved before threads run


_WORLDS: dict[str, _World] = {}  # provisioned worlds of this process, by app and options


class _Session(boto3.session.Session):
    """The harnesses' session: a client per service, made once per process. moto's state belongs to
    the process, not to a client, so a client outlives the harness that made it (as the functions'
    own cached clients do); a client asked for with any other argument is made anew."""

    def __init__(self) -> None:
        super().__init__(region_name=REGION)
        self._clients: dict[str, Any] = {}

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if args or kwargs:
            return super().client(service_name, *args, **kwargs)  # type: ignore[call-overload]
        if service_name not in self._clients:
            self._clients[service_name] = super().client(service_name)  # type: ignore[call-overload]
        return self._clients[service_name]


@functools.cache
def _session() -> _Session:
    return _Session()


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
        self.resolver = Resolver(templates, self.outdir)
        self.approval_timeout_seconds = approval_timeout_seconds
        self.runner = InProcessLambdaRunner()
        self.stack_outcomes = emulator.StackOutcomes()
        # What the next Batch Transform / Processing job does (run, fail, hang): ``fail_next_job``.
        self.job_outcomes = JobOutcomes()
        self._stack = ExitStack()
        self.executions: list[str] = []
        self._coverage_lock = threading.Lock()
        self._final_histories: dict[str, list[dict[str, Any]]] = {}  # a finished execution's history is final
        # The MLflow the functions are configured for (the template's tracking server or App ARN) and,
        # when given, the real local server they talk to instead (``mlflow_url``).
        self.mlflow_url = mlflow_url
        self.mlflow_configured_uri: str | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> PipelineHarness:
        from mlops_registry.core.aws import cold_start

        os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "offline")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "offline")
        share_service_models()
        self._stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        # moto logs a warning per resource type it has no CloudFormation model for (the serving
        # stacks' alarms and scaling targets): expected here, and noise in every run's output.
        self._stack.enter_context(emulator.quiet_logger("moto.cloudformation.parsing"))
        self._stack.enter_context(emulator.sagemaker_extensions())
        self._stack.enter_context(sagemaker_job_emulation(self.job_outcomes))
        self._stack.enter_context(emulator.dynamodb_serializable_writes())
        self._stack.enter_context(emulator.step_functions_parse_cache())
        self._stack.enter_context(emulator.memoized_lookups())
        self._stack.enter_context(emulator.step_functions_json_copies())
        self._stack.enter_context(emulator.cloudformation_extensions(self.stack_outcomes))
        self._stack.enter_context(self.runner.installed())
        self._stack.enter_context(self.iam.installed())
        self._stack.enter_context(emulator.instant_retries())
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
        cold_start()  # the functions of a new world keep nothing of the last (their clients aside)
        self.session = _session()
        self.sm = self.session.client("sagemaker")
        self.sfn = self.session.client("stepfunctions")
        self.ddb = self.session.client("dynamodb")
        self.s3 = self.session.client("s3")
        self.sqs = self.session.client("sqs")
        self.sns = self.session.client("sns")
        self.lambda_ = self.session.client("lambda")
        assign_physical_ids(self.resolver)
        self._watch_iam()
        self.provisioner = Provisioner(
            self.resolver,
            self.outdir,
            self.session,
            self.runner.reserve,
            DefinitionRewrite(self.wait_seconds, self.approval_timeout_seconds),
            self.mlflow_url,
        )
        provisioned = self._provision()
        self.topic_arn = provisioned.topic_arn
        self.notifications_queue = provisioned.notifications_queue
        self.serving_stacks = provisioned.serving_stacks
        self.state_machines = provisioned.state_machines
        self.state_machine_arn = provisioned.state_machine_arn
        self.definition = provisioned.definition
        assert provisioned.graph is not None
        self.graph = provisioned.graph
        self.mlflow_configured_uri = provisioned.mlflow_configured_uri
        if self.emit_events:
            emulator.package_listeners.append(self._emit_state_change)
            self._stack.callback(emulator.package_listeners.remove, self._emit_state_change)
        return self

    def _provision(self) -> Provisioned:
        """The app's resources: provisioned the first time in this process, restored from that world's
        snapshot for every later harness on the same app and options (``emulator.WorldSnapshot``)."""
        shape = {
            "outdir": str(self.outdir),
            "templates": self.resolver.templates,
            "wait_seconds": self.wait_seconds,
            "approval_timeout_seconds": self.approval_timeout_seconds,
            "mlflow_url": self.mlflow_url,
        }
        key = hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()
        world = _WORLDS.get(key)
        if world is None:
            environment: dict[str, str] = {}

            def reserve(variables: dict[str, str]) -> None:
                environment.update(variables)
                self.runner.reserve(variables)

            self.provisioner.reserve_environment = reserve
            provisioned = self.provisioner.provision()
            world = _WORLDS[key] = _World(emulator.WorldSnapshot.capture(ACCOUNT), provisioned, environment)
        else:
            world.snapshot.restore()
            self.runner.reserve(world.environment)
            assert world.provisioned.graph is not None
            coverage.register_definition(world.provisioned.graph)
        return copy.deepcopy(world.provisioned)

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
            emulator.set_modifying_identity(None)
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

    # --- driving the system ------------------------------------------------------------------
    @property
    def artifacts_bucket(self) -> str:
        return self.provisioner.artifacts_bucket

    @property
    def models_bucket(self) -> str:
        """The shareable model-artifacts bucket (what registry-reader accounts may read)."""
        return self.provisioner.models_bucket

    @property
    def policies(self) -> dict[str, Any]:
        """Each managed group's policy, as the stack publishes it (its SSM parameter)."""
        return self.provisioner.group_policies()

    def table(self, suffix: str) -> str:
        """The table whose declared name (the template's TableName) ends with ``suffix``."""
        for r in self.resolver.of_type("AWS::DynamoDB::Table"):
            if r.ref.endswith(suffix):
                return r.ref
        raise HarnessError(f"no table ending in {suffix}")

    def function(self, construct: str) -> Resource:
        """The function of construct ``construct`` (``"DispatcherFunction"``, ``"LedgerCheck"``), or of
        ``construct + "Function"``, in the CDK construct paths."""
        for candidate in (construct, f"{construct}Function"):
            found = self.resolver.at("AWS::Lambda::Function", candidate)
            if len(found) == 1:
                return found[0]
        return self.resolver.one("AWS::Lambda::Function", construct)

    def function_env(self, construct: str) -> dict[str, str]:
        return self.provisioner.function_environment(self.function(construct))

    def function_name(self, construct: str) -> str:
        return self.function(construct).ref

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
        emulator.set_modifying_identity(registrant)
        try:
            response = self._create_package(group, tag, model_metrics, customer_metadata, drift_baselines)
        finally:
            emulator.set_modifying_identity(None)
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
        rule = self.resolver.one("AWS::Events::Rule", PACKAGE_STATE_CHANGE_RULE)
        pattern = self.resolver.resolve(rule.properties["EventPattern"], rule.stack)
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
        asked_after = -1
        while time.monotonic() < deadline:
            returned = len(self.runner.invocations)
            if returned != asked_after:  # only a function stores a token: ask once more after each one
                asked_after = returned
                if store.get(package_arn) is not None:
                    # The function that stored it may still be writing its ledger entry and notifying:
                    # invocations run one at a time, so the one in progress returning means it is done.
                    self.runner.wait_for_invocation_in_progress()
                    return True
            if self._finished(package_arn):
                return False
            time.sleep(0.05)
        raise HarnessError(f"no approval became pending for {package_arn} within {timeout}s")

    def _finished(self, package_arn: str) -> bool:
        for arn in self.executions:
            if package_arn.rsplit("/", 2)[-2] in arn:
                status, document = emulator.execution_status(ACCOUNT, REGION, arn)
                if status in TERMINAL and document.get("package_arn") == package_arn:
                    return True
        return False

    def approve_with_cli(self, package_arn: str, actor: str, reason: str, decision: str = "Approved") -> dict[str, Any]:
        """``registry approve/reject`` as ``actor``: it sets the approval status (what the CLI does, with
        the caller's credentials) and SageMaker's event reaches the dispatcher, which decides."""
        return self.decide_in_studio(package_arn, actor, decision, reason)

    def decide_in_studio(self, package_arn: str, actor: str, decision: str, reason: str) -> dict[str, Any]:
        """The board sets the approval status in SageMaker Studio; SageMaker emits the event."""
        emulator.set_modifying_identity(actor)
        try:
            self.sm.update_model_package(
                ModelPackageArn=package_arn, ModelApprovalStatus=decision, ApprovalDescription=reason
            )
        finally:
            emulator.set_modifying_identity(None)
        return self.deliver(self.state_change_event(package_arn))

    def wait(self, execution_arn: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if emulator.execution_status(ACCOUNT, REGION, execution_arn)[0] in TERMINAL:
                self._record_coverage(execution_arn)
                return dict(self.sfn.describe_execution(executionArn=execution_arn))
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
        if execution_arn in self._final_histories:
            return [dict(event) for event in self._final_histories[execution_arn]]
        return emulator.execution_history(ACCOUNT, REGION, execution_arn)

    def states_entered(self, execution_arn: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if "stateEnteredEventDetails" in e
        ]

    def _record_coverage(self, execution_arn: str) -> None:
        """Called once an execution is terminal: its history is kept (it no longer changes)."""
        with self._coverage_lock:
            if execution_arn in self._final_histories:
                return
            events = self.history(execution_arn)
            self._final_histories[execution_arn] = events
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
