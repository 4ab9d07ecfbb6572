"""Names, sizes and timeouts shared by every construct and stack.

Constructs read from here instead of carrying literals, so a platform team tunes the system in one
place. Physical names are derived from the environment prefix so the CLI and the Lambdas can find
resources without a lookup.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

APP_NAME = "mlops-registry"

# --- Lambda -------------------------------------------------------------------------------------
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
LAMBDA_RUNTIME_NAME = "python3.14"
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
LAMBDA_ARCHITECTURE_NAME = "arm64"
LAMBDA_MEMORY_MB = 512
LAMBDA_TIMEOUT = Duration.seconds(60)
# Powertools is attached from its public layer, resolved at deploy time through the public SSM
# parameter, pinned to the version the tests run against.
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_LAYER_PARAMETER = (
    f"/aws/service/powertools/python/{LAMBDA_ARCHITECTURE_NAME}/{LAMBDA_RUNTIME_NAME}/{POWERTOOLS_VERSION}"
)
LOG_RETENTION = logs.RetentionDays.ONE_YEAR
DLQ_RETENTION = Duration.days(14)
LAMBDAS_DIR = "lambdas"
SHARED_PACKAGE = "registry_core"

# --- Data ---------------------------------------------------------------------------------------
KMS_ALIAS = f"alias/{APP_NAME}"
LEDGER_STAGE_INDEX = "ByStageEntry"
ARTIFACT_NONCURRENT_VERSION_EXPIRATION = Duration.days(365)
ACCESS_LOG_EXPIRATION = Duration.days(365)

# --- Promotion ----------------------------------------------------------------------------------
STATE_MACHINE_TIMEOUT = Duration.days(14)
LOCK_TTL_SECONDS = 3600
TASK_RETRY_INTERVAL = Duration.seconds(2)
TASK_RETRY_ATTEMPTS = 6
TASK_RETRY_BACKOFF = 2.0
TASK_RETRY_MAX_DELAY = Duration.seconds(60)
LOCK_RETRY_INTERVAL = Duration.seconds(30)
LOCK_RETRY_ATTEMPTS = 8
METRICS_NAMESPACE = "MlopsRegistry"


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


# --- Serving and monitoring ---------------------------------------------------------------------
# Blue/green keeps one variant whose name never changes across versions; A/B tests run two.
VARIANT_PRIMARY = "Primary"
VARIANT_CHAMPION = "Champion"
VARIANT_CHALLENGER = "Challenger"
# SageMaker writes captures to <prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl
DATA_CAPTURE_PREFIX = "datacapture"
DRIFT_METRICS_NAMESPACE = "MlopsRegistry/Drift"
DRIFT_EVENT_SOURCE = "mlops-registry.monitoring"
DRIFT_EVENT_DETAIL_TYPE = "ModelDriftDetected"


def endpoint_name(env_name: str, group_name: str) -> str:
    """The serving endpoint of one managed group (stable across versions)."""
    return f"{resource_prefix(env_name)}-{group_name}"[:63]


def group_policy_prefix(env_name: str) -> str:
    """SSM path prefix (without leading slash) of the per-group policy parameters."""
    return resource_prefix(env_name)


def artifacts_bucket_name(env_name: str, account: str, region: str) -> str:
    """Deterministic, globally unique per account/region (tokens allowed)."""
    return f"{resource_prefix(env_name)}-artifacts-{account}-{region}"
