"""The runtime view of one managed group's policy (what ``GroupConfig.to_runtime()`` emits).

The dispatcher reads it from the group's SSM parameter and puts it in the execution input, so every
execution records exactly which thresholds it was judged against.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class MetricThreshold(_Model):
    name: str
    baseline: float
    direction: Literal["higher_is_better", "lower_is_better"]


class FairnessThreshold(_Model):
    metric: str
    min: float
    max: float


class FairnessPolicy(_Model):
    protected_attributes: list[str]
    thresholds: list[FairnessThreshold]


class BlueGreenPolicy(_Model):
    traffic_routing: Literal["canary", "linear"] = "canary"
    canary_percent: int = 10
    linear_step_percent: int = 25
    wait_interval_seconds: int = 300
    termination_wait_seconds: int = 300
    maximum_execution_timeout_seconds: int = 3600
    latency_threshold_ms: int = 500
    error_5xx_threshold: int = 5
    extra_alarm_names: list[str] = []


class AbTestPolicy(_Model):
    challenger_weight: float = 0.1
    min_samples_per_variant: int = 1000
    significance_level: float = 0.05
    max_duration_hours: int = 168
    evaluation_interval_minutes: int = 60
    success_metric_name: str = "Conversions"
    minimum_detectable_effect: float = 0.1  # relative lift the sequential test is tuned to detect


class DeploymentPolicy(_Model):
    mode: Literal["blue_green", "ab_test"]
    instance_type: str
    instance_count: int
    max_instance_count: int
    blue_green: BlueGreenPolicy = BlueGreenPolicy()
    ab_test: AbTestPolicy = AbTestPolicy()
    data_capture_percent: int = 100


class MonitoringPolicy(_Model):
    psi_threshold: float = 0.2
    ks_threshold: float = 0.2
    schedule_minutes: int = 60
    window_minutes: int = 60
    performance_drift_threshold: float = 0.25
    performance_metrics: list[str] = []


class GroupPolicy(_Model):
    name: str
    description: str = ""
    features: list[str]
    metrics: list[MetricThreshold]
    champion_tolerance: float
    fairness: FairnessPolicy
    deployment: DeploymentPolicy
    monitoring: MonitoringPolicy = MonitoringPolicy()
    risk_rating: str = "medium"


def group_policy_parameter(prefix: str, group: str) -> str:
    """SSM parameter name holding a group's policy, e.g. ``/mlops-registry-dev/groups/churn``."""
    return f"/{prefix}/groups/{group}"
