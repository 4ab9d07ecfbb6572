"""Names, sizes and timeouts shared by every construct and stack.

Constructs read from here instead of carrying literals, so a platform team tunes the system in one
place. Physical names are derived from the environment prefix so the CLI and the Lambdas can find
resources without a lookup.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from mlops_registry.core.contracts import APP_NAME
from mlops_registry.core.names import (  # noqa: F401  (re-exported for the constructs)
    approvals_table_name,
    artifacts_bucket_name,
    endpoint_name,
    group_policy_prefix,
    idempotency_table_name,
    ledger_table_name,
    locks_table_name,
    mlflow_name,
    models_bucket_name,
    resource_prefix,
    review_board_role_name,
    state_machine_name,
    topic_name,
)

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
SHARED_PACKAGE = "mlops_registry"  # lambdas/mlops_registry links to the repository's package
SHARED_CORE = "core"  # the only part of it a function asset carries

# --- Data ---------------------------------------------------------------------------------------
KMS_ALIAS = f"alias/{APP_NAME}"
ARTIFACT_NONCURRENT_VERSION_EXPIRATION = Duration.days(365)
ACCESS_LOG_EXPIRATION = Duration.days(365)

# --- Promotion ----------------------------------------------------------------------------------
LOCK_TTL_SECONDS = 3600
TASK_RETRY_INTERVAL = Duration.seconds(2)
TASK_RETRY_ATTEMPTS = 6
TASK_RETRY_BACKOFF = 2.0
TASK_RETRY_MAX_DELAY = Duration.seconds(60)
LOCK_RETRY_INTERVAL = Duration.seconds(30)
LOCK_RETRY_ATTEMPTS = 8
# The daily ledger check (hash chains of every managed group).
LEDGER_CHECK_HOUR_UTC = 3
LEDGER_CHECK_TIMEOUT = Duration.minutes(10)
# Reconciliation of lost events and out-of-band changes (docs/security.md).
RECONCILE_SCHEDULE = Duration.minutes(15)
FAILED_EXECUTION_LOOKBACK_HOURS = 48  # > the schedule period, so a failure is seen at least once
RECONCILER_TIMEOUT = Duration.minutes(5)


# --- Serving and monitoring ---------------------------------------------------------------------
# Variant names, capture and partials prefixes, namespaces, event source: mlops_registry.core.contracts.
# Drift fan-out (derivation: docs/monitoring.md; throughput from `make bench`, 2026-12-02).
# One invocation reads at most what the slowest payload kind (JSON inside the capture lines) decodes
# in Lambda's 15-minute limit with a 50% margin (slower Lambda cores, S3 reads, retries); a window
# whose capture is larger fans out on Step Functions Distributed Map.
LAMBDA_MAX_SECONDS = 900
# Wheels the drift functions need beyond the AWS SDK for pandas layer (kept equal to requirements.txt).
DRIFT_LAYER_REQUIREMENTS = ("orjson==3.13.0", "pybase64==1.5.1")
DRIFT_DECODE_BYTES_PER_SECOND = 30_000_000  # JSON payloads, one core, end to end (make bench: 31 MB/s, rounded down)
DRIFT_FANOUT_SAFETY = 0.5
DRIFT_FANOUT_THRESHOLD_BYTES = int(DRIFT_DECODE_BYTES_PER_SECOND * LAMBDA_MAX_SECONDS * DRIFT_FANOUT_SAFETY)
DRIFT_FANOUT_MAX_CONCURRENCY = 100  # workers in flight per capture prefix


# --- Staging validation (docs/evidence.md) ----------------------------------------------------------
# The validation function polls its SageMaker job once per interval, up to the group's timeout.
VALIDATION_POLL_INTERVAL = Duration.minutes(1)
VALIDATION_MEMORY_MB = 2048
VALIDATION_TIMEOUT = Duration.seconds(LAMBDA_MAX_SECONDS)
# Job and transient model names start with these (promotion.validation.job_name): the grants' scope.
VALIDATION_JOB_PREFIXES = ("val-", "prep-", "eval-")
# A holdout larger than this is prepared and evaluated by SageMaker Processing instead of the function.
# Measured here (bench/validation.py): the slower step (evidence from the transform's outputs) runs at
# VALIDATION_BYTES_PER_SECOND of holdout CSV and needs VALIDATION_MEMORY_FACTOR x the CSV's size in memory.
VALIDATION_BYTES_PER_SECOND = 1_700_000  # 1.78-2.47 MB/s measured, rounded down
VALIDATION_MEMORY_FACTOR = 12  # 11.9x measured
VALIDATION_BASE_MEMORY_MB = 300  # runtime, NumPy and the library before the data
VALIDATION_SAFETY = 0.5
VALIDATION_HOLDOUT_MAX_BYTES = int(
    min(
        VALIDATION_BYTES_PER_SECOND * LAMBDA_MAX_SECONDS,
        (VALIDATION_MEMORY_MB - VALIDATION_BASE_MEMORY_MB) * 1024 * 1024 / VALIDATION_MEMORY_FACTOR,
    )
    * VALIDATION_SAFETY
)
# The public SageMaker scikit-learn image (Python 3.12) that runs the library on the Processing path;
# its registry account per region, from the SageMaker Python SDK's image_uri_config/sklearn.json.
PROCESSING_IMAGE_REPOSITORY = "sagemaker-scikit-learn"
PROCESSING_IMAGE_TAG = "1.4-2-py312-cpu-py3"
PROCESSING_IMAGE_ACCOUNTS = {
    "af-south-1": "510948584623",
    "ap-east-1": "651117190479",
    "ap-northeast-1": "354813040037",
    "ap-northeast-2": "366743142698",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "720646828776",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "341280168497",
    "ca-west-1": "190319476487",
    "eu-central-1": "492215442770",
    "eu-central-2": "680994064768",
    "eu-north-1": "662702820516",
    "eu-south-1": "978288397137",
    "eu-south-2": "104374241257",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-west-3": "659782779980",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "801668240914",
    "sa-east-1": "737474898029",
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
}
PROCESSING_INSTANCE_TYPE = "ml.m5.xlarge"
PROCESSING_MAX_RUNTIME = Duration.hours(2)


def drift_fan_out_name(env_name: str) -> str:
    return f"{resource_prefix(env_name)}-drift-fan-out"
