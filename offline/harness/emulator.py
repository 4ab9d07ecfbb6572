"""Everything that depends on the emulator's (moto's) internals, in one place, for moto 5.2.5 only.

Importing this module checks the installed moto version and fails with ``EmulatorVersionError``
naming both versions on any other: these patches reach into private classes and methods that change
between releases, and a silently half-working emulator would make the offline proofs worthless.

The patches make moto closer to the real services where the project depends on documented behaviour
that moto 5.2.5 lacks:
- SageMaker: ``ModelLifeCycle`` on CreateModelPackage / UpdateModelPackage / DescribeModelPackage;
  UpdateModelPackage leaving fields that the call does not mention unchanged (moto resets the approval
  status, approval description and customer metadata to None); ``CreatedBy`` / ``LastModifiedBy``
  recording the caller's identity as SageMaker does: a test may name it (``set_modifying_identity``),
  else credentials from an STS AssumeRole are resolved to their assumed-role session ARN;
- CloudFormation: UpdateStack re-evaluating the whole template (see the section's comment), with the
  outcome of a stack's next update chosen by a test (``StackOutcomes``);
- DynamoDB: serializable writes; Step Functions: one parse per definition, its documents copied
  without ``copy.deepcopy``'s bookkeeping (``json_copy``) and no real retry sleeps;
- Lambda: invocations handed to an in-process runtime (``offline.harness.runtime``; moto would need
  Docker).

It also snapshots a provisioned world's backends (``WorldSnapshot``), so a worker provisions each app
once, and reads an execution's status and history from the backend, as the API would return them.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import logging
import pickle
import threading
import warnings
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from types import FunctionType, SimpleNamespace
from typing import Any
from unittest import mock

from offline.emulator_version import check_emulator_version

check_emulator_version()

from moto.awslambda.models import LambdaFunction  # noqa: E402  (only once the version is known)
from moto.sagemaker import models as sm_models  # noqa: E402
from moto.sagemaker import responses as sm_responses  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: E402

_state = threading.local()
# Called with the package's description after an UpdateModelPackage made by a person (a named or
# assumed-role identity), as SageMaker emits "Model Package State Change" to EventBridge (the harness
# may deliver it). The pipeline's own writes (moto's default credentials) are not emitted.
package_listeners: list[Callable[[dict[str, Any]], None]] = []


def _emit(package: Any) -> None:
    if package_listeners:
        description = package.gen_response_object()
        for listener in list(package_listeners):
            listener(description)


def set_modifying_identity(identity: str | None) -> None:
    """The identity recorded as LastModifiedBy by the next UpdateModelPackage calls (tests only)."""
    _state.identity = identity


def _original(name: str) -> Callable[..., Any]:
    return getattr(sm_responses.SageMakerResponse, name)


def _caller(response: Any) -> str | None:
    """The identity SageMaker would record: the identity a test chose, else the assumed-role session of
    the request's credentials, else the IAM user owning its access key (the sandbox's and the demo's
    named identities), else None (moto's placeholder stays)."""
    chosen = getattr(_state, "identity", None)
    if chosen:
        return str(chosen)
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    try:
        access_key = response.get_access_key()
        role = sts_backends[response.current_account]["global"].get_assumed_role_from_access_key(access_key)
        if role is not None:
            return str(role.arn)
        user = iam_backends[response.current_account]["aws"].get_user_from_access_key_id(access_key)
    except Exception:  # no signature (anonymous request) or no IAM backend: keep moto's default
        return None
    return str(user.arn) if user is not None else None


def _user_context(arn: str) -> dict[str, Any]:
    return {"IamIdentity": {"Arn": arn}, "UserProfileName": arn.rsplit("/", 1)[-1]}


def _patched_create(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_model_package(self: Any) -> Any:
        result = original(self)
        _record_call(self, _find_package(self.sagemaker_backend, result.result["ModelPackageArn"]), created=True)
        return result

    return create_model_package


def _record_call(response: Any, package: Any, *, created: bool) -> str | None:
    """What SageMaker records of a create or update on the package: the ``ModelLifeCycle`` the call set and
    who made it (``LastModifiedBy``, and ``CreatedBy`` on a create). Returns that caller, if known."""
    if package is None:
        return None
    life_cycle = response._get_param("ModelLifeCycle")
    if life_cycle:
        package.model_life_cycle = life_cycle
    caller = _caller(response)
    if caller:
        package.last_modified_by = _user_context(caller)
        if created:
            package.created_by = _user_context(caller)
    return caller


def _find_package(backend: Any, arn: str | None) -> Any:
    if arn is None:
        return None
    name = backend.model_package_name_mapping.get(arn, arn)
    return backend.model_packages.get(name)


def _update_model_package(
    self: Any,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str],
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    package = _find_package(self, model_package_arn)
    if package is None:
        raise sm_models.ValidationError(f"Model package {model_package_arn} not found")
    if model_approval_status is not None:
        package.set_model_approval_status(model_approval_status)
    if approval_description is not None:
        package.approval_description = approval_description
    if customer_metadata_properties:
        merged = dict(package.customer_metadata_properties or {})
        merged.update(customer_metadata_properties)
        package.customer_metadata_properties = merged
    if customer_metadata_properties_to_remove and package.customer_metadata_properties:
        package.remove_customer_metadata_property(customer_metadata_properties_to_remove)
    package.add_additional_inference_specifications(additional_inference_specifications_to_add)
    package.modifications_done()
    return package.arn


def _patched_update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_model_package(self: Any) -> Any:
        result = original(self)
        package = _find_package(self.sagemaker_backend, self._get_param("ModelPackageArn"))
        if _record_call(self, package, created=False):  # a person's change: SageMaker emits its event
            _emit(package)
        return result

    return update_model_package


def _patched_response(original: Callable[..., Any]) -> Callable[..., Any]:
    def gen_response_object(self: Any) -> dict[str, Any]:
        response = original(self)
        life_cycle = getattr(self, "model_life_cycle", None)
        if life_cycle:
            response["ModelLifeCycle"] = life_cycle
        return response

    return gen_response_object


@contextlib.contextmanager
def sagemaker_extensions() -> Iterator[None]:
    """Apply the SageMaker model-package patches for the duration of the block."""
    with (
        mock.patch.object(
            sm_responses.SageMakerResponse, "create_model_package", _patched_create(_original("create_model_package"))
        ),
        mock.patch.object(
            sm_responses.SageMakerResponse, "update_model_package", _patched_update(_original("update_model_package"))
        ),
        mock.patch.object(sm_models.SageMakerModelBackend, "update_model_package", _update_model_package),
        mock.patch.object(
            sm_models.ModelPackage, "gen_response_object", _patched_response(sm_models.ModelPackage.gen_response_object)
        ),
    ):
        yield


# --- CloudFormation: serving stacks ------------------------------------------------------------------
# moto 5.2.5's UpdateStack only re-creates resources whose JSON references a changed parameter
# directly: resources that turn on through a Condition are never created, and an endpoint config that
# references a replaced model by GetAtt is not replaced. The serving stacks depend on both. The patch
# below re-evaluates the whole template with the new parameters: SageMaker resources are torn down
# and re-created (moto's own SageMaker update also deletes and re-creates), every other resource is
# kept. It also honours the SageMaker name properties (moto ignores ModelName, EndpointConfigName and
# EndpointName), drops AWS::NoValue entries from ProductionVariants, and lets a test decide the
# outcome of a stack's next update: the deployment guardrails rolling it back, or a stuck rollback.
SAGEMAKER_TEARDOWN_ORDER = ("AWS::SageMaker::Endpoint", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Model")
GUARDRAIL_REASON = "Endpoint update rolled back by deployment guardrails: alarm {alarm} in ALARM (offline)"


class StackOutcomes:
    """What the next update of a stack does: ``complete`` (default), ``rollback`` or ``rollback_failed``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[str, list[tuple[str, str]]] = {}
        self.updates: list[tuple[str, dict[str, Any], str]] = []

    def push(self, stack_name: str, outcome: str, reason: str = "") -> None:
        if outcome not in ("complete", "rollback", "rollback_failed"):
            raise ValueError(f"unknown stack outcome {outcome!r}")
        with self._lock:
            self._queued.setdefault(stack_name, []).append((outcome, reason))

    def pop(self, stack_name: str) -> tuple[str, str]:
        with self._lock:
            queued = self._queued.get(stack_name) or []
            return queued.pop(0) if queued else ("complete", "")


def _rebuild(stack: Any, template: str, parameters: dict[str, Any]) -> None:
    from moto.cloudformation.parsing import CloudFormationModel

    old = stack.resource_map
    for resource_type in SAGEMAKER_TEARDOWN_ORDER:
        for logical_id, resource in list(old._parsed_resources.items()):
            if getattr(resource, "cf_resource_type", None) == resource_type:
                old._delete_resource(resource, old._resource_json_map[logical_id])
                del old._parsed_resources[logical_id]
    stack.template = template
    stack._parse_template()
    stack.parameters = dict(parameters)
    new = stack._create_resource_map()
    for logical_id, resource in old._parsed_resources.items():
        if logical_id in new._resource_json_map and isinstance(resource, CloudFormationModel):
            new._parsed_resources[logical_id] = resource
    new.create(stack.template_dict)
    stack.resource_map = new
    stack.output_map = stack._create_output_map()


def _resource_event(stack: Any, resource_type: str, status: str, reason: str) -> None:
    from moto.cloudformation.models import Event

    logical_id = next(
        (name for name, body in stack.template_dict.get("Resources", {}).items() if body.get("Type") == resource_type),
        resource_type,
    )
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=logical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _patched_stack_update(outcomes: StackOutcomes) -> Callable[..., None]:
    def update(
        self: Any,
        template: str,
        role_arn: str | None = None,
        parameters: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        previous_template = self.template
        previous_parameters = dict(self.parameters or {})
        new_parameters = dict(parameters or previous_parameters)
        outcome, reason = outcomes.pop(self.name)
        outcomes.updates.append((self.name, new_parameters, outcome))
        self._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
        self.role_arn = role_arn
        if tags is not None:
            self.tags = tags
        _rebuild(self, template, new_parameters)
        if outcome == "complete":
            self._add_stack_event("UPDATE_COMPLETE")
            self.status = "UPDATE_COMPLETE"
            return
        alarms = [
            alarm["AlarmName"]
            for body in self.template_dict.get("Resources", {}).values()
            if body.get("Type") == "AWS::SageMaker::Endpoint"
            for alarm in body.get("Properties", {})
            .get("DeploymentConfig", {})
            .get("AutoRollbackConfiguration", {})
            .get("Alarms", [])
            if isinstance(alarm.get("AlarmName"), str)
        ]
        why = reason or GUARDRAIL_REASON.format(alarm=alarms[0] if alarms else "-")
        _resource_event(self, "AWS::SageMaker::Endpoint", "UPDATE_FAILED", why)
        self._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=why)
        if outcome == "rollback_failed":
            _resource_event(
                self, "AWS::SageMaker::Endpoint", "UPDATE_FAILED", "rollback could not restore the endpoint"
            )
            self._add_stack_event("UPDATE_ROLLBACK_FAILED")
            self.status = "UPDATE_ROLLBACK_FAILED"
            return
        _rebuild(self, previous_template, previous_parameters)
        self._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        self.status = "UPDATE_ROLLBACK_COMPLETE"

    return update


def _endpoint_config_without_novalue(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json["Properties"]
        properties["ProductionVariants"] = [v for v in properties.get("ProductionVariants", []) if v]
        return original(resource_name, cloudformation_json, account_id, region_name, **kwargs)

    return create


def _json_first(original: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """moto parses every template as YAML first (~0.2 s for a synthesized one); JSON is tried first here."""

    def parse_template(template: str) -> dict[str, Any]:
        try:
            parsed = json.loads(template)
        except (TypeError, ValueError):
            return original(template)
        return parsed if isinstance(parsed, dict) else original(template)

    return parse_template


class _QuietUnsupportedTypes:
    """moto warns for every resource type it has no CloudFormation model for (the serving stacks'
    alarms and scaling targets): expected here, so those warnings are dropped, others kept."""

    @staticmethod
    def warn(message: Any, *args: Any, **kwargs: Any) -> None:
        if "not supported by moto's CloudFormation implementation" in str(message):
            return
        warnings.warn(message, *args, **{**kwargs, "stacklevel": kwargs.get("stacklevel", 1) + 1})


@contextlib.contextmanager
def cloudformation_extensions(outcomes: StackOutcomes) -> Iterator[StackOutcomes]:
    """Apply the CloudFormation patches (see the comment above) for the duration of the block."""
    from moto.cloudformation import parsing
    from moto.cloudformation.models import Stack

    original_config = sm_models.FakeEndpointConfig.create_from_cloudformation_json
    with (
        mock.patch.object(parsing, "warnings", _QuietUnsupportedTypes),
        mock.patch.object(Stack, "update", _patched_stack_update(outcomes)),
        mock.patch.object(Stack, "parse_template", staticmethod(_json_first(Stack.parse_template))),
        mock.patch.object(sm_models.Model, "cloudformation_name_type", staticmethod(lambda: "ModelName")),
        mock.patch.object(
            sm_models.FakeEndpointConfig, "cloudformation_name_type", staticmethod(lambda: "EndpointConfigName")
        ),
        mock.patch.object(sm_models.FakeEndpoint, "cloudformation_name_type", staticmethod(lambda: "EndpointName")),
        mock.patch.object(
            sm_models.FakeEndpointConfig,
            "create_from_cloudformation_json",
            staticmethod(_endpoint_config_without_novalue(original_config)),
        ),
    ):
        yield outcomes


@contextlib.contextmanager
def quiet_logger(name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Raise one logger's level for the duration of the block (expected emulator warnings)."""
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


# --- DynamoDB: serializable transactions ------------------------------------------------------------
# DynamoDB executes a TransactWriteItems atomically: its conditions are checked and its writes applied
# with no other write in between. moto 5.2.5 checks and applies without a lock, so two threads can both
# pass a condition on the same item. The ledger's hash chain depends on that atomicity (its head is
# conditional on the previous head); this lock gives moto's transactions and single-item writes the
# isolation DynamoDB documents.
_DYNAMODB_WRITE_LOCK = threading.RLock()


@contextlib.contextmanager
def dynamodb_serializable_writes() -> Iterator[None]:
    from moto.dynamodb.models import DynamoDBBackend

    def serialized(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            with _DYNAMODB_WRITE_LOCK:
                return original(*args, **kwargs)

        return call

    with contextlib.ExitStack() as patches:
        for name in ("transact_write_items", "put_item", "update_item", "delete_item"):
            patches.enter_context(mock.patch.object(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name))))
        yield


# --- Step Functions: one parse per definition ---------------------------------------------------------
# moto parses a state machine's definition into its evaluation tree at CreateStateMachine and again at
# every StartExecution (ANTLR plus the preprocessor: about a second for the promotion machine). The
# tree holds per-execution state (retry counters), so it is never shared: the first parse of a
# definition is pickled and every call gets a fresh tree from the pickle, the same tree a new parse
# would give. Definitions that do not parse are not cached (each call raises moto's own error).
_PARSED: dict[str, tuple[bytes, Any]] = {}
_PARSED_LOCK = threading.Lock()


@contextlib.contextmanager
def step_functions_parse_cache() -> Iterator[None]:
    import pickle

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original = AmazonStateLanguageParser.parse

    def parse(definition: str) -> tuple[Any, Any]:
        with _PARSED_LOCK:
            cached = _PARSED.get(definition)
        if cached is not None:
            return pickle.loads(cached[0]), cached[1]
        program, tree = original(definition)
        try:
            frozen = pickle.dumps(program)
        except Exception:  # a tree pickle cannot copy: parse every time, as moto does
            return program, tree
        with _PARSED_LOCK:
            _PARSED[definition] = (frozen, tree)
        return pickle.loads(frozen), tree

    with mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(parse)):
        yield


# --- Lookups moto repeats on every call, memoized ------------------------------------------------------
@functools.cache
def _method_names(response_class: type) -> frozenset[str]:
    from moto.core.utils import method_names_from_class

    return frozenset(method_names_from_class(response_class))


@functools.lru_cache(maxsize=4096)
def _json_path(path: str) -> Any:
    from jsonpath_ng.ext import parse

    return parse(path)


@functools.lru_cache(maxsize=4096)
def _result_path(path: str) -> Any:
    from jsonpath_ng import parse

    return parse(path)


@contextlib.contextmanager
def memoized_lookups() -> Iterator[None]:
    """Two pure lookups moto makes again on every call, made once per argument: the action names of a
    response class (``inspect.getmembers`` for every request, ~2% of the pipeline tests' CPU) and the
    Step Functions interpreter's parsed JSONPath expressions (jsonpath-ng builds its parser's tables
    for every parse, ~2%). A parsed expression is only read (``find``, ``update_or_create``)."""
    from moto.core import responses
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    with (
        mock.patch.object(responses, "method_names_from_class", _method_names),
        mock.patch.object(json_path, "parse", _json_path),
        mock.patch.object(result_path, "parse", _result_path),
    ):
        yield


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_copy(value: Any) -> Any:
    """A deep copy of ``value``, made directly for what JSON holds (dicts, lists, strings, numbers,
    booleans, None) and by ``copy.deepcopy`` for anything else it finds. Equal to ``copy.deepcopy``'s
    copy and as independent of the original; one thing differs: an object referenced twice is copied
    twice (JSON has no references). About three times faster on a promotion's state document."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind in _JSON_SCALARS:
        return value
    return copy.deepcopy(value)


@contextlib.contextmanager
def step_functions_json_copies() -> Iterator[None]:
    """The Step Functions interpreter copies every state's input, output and intermediate values with
    ``copy.deepcopy`` (~4.5% of the pipeline tests' samples in a profile, almost all of it on JSON
    documents): those copies are made by ``json_copy`` instead, in the modules that make them once or
    more per state. Three paired runs of the pipeline tests used less CPU with it in each pair (ratios
    0.84, 0.88 and 0.98: the machine is noisy)."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.eval import states

    copies = SimpleNamespace(deepcopy=json_copy)
    with contextlib.ExitStack() as patches:
        for module in (states, string_expression, execute_state, result_path):
            patches.enter_context(mock.patch.object(module, "copy", copies))
        yield


def execution_status(account: str, region: str, execution_arn: str) -> tuple[str, dict[str, Any]]:
    """An execution's status (DescribeExecution's ``status``) and its input as a document, read from the
    backend: the harness asks every 50 ms while it waits for an execution to end, and through the API
    those polls were ~1,400 requests a run."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    execution: Any = stepfunctions_parser_backends[account][region].describe_execution(execution_arn)
    document = execution.input_data
    return str(execution.status), json.loads(document) if isinstance(document, str) else document


def execution_history(account: str, region: str, execution_arn: str) -> list[dict[str, Any]]:
    """An execution's events as GetExecutionHistory returns them, read from the backend: the harness reads
    every finished execution's history, and through the API (every event serialized, then parsed) that
    cost about 4% of the pipeline tests' CPU. A deep copy: the caller cannot change the execution's events."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[account][region]
    events: list[dict[str, Any]] = copy.deepcopy(
        [dict(e) for e in backend.get_execution_history(execution_arn)["events"]]
    )
    for event in events:  # the backend keeps the wire's ISO text; the SDK parses it
        stamp = event["timestamp"]
        if isinstance(stamp, str):
            event["timestamp"] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return events


# --- Lambda: the in-process runtime ------------------------------------------------------------------
@contextlib.contextmanager
def in_process_lambdas(invoke: Callable[[Any, Any], tuple[str, bool, str]]) -> Iterator[None]:
    """moto's Lambda invocations (API calls and Step Functions tasks) go to ``invoke(function, event)``:
    ``function`` has ``function_name``, ``handler``, ``code_bytes``, ``environment_vars``,
    ``memory_size`` and ``timeout``; the result is (payload, errored, logs)."""

    def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        return invoke(self, event)

    with mock.patch.object(LambdaFunction, "_invoke_lambda", _invoke_lambda):
        yield


# --- Step Functions: retries without real sleeps --------------------------------------------------------
@contextlib.contextmanager
def instant_retries() -> Iterator[None]:
    """A Retry's interval passes at once (the definitions' intervals are set to the minimum too)."""
    with mock.patch.object(retrier_decl, "time", SimpleNamespace(sleep=lambda seconds: None)):
        yield


# --- Snapshots: a provisioned world, restored for the next harness on the same app ------------------------
# Provisioning the app (functions, tables, buckets, stacks, state machines) costs more than most tests
# that use it. A world is therefore provisioned once per worker and app, its backends pickled as one
# object graph (resources that point at each other stay one object), and every later harness on the
# same app gets an unpickled copy of its own. moto 5.2.5's backends hold three things pickle refuses:
# locks (a copy gets new ones), weak-value dictionaries (a copy gets its own, over the same objects)
# and local functions such as default factories (shared: they hold no state). A dict subclass whose
# constructor takes other arguments than ``defaultdict``'s (SSM's ``ParameterDict``) is rebuilt as one.
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _rebuild_defaultdict(cls: type, factory: Any, items: dict[Any, Any], state: dict[str, Any]) -> Any:
    rebuilt: Any = defaultdict.__new__(cls)
    defaultdict.__init__(rebuilt, factory)
    rebuilt.update(items)
    rebuilt.__dict__.update(state)
    return rebuilt


class _WorldPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, shared: dict[int, Any]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def persistent_id(self, obj: Any) -> int | None:
        if isinstance(obj, FunctionType) and ("<lambda>" in obj.__qualname__ or "<locals>" in obj.__qualname__):
            self.shared[id(obj)] = obj
            return id(obj)
        return None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return (threading.RLock if "RLock" in type(obj).__name__ else threading.Lock), ()
        if isinstance(obj, weakref.WeakValueDictionary):
            return weakref.WeakValueDictionary, (dict(obj),)
        if isinstance(obj, defaultdict) and type(obj) is not defaultdict:
            return _rebuild_defaultdict, (type(obj), obj.default_factory, dict(obj), dict(vars(obj)))
        return NotImplemented


class _WorldUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: dict[int, Any]) -> None:
        super().__init__(file)
        self.shared = shared

    def persistent_load(self, pid: Any) -> Any:
        return self.shared[pid]


