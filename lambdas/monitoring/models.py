"""Typed inputs of the drift Lambda: the scheduled run request and the function's settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_registry.core import contracts
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.events import describe_validation_error
from mlops_registry.core.settings import FunctionSettings, load_settings

DEFAULT_MIN_SAMPLES = 100
DEFAULT_FAN_OUT_THRESHOLD_BYTES = 16 * 1024**3  # infra/constants.py derives the deployed value


class DriftRunRequest(BaseModel):
    """One scheduled run for one managed endpoint; the schedule's input is built from the group's config."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    group: str = Field(min_length=1, max_length=63)
    endpoint_name: str = Field(alias="endpointName", min_length=1, max_length=63)
    variants: tuple[str, ...] = Field(min_length=1)
    features: tuple[str, ...] = Field(min_length=1)
    psi_threshold: float = Field(alias="psiThreshold", gt=0)
    ks_threshold: float = Field(alias="ksThreshold", gt=0, le=1)
    window_minutes: int = Field(alias="windowMinutes", ge=1, le=7 * 24 * 60)
    window_end: datetime | None = Field(default=None, alias="windowEnd")
    performance_metrics: tuple[str, ...] = Field(default=(), alias="performanceMetrics")
    performance_drift_threshold: float = Field(default=0.25, alias="performanceDriftThreshold", gt=0)
    min_samples: int = Field(default=DEFAULT_MIN_SAMPLES, alias="minSamples", ge=1)

    @field_validator("window_end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("windowEnd must carry a time zone (e.g. 2026-01-31T10:00:00Z)")
        return value

    def window(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        """[start, end): ends at the scheduled time (or now, to the minute) and spans ``window_minutes``."""
        end = self.window_end or (now or datetime.now(UTC)).replace(second=0, microsecond=0)
        end = end.astimezone(UTC)
        return end - timedelta(minutes=self.window_minutes), end


def parse_request(event: Mapping[str, Any]) -> DriftRunRequest:
    try:
        return DriftRunRequest.model_validate(event)
    except ValidationError as error:
        raise InvalidEventError(f"invalid drift run request: {describe_validation_error(error)}") from error


class Settings(FunctionSettings):
    """Environment of the drift function, read once per cold start (fields aliased to the variables)."""

    capture_bucket: str = Field(alias="CAPTURE_BUCKET", min_length=3)
    capture_prefix: str = Field(default=contracts.DATA_CAPTURE_PREFIX, alias="CAPTURE_PREFIX")
    namespace: str = Field(default=contracts.DRIFT_METRICS_NAMESPACE, alias="DRIFT_NAMESPACE")
    event_bus_name: str = Field(default="default", alias="EVENT_BUS_NAME")
    event_source: str = Field(default=contracts.DRIFT_EVENT_SOURCE, alias="DRIFT_EVENT_SOURCE")
    event_detail_type: str = Field(default=contracts.DRIFT_EVENT_DETAIL_TYPE, alias="DRIFT_EVENT_DETAIL_TYPE")
    fan_out_state_machine_arn: str = Field(default="", alias="FANOUT_STATE_MACHINE_ARN")
    fan_out_threshold_bytes: int = Field(default=DEFAULT_FAN_OUT_THRESHOLD_BYTES, alias="FANOUT_THRESHOLD_BYTES", ge=1)
    partials_prefix: str = Field(default=contracts.DRIFT_PARTIALS_PREFIX, alias="DRIFT_PARTIALS_PREFIX")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return load_settings(cls, environ)
