"""Every value two components of the registry must agree on, written once.

The infrastructure (CDK constructs and stacks), the functions, the ``registry`` CLI and the offline
harness import these instead of repeating them: event sources and detail types, CloudWatch
namespaces, dimensions and metric names, variant names, S3 prefixes, SSM parameter paths, ledger
decisions and actors. Physical names derived from an environment and a group (tables, buckets,
endpoints, stacks, alarms) are functions built on these, in ``mlops_registry.core.names`` and
``mlops_registry.core.serving_names``. No CDK or boto3 import: the CLI and every function load it.
"""

from __future__ import annotations

APP_NAME = "mlops-registry"

# --- Events ---------------------------------------------------------------------------------------
# What SageMaker puts on the default bus when a model package changes (the pipeline's trigger).
SAGEMAKER_EVENT_SOURCE = "aws.sagemaker"
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
# What Step Functions puts on the default bus when an execution's status changes (the reconciler
# listens for the promotion state machine's failures).
STEP_FUNCTIONS_EVENT_SOURCE = "aws.states"
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
# What the drift function puts on the bus when a Production model drifts.
DRIFT_EVENT_SOURCE = f"{APP_NAME}.monitoring"
DRIFT_EVENT_DETAIL_TYPE = "ModelDriftDetected"

# --- Model registry -------------------------------------------------------------------------------
# Stages and approval statuses the pipeline writes and reads back.
STAGE_DEVELOPMENT = "Development"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
PENDING_APPROVAL = "PendingManualApproval"
APPROVED = "Approved"
REJECTED = "Rejected"

# --- Serving --------------------------------------------------------------------------------------
# Blue/green keeps one variant whose name never changes across versions; A/B tests run two.
VARIANT_PRIMARY = "Primary"
VARIANT_CHAMPION = "Champion"
VARIANT_CHALLENGER = "Challenger"
VARIANTS_BY_MODE = {"blue_green": (VARIANT_PRIMARY,), "ab_test": (VARIANT_CHAMPION, VARIANT_CHALLENGER)}
# CloudFormation parameters of the serving stacks: the model package ARN(s) that serve.
PARAM_MODEL_PACKAGE = "ModelPackageArn"
PARAM_CHAMPION = "ChampionPackageArn"
PARAM_CHALLENGER = "ChallengerPackageArn"

# --- CloudWatch -----------------------------------------------------------------------------------
# SageMaker publishes Invocations / Invocation5XXErrors / ModelLatency per variant in AWS/SageMaker.
SAGEMAKER_NAMESPACE = "AWS/SageMaker"
DIMENSION_ENDPOINT = "EndpointName"
DIMENSION_VARIANT = "VariantName"
METRIC_INVOCATIONS = "Invocations"
METRIC_5XX = "Invocation5XXErrors"
METRIC_LATENCY = "ModelLatency"  # microseconds
# The registry's own namespaces.
METRICS_NAMESPACE = "MlopsRegistry"  # the functions' Powertools metrics
# The application publishes the A/B success metric (e.g. ``Conversions``, Sum) here, with the
# endpoint and variant dimensions.
AB_TEST_NAMESPACE = f"{METRICS_NAMESPACE}/AbTest"
# Ground-truth model-quality metrics (e.g. ``auc``), endpoint and variant dimensions, Average.
MODEL_QUALITY_NAMESPACE = f"{METRICS_NAMESPACE}/ModelQuality"
# The daily ledger check's result.
LEDGER_METRICS_NAMESPACE = f"{METRICS_NAMESPACE}/Ledger"
LEDGER_CHAIN_BROKEN_METRIC = "LedgerChainBroken"  # the daily integrity check publishes it; an alarm watches it
# Every drift metric (the drift function publishes, the alarms and dashboard read).
DRIFT_METRICS_NAMESPACE = f"{METRICS_NAMESPACE}/Drift"

# Drift dimensions beyond endpoint and variant.
DIMENSION_FEATURE = "FeatureName"
DIMENSION_METRIC = "MetricName"
# Per feature: dimensions EndpointName, VariantName, FeatureName.
FEATURE_PSI = "FeaturePSI"
FEATURE_KS = "FeatureKS"  # numeric features only: KS is not defined for categories
FEATURE_SAMPLES = "FeatureSamples"
MISSING_VALUES = "MissingValues"
NON_NUMERIC_VALUES = "NonNumericValues"
# Per variant: dimensions EndpointName, VariantName.
CAPTURE_RECORDS = "CaptureRecords"
CAPTURED_ROWS = "CapturedRows"
CORRUPT_RECORDS = "CorruptRecords"
MALFORMED_ROWS = "MalformedRows"
UNEXPECTED_FEATURE_VALUES = "UnexpectedFeatureValues"
FEATURES_MISSING_FROM_BASELINE = "FeaturesMissingFromBaseline"
EMPTY_WINDOW = "EmptyWindow"
BASELINE_UNAVAILABLE = "BaselineUnavailable"
NO_PRODUCTION_VERSION = "NoProductionVersion"
# Per performance metric: dimensions EndpointName, VariantName, MetricName.
PERFORMANCE_DRIFT = "PerformanceDrift"
# What the dashboard plots as capture data quality.
DATA_QUALITY_METRICS = (
    CAPTURE_RECORDS,
    CORRUPT_RECORDS,
    MALFORMED_ROWS,
    EMPTY_WINDOW,
    FEATURES_MISSING_FROM_BASELINE,
    UNEXPECTED_FEATURE_VALUES,
)

# --- S3 prefixes of the artifacts bucket ----------------------------------------------------------
# SageMaker writes captures to <prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl
DATA_CAPTURE_PREFIX = "datacapture"
DRIFT_PARTIALS_PREFIX = "drift-partials"  # the drift fan-out's per-worker results
BASELINE_PREFIX = "baselines"  # <prefix>/<group>/<version>/{feature,performance}-baseline.json
EVIDENCE_PREFIX = "evidence"  # what the CLI computes at registration: <prefix>/<group>/sha256-<digest>/
# Staging validation: the governed holdout sets (only the platform writes them; the data-scientists
# policy denies it explicitly) and the platform's validation evidence.
HOLDOUT_PREFIX = "holdout/"
VALIDATION_EVIDENCE_PREFIX = "validation"
# Where a SageMaker Processing container finds its inputs and leaves its outputs (the validation's
# jobs and the offline job runner agree on it).
PROCESSING_ROOT = "/opt/ml/processing"

# --- SSM ------------------------------------------------------------------------------------------


def group_policy_parameter(prefix: str, group: str) -> str:
    """SSM parameter name holding a group's published policy, e.g. ``/mlops-registry-dev/groups/churn``."""
    return f"/{prefix}/groups/{group}"


# --- Audit ledger ---------------------------------------------------------------------------------
LEDGER_STAGE_INDEX = "ByStageEntry"  # entries that entered a stage, by "group#stage" and time
LEDGER_DECISIONS = (
    "entered", "passed", "denied", "rejected", "archived", "failed", "rolled_back", "requested", "info",
    "unauthorized_approval", "out_of_band_change",
)  # fmt: skip
# Who wrote an entry when no person did.
PIPELINE_ACTOR = f"{APP_NAME}:promotion-pipeline"
APPROVAL_TIMEOUT_ACTOR = f"{APP_NAME}:approval-timeout"
RECONCILER_ACTOR = f"{APP_NAME}:reconciler"
