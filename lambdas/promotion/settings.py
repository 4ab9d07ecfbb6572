"""Environment of each promotion function: one settings model per function (``load`` reads and validates it)."""

from __future__ import annotations

from pydantic import Field

from mlops_registry.core.settings import FunctionSettings, load_settings

load = load_settings  # every promotion handler: load(ItsSettings)


class DispatcherSettings(FunctionSettings):
    STATE_MACHINE_ARN: str = Field(min_length=20)
    APPROVALS_TABLE: str = Field(min_length=3)
    GROUP_POLICY_PREFIX: str = Field(min_length=1)
    LEDGER_TABLE: str = Field(min_length=3)
    TOPIC_ARN: str = Field(min_length=20)
    REVIEW_BOARD_PRINCIPALS: str = Field(min_length=1)  # comma-separated IAM role/user ARNs

    def board_principals(self) -> list[str]:
        return [p.strip() for p in self.REVIEW_BOARD_PRINCIPALS.split(",") if p.strip()]


class ReconcilerSettings(FunctionSettings):
    STATE_MACHINE_ARN: str = Field(min_length=20)
    GROUP_POLICY_PREFIX: str = Field(min_length=1)
    MANAGED_GROUPS: str = Field(min_length=1)  # comma-separated group names
    LEDGER_TABLE: str = Field(min_length=3)
    TOPIC_ARN: str = Field(min_length=20)
    FAILED_LOOKBACK_HOURS: int = Field(ge=1)

    def groups(self) -> list[str]:
        return [g.strip() for g in self.MANAGED_GROUPS.split(",") if g.strip()]


class GateSettings(FunctionSettings):
    IDEMPOTENCY_TABLE: str = Field(min_length=3)


class ApprovalSettings(FunctionSettings):
    APPROVALS_TABLE: str = Field(min_length=3)
    LEDGER_TABLE: str = Field(min_length=3)
    TOPIC_ARN: str = Field(min_length=20)
    APPROVAL_TIMEOUT_HOURS: int = Field(ge=1)


class LifecycleSettings(FunctionSettings):
    LEDGER_TABLE: str = Field(min_length=3)
    LOCKS_TABLE: str = Field(min_length=3)
    IDEMPOTENCY_TABLE: str = Field(min_length=3)
    TOPIC_ARN: str = Field(min_length=20)
    LOCK_TTL_SECONDS: int = Field(ge=60)
    ARTIFACTS_BUCKET: str = Field(min_length=3)  # performance baselines are written there at promotion
    # The environment's MLflow (a SageMaker MLflow ARN or an http(s) URL); unset = no lifecycle mirror.
    MLFLOW_TRACKING_URI: str | None = Field(default=None, min_length=8)
    MLFLOW_MIRROR_ATTEMPTS: int = Field(default=3, ge=1, le=5)
    MLFLOW_MIRROR_BACKOFF_SECONDS: float = Field(default=0.5, ge=0, le=10)


class ValidationSettings(FunctionSettings):
    ARTIFACTS_BUCKET: str = Field(min_length=3)
    KMS_KEY_ARN: str = Field(min_length=20)
    # The role the transform and processing jobs run as (created by the stack, passed to SageMaker only).
    EXECUTION_ROLE_ARN: str = Field(min_length=20)
    # A holdout larger than this is prepared and evaluated by SageMaker Processing (docs/evidence.md).
    LAMBDA_HOLDOUT_MAX_BYTES: int = Field(ge=1)
    PROCESSING_IMAGE_URI: str = Field(min_length=10)
    PROCESSING_CODE_URI: str = Field(min_length=5)
    PROCESSING_ENTRYPOINT: str = Field(min_length=1)
    PROCESSING_INSTANCE_TYPE: str = Field(default="ml.m5.xlarge", min_length=4)
    PROCESSING_MAX_SECONDS: int = Field(default=3600, ge=60)
