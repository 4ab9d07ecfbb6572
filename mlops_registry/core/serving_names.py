"""The serving contract shared by the CDK constructs, the deployment Lambda and the CLI (no CDK import).

Physical names are derived from (environment, group) so that every side finds the serving stack, its
CloudFormation service role, its endpoint and its alarms without a lookup, and so that IAM policies
can be scoped to them at synth.
"""

from __future__ import annotations

import hashlib

from mlops_registry.core.names import endpoint_name, resource_prefix

_NAME_BASE_LENGTH = 36  # leaves room for "-<fingerprint>-v<champion>-v<challenger>" within SageMaker's 63


def _shorten(name: str, limit: int) -> str:
    """``name`` itself when it fits, else a prefix plus a stable hash (names must stay unique)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def serving_stack_name(env_name: str, group: str) -> str:
    """e.g. ``MlopsRegistryDevServing-churn-classifier`` (the stack id in the CDK app, too)."""
    pascal = "".join(part.capitalize() for part in resource_prefix(env_name).split("-"))
    return f"{pascal}Serving-{group}"


def deploy_role_name(env_name: str, group: str) -> str:
    """The CloudFormation service role that alone may change what the group's endpoint serves."""
    return _shorten(f"{resource_prefix(env_name)}-{group}-deploy", 64)


def resource_base(env_name: str, group: str) -> str:
    """Prefix of the group's SageMaker model and endpoint-config names (IAM is scoped to it)."""
    return _shorten(endpoint_name(env_name, group), _NAME_BASE_LENGTH)


GUARDRAIL_KINDS = ("5xx", "latency")


def endpoint_alarm_name(endpoint: str, variant: str, kind: str) -> str:
    """The endpoint's ``kind`` (one of ``GUARDRAIL_KINDS``) alarm on ``variant``: the only 5XX and
    latency alarms of an endpoint; the auto-rollback watches them and they page the topic."""
    return f"{endpoint}-{variant.lower()}-{kind}-guardrail"


def guardrail_alarm_name(env_name: str, group: str, variant: str, kind: str) -> str:
    return endpoint_alarm_name(endpoint_name(env_name, group), variant, kind)