@dataclass(frozen=True)
class WorldSnapshot:
    """Every backend of one account that holds data, pickled (``capture``) and copied back (``restore``)."""

    account: str
    payload: bytes
    shared: dict[int, Any]

    @classmethod
    def capture(cls, account: str) -> WorldSnapshot:
        backends = {name: dict(backend[account].items()) for name, backend in _loaded_backends(account)}
        shared: dict[int, Any] = {}
        buffer = io.BytesIO()
        _WorldPickler(buffer, shared).dump(backends)
        return cls(account, buffer.getvalue(), shared)

    def restore(self) -> None:
        """The captured backends in place of the ones the emulator holds now (a fresh copy each time)."""
        backends = _WorldUnpickler(io.BytesIO(self.payload), self.shared).load()
        loaded = dict(_loaded_backends(None))
        for name, regions in backends.items():
            account_backends = loaded[name][self.account]
            for region, backend in regions.items():
                account_backends[region] = backend


def _loaded_backends(account: str | None) -> Iterator[tuple[str, Any]]:
    """The emulator's backend dictionaries this process has imported (with ``account`` loaded)."""
    import sys

    from moto.core.base_backend import BackendDict

    modules = [(name, module) for name, module in list(sys.modules.items()) if name.startswith("moto.")]
    for module_name, module in sorted(modules, key=lambda item: item[0]):
        if module is None or not module_name.endswith(".models"):
            continue
        for attribute, value in list(vars(module).items()):
            if isinstance(value, BackendDict) and (account is None or account in value):
                yield f"{module_name}.{attribute}", value
