"""Physical names of the registry's resources in one environment (no CDK import: the CLI uses it)."""

from __future__ import annotations

import hashlib
import re

from mlops_registry.core.contracts import APP_NAME


def resource_prefix(env_name: str) -> str:
    """Prefix of every physical name in one environment, e.g. ``mlops-registry-dev``."""
    return f"{APP_NAME}-{env_name}"


def ledger_table_name(env_name: str) -> str:
    return f"{resource_prefix(env_name)}-audit-ledger"


def approvals_table_name(env_name: str) -> str:
    return f"{resource_prefix(env_name)}-approvals"


def locks_table_name(env_name: str) -> str:
    return f"{resource_prefix(env_name)}-promotion-locks"


def idempotency_table_name(env_name: str) -> str:
    return f"{resource_prefix(env_name)}-idempotency"


def state_machine_name(env_name: str) -> str:
    return f"{resource_prefix(env_name)}-promotion"


def topic_name(env_name: str) -> str:
    return f"{resource_prefix(env_name)}-notifications"


def group_policy_prefix(env_name: str) -> str:
    """SSM path prefix (without leading slash) of the per-group policy parameters."""
    return resource_prefix(env_name)


def artifacts_bucket_name(env_name: str, account: str, region: str) -> str:
    """Deterministic, globally unique per account/region (CDK tokens allowed)."""
    return f"{resource_prefix(env_name)}-artifacts-{account}-{region}"


def models_bucket_name(env_name: str, account: str, region: str) -> str:
    """The shareable model-artifacts bucket (the only bucket registry-reader accounts may read)."""
    return f"{resource_prefix(env_name)}-models-{account}-{region}"


def endpoint_name(env_name: str, group_name: str) -> str:
    """The serving endpoint of one managed group (stable across versions)."""
    return f"{resource_prefix(env_name)}-{group_name}"[:63]


# A feature name may be any printable text ("Capital Gain", "income/yr", "Größe (€)"); CloudWatch metric
# dimensions take it as is, but alarm names become ARNs inside composite alarm rules
# (ALARM("arn:...:alarm:<name>")), where quotes or backslashes break the rule and long names overflow
# its 10,240 characters. The alarm-name component is the name itself when it is short and plain, else
# a plain prefix and a hash of the full name (distinct names keep distinct alarms).
ALARM_COMPONENT_MAX = 40
_UNSAFE_IN_ALARM_NAMES = re.compile(r"[^A-Za-z0-9 _.\-]+")


def alarm_name_component(feature: str) -> str:
    """``feature`` as it appears in an alarm name: unchanged when plain and at most 40 characters."""
    plain = _UNSAFE_IN_ALARM_NAMES.sub("_", feature).strip(" _")
    if plain == feature and len(feature) <= ALARM_COMPONENT_MAX:
        return feature
    digest = hashlib.sha256(feature.encode("utf-8")).hexdigest()[:8]
    return f"{plain[: ALARM_COMPONENT_MAX - 9].rstrip(' _') or 'feature'}-{digest}"


def review_board_role_name(env_name: str) -> str:
    """The role the stack creates for the review board when the config names no principals."""
    return f"{resource_prefix(env_name)}-review-board"


def review_board_role_arn(env_name: str, account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/{review_board_role_name(env_name)}"


def mlflow_name(env_name: str) -> str:
    """Name of the environment's managed MLflow tracking server or MLflow App."""
    return f"{resource_prefix(env_name)}-mlflow"
