"""Physical names of the registry's resources in one environment (no CDK import: the CLI uses it)."""

from __future__ import annotations

APP_NAME = "mlops-registry"


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


def mlflow_name(env_name: str) -> str:
    """Name of the environment's managed MLflow tracking server or MLflow App."""
    return f"{resource_prefix(env_name)}-mlflow"
