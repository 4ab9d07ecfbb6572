"""Typed, frozen configuration per environment, loaded from ``cdk.json`` context.

``load_config(context, env_name)`` validates everything once at synth and raises ``ConfigError``
naming the offending key path and value, so a bad config never reaches CloudFormation.

The same module is used by the Lambdas at run time (the promotion pipeline receives each group's
policy as JSON in its environment) through ``GroupConfig.to_runtime()``/``from_runtime()``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

DEFAULT_ENV = "dev"
GROUP_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ACCOUNT_PATTERN = re.compile(r"^\d{12}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FEATURE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

DEPLOYMENT_MODES = ("blue_green", "ab_test")
TRAFFIC_ROUTING = ("canary", "linear")
DIRECTIONS = ("higher_is_better", "lower_is_better")
RISK_RATINGS = ("low", "medium", "high", "unknown")

# SageMaker deployment guardrail ranges (UpdateEndpoint DeploymentConfig documentation).
WAIT_INTERVAL_RANGE = (0, 3600)
TERMINATION_WAIT_RANGE = (0, 3600)
MAX_EXECUTION_TIMEOUT_RANGE = (600, 28800)


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key path and the value."""

    def __init__(self, key: str, value: Any, problem: str) -> None:
        self.key = key
        self.value = value
        super().__init__(f"invalid config at '{key}' (value {value!r}): {problem}")


# --- typed model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricThreshold:
    name: str
    baseline: float
    direction: Literal["higher_is_better", "lower_is_better"]


@dataclass(frozen=True)
class FairnessThreshold:
    """Bounds a Clarify bias metric (e.g. DPPL, DI) must stay within for every facet value."""

    metric: str
    min: float
    max: float


@dataclass(frozen=True)
class FairnessPolicy:
    protected_attributes: tuple[str, ...]
    thresholds: tuple[FairnessThreshold, ...]


@dataclass(frozen=True)
class BlueGreenConfig:
    traffic_routing: Literal["canary", "linear"] = "canary"
    canary_percent: int = 10
    linear_step_percent: int = 25
    wait_interval_seconds: int = 300
    termination_wait_seconds: int = 300
    maximum_execution_timeout_seconds: int = 3600
    latency_threshold_ms: int = 500
    error_5xx_threshold: int = 5
    extra_alarm_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class AbTestConfig:
    challenger_weight: float = 0.1
    min_samples_per_variant: int = 1000
    significance_level: float = 0.05
    max_duration_hours: int = 168
    evaluation_interval_minutes: int = 60
    success_metric_name: str = "Conversions"
    minimum_detectable_effect: float = 0.1  # relative lift the sequential test is tuned to detect


@dataclass(frozen=True)
class DeploymentConfig:
    mode: Literal["blue_green", "ab_test"]
    instance_type: str
    instance_count: int
    max_instance_count: int
    blue_green: BlueGreenConfig = field(default_factory=BlueGreenConfig)
    ab_test: AbTestConfig = field(default_factory=AbTestConfig)
    data_capture_percent: int = 100


@dataclass(frozen=True)
class MonitoringConfig:
    psi_threshold: float = 0.2
    ks_threshold: float = 0.2
    schedule_minutes: int = 60
    window_minutes: int = 60
    performance_drift_threshold: float = 0.25
    performance_metrics: tuple[str, ...] = ("ModelLatency", "Invocation5XXErrors")


@dataclass(frozen=True)
class GroupConfig:
    name: str
    description: str
    features: tuple[str, ...]
    metrics: tuple[MetricThreshold, ...]
    champion_tolerance: float
    fairness: FairnessPolicy
    deployment: DeploymentConfig
    monitoring: MonitoringConfig
    risk_rating: str = "medium"

    def to_runtime(self) -> dict[str, Any]:
        """The JSON-able policy the Lambdas receive (gates, deployment and monitoring parameters)."""
        return json.loads(json.dumps(asdict(self)))

    @staticmethod
    def from_runtime(data: Mapping[str, Any]) -> GroupConfig:
        return _parse_group(dict(data), "runtime")


@dataclass(frozen=True)
class EnvironmentConfig:
    name: str
    account: str | None
    region: str | None
    groups: tuple[GroupConfig, ...]
    review_board_emails: tuple[str, ...]
    approval_timeout_hours: int
    registry_reader_accounts: tuple[str, ...]

    def group(self, name: str) -> GroupConfig:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(name)


# --- parsing ----------------------------------------------------------------------------------
def load_config(context: Mapping[str, Any], env_name: str | None = None) -> EnvironmentConfig:
    """Select and validate one environment from the ``environments`` context key."""
    env_name = env_name or DEFAULT_ENV
    environments = context.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError("environments", environments, "must be a non-empty mapping of environment names")
    if env_name not in environments:
        raise ConfigError("env", env_name, f"unknown environment; known: {sorted(environments)}")
    return _parse_environment(env_name, environments[env_name], f"environments.{env_name}")


def _parse_environment(name: str, raw: Any, key: str) -> EnvironmentConfig:
    raw = _mapping(raw, key)
    account = raw.get("account")
    if account is not None:
        _match(ACCOUNT_PATTERN, str(account), f"{key}.account", "must be a 12-digit AWS account id")
    region = raw.get("region")
    if region is not None:
        _match(REGION_PATTERN, str(region), f"{key}.region", "must be an AWS region such as eu-west-1")
    groups_raw = raw.get("groups")
    if not isinstance(groups_raw, list) or not groups_raw:
        raise ConfigError(f"{key}.groups", groups_raw, "must be a non-empty list of model package groups")
    groups: list[GroupConfig] = []
    seen: set[str] = set()
    for index, group_raw in enumerate(groups_raw):
        group = _parse_group(group_raw, f"{key}.groups[{index}]")
        if group.name in seen:
            raise ConfigError(f"{key}.groups[{index}].name", group.name, "duplicate group name")
        seen.add(group.name)
        groups.append(group)
    emails = tuple(_str_list(raw.get("reviewBoardEmails", []), f"{key}.reviewBoardEmails"))
    for index, email in enumerate(emails):
        _match(EMAIL_PATTERN, email, f"{key}.reviewBoardEmails[{index}]", "must be an e-mail address")
    readers = tuple(_str_list(raw.get("registryReaderAccounts", []), f"{key}.registryReaderAccounts"))
    for index, reader in enumerate(readers):
        _match(ACCOUNT_PATTERN, reader, f"{key}.registryReaderAccounts[{index}]", "must be a 12-digit AWS account id")
    timeout = _int(raw.get("approvalTimeoutHours", 72), f"{key}.approvalTimeoutHours", 1, 24 * 365)
    return EnvironmentConfig(
        name=name,
        account=str(account) if account is not None else None,
        region=str(region) if region is not None else None,
        groups=tuple(groups),
        review_board_emails=emails,
        approval_timeout_hours=timeout,
        registry_reader_accounts=readers,
    )


def _parse_group(raw: Any, key: str) -> GroupConfig:
    raw = _mapping(raw, key)
    name = raw.get("name")
    if not isinstance(name, str):
        raise ConfigError(f"{key}.name", name, "is required and must be a string")
    _match(
        GROUP_NAME_PATTERN,
        name,
        f"{key}.name",
        "must match SageMaker's group name pattern (1-63 alphanumerics and hyphens)",
    )
    features = tuple(_str_list(raw.get("features"), f"{key}.features", required=True))
    for index, feature in enumerate(features):
        _match(FEATURE_PATTERN, feature, f"{key}.features[{index}]", "must be an identifier")
    if len(set(features)) != len(features):
        raise ConfigError(f"{key}.features", list(features), "duplicate feature names")
    metrics_raw = raw.get("metrics")
    if not isinstance(metrics_raw, list) or not metrics_raw:
        raise ConfigError(f"{key}.metrics", metrics_raw, "must be a non-empty list of metric thresholds")
    metrics = tuple(_parse_metric(m, f"{key}.metrics[{i}]") for i, m in enumerate(metrics_raw))
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ConfigError(f"{key}.metrics", names, "duplicate metric names")
    tolerance = _float(
        raw.get("championTolerance", raw.get("champion_tolerance", 0.0)), f"{key}.championTolerance", 0.0, 1.0
    )
    return GroupConfig(
        name=name,
        description=str(raw.get("description", "")),
        features=features,
        metrics=metrics,
        champion_tolerance=tolerance,
        fairness=_parse_fairness(raw.get("fairness"), f"{key}.fairness"),
        deployment=_parse_deployment(raw.get("deployment"), f"{key}.deployment"),
        monitoring=_parse_monitoring(raw.get("monitoring", {}), f"{key}.monitoring"),
        risk_rating=_choice(raw.get("riskRating", raw.get("risk_rating", "medium")), RISK_RATINGS, f"{key}.riskRating"),
    )


def _parse_metric(raw: Any, key: str) -> MetricThreshold:
    raw = _mapping(raw, key)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{key}.name", name, "is required")
    baseline = _float(raw.get("baseline"), f"{key}.baseline", -1e12, 1e12)
    direction = _choice(raw.get("direction", "higher_is_better"), DIRECTIONS, f"{key}.direction")
    return MetricThreshold(name=name, baseline=baseline, direction=direction)  # type: ignore[arg-type]


def _parse_fairness(raw: Any, key: str) -> FairnessPolicy:
    raw = _mapping(raw, key)
    attrs = tuple(
        _str_list(
            raw.get("protectedAttributes", raw.get("protected_attributes")), f"{key}.protectedAttributes", required=True
        )
    )
    thresholds_raw = raw.get("thresholds")
    if not isinstance(thresholds_raw, list) or not thresholds_raw:
        raise ConfigError(f"{key}.thresholds", thresholds_raw, "must be a non-empty list of {metric, min, max}")
    thresholds = []
    for index, item in enumerate(thresholds_raw):
        item_key = f"{key}.thresholds[{index}]"
        item = _mapping(item, item_key)
        metric = item.get("metric")
        if not isinstance(metric, str) or not metric:
            raise ConfigError(f"{item_key}.metric", metric, "is required")
        low = _float(item.get("min"), f"{item_key}.min", -1e6, 1e6)
        high = _float(item.get("max"), f"{item_key}.max", -1e6, 1e6)
        if low > high:
            raise ConfigError(f"{item_key}.min", low, f"must not exceed max ({high})")
        thresholds.append(FairnessThreshold(metric=metric, min=low, max=high))
    return FairnessPolicy(protected_attributes=attrs, thresholds=tuple(thresholds))


def _parse_deployment(raw: Any, key: str) -> DeploymentConfig:
    raw = _mapping(raw, key)
    mode = _choice(raw.get("mode"), DEPLOYMENT_MODES, f"{key}.mode")
    count = _int(raw.get("instanceCount", raw.get("instance_count", 1)), f"{key}.instanceCount", 1, 100)
    max_count = _int(
        raw.get("maxInstanceCount", raw.get("max_instance_count", count)), f"{key}.maxInstanceCount", count, 100
    )
    instance_type = raw.get("instanceType", raw.get("instance_type"))
    if not isinstance(instance_type, str) or not instance_type.startswith("ml."):
        raise ConfigError(f"{key}.instanceType", instance_type, "must be a SageMaker instance type such as ml.m5.large")
    bg = _mapping(raw.get("blueGreen", raw.get("blue_green", {})), f"{key}.blueGreen")
    blue_green = BlueGreenConfig(
        traffic_routing=_choice(
            bg.get("trafficRouting", bg.get("traffic_routing", "canary")),
            TRAFFIC_ROUTING,
            f"{key}.blueGreen.trafficRouting",
        ),  # type: ignore[arg-type]
        canary_percent=_int(
            bg.get("canaryPercent", bg.get("canary_percent", 10)), f"{key}.blueGreen.canaryPercent", 1, 50
        ),
        linear_step_percent=_int(
            bg.get("linearStepPercent", bg.get("linear_step_percent", 25)), f"{key}.blueGreen.linearStepPercent", 5, 50
        ),
        wait_interval_seconds=_int(
            bg.get("waitIntervalSeconds", bg.get("wait_interval_seconds", 300)),
            f"{key}.blueGreen.waitIntervalSeconds",
            *WAIT_INTERVAL_RANGE,
        ),
        termination_wait_seconds=_int(
            bg.get("terminationWaitSeconds", bg.get("termination_wait_seconds", 300)),
            f"{key}.blueGreen.terminationWaitSeconds",
            *TERMINATION_WAIT_RANGE,
        ),
        maximum_execution_timeout_seconds=_int(
            bg.get("maximumExecutionTimeoutSeconds", bg.get("maximum_execution_timeout_seconds", 3600)),
            f"{key}.blueGreen.maximumExecutionTimeoutSeconds",
            *MAX_EXECUTION_TIMEOUT_RANGE,
        ),
        latency_threshold_ms=_int(
            bg.get("latencyThresholdMs", bg.get("latency_threshold_ms", 500)),
            f"{key}.blueGreen.latencyThresholdMs",
            1,
            600_000,
        ),
        error_5xx_threshold=_int(
            bg.get("error5xxThreshold", bg.get("error_5xx_threshold", 5)),
            f"{key}.blueGreen.error5xxThreshold",
            1,
            1_000_000,
        ),
        extra_alarm_names=tuple(
            _str_list(bg.get("extraAlarmNames", bg.get("extra_alarm_names", [])), f"{key}.blueGreen.extraAlarmNames")
        ),
    )
    ab = _mapping(raw.get("abTest", raw.get("ab_test", {})), f"{key}.abTest")
    ab_test = AbTestConfig(
        challenger_weight=_float(
            ab.get("challengerWeight", ab.get("challenger_weight", 0.1)), f"{key}.abTest.challengerWeight", 0.01, 0.99
        ),
        min_samples_per_variant=_int(
            ab.get("minSamplesPerVariant", ab.get("min_samples_per_variant", 1000)),
            f"{key}.abTest.minSamplesPerVariant",
            10,
            10**9,
        ),
        significance_level=_float(
            ab.get("significanceLevel", ab.get("significance_level", 0.05)),
            f"{key}.abTest.significanceLevel",
            1e-6,
            0.2,
        ),
        max_duration_hours=_int(
            ab.get("maxDurationHours", ab.get("max_duration_hours", 168)), f"{key}.abTest.maxDurationHours", 1, 24 * 90
        ),
        evaluation_interval_minutes=_int(
            ab.get("evaluationIntervalMinutes", ab.get("evaluation_interval_minutes", 60)),
            f"{key}.abTest.evaluationIntervalMinutes",
            1,
            24 * 60,
        ),
        success_metric_name=str(ab.get("successMetricName", ab.get("success_metric_name", "Conversions"))),
        minimum_detectable_effect=_float(
            ab.get("minimumDetectableEffect", ab.get("minimum_detectable_effect", 0.1)),
            f"{key}.abTest.minimumDetectableEffect",
            0.001,
            10.0,
        ),
    )
    return DeploymentConfig(
        mode=mode,  # type: ignore[arg-type]
        instance_type=instance_type,
        instance_count=count,
        max_instance_count=max_count,
        blue_green=blue_green,
        ab_test=ab_test,
        data_capture_percent=_int(
            raw.get("dataCapturePercent", raw.get("data_capture_percent", 100)), f"{key}.dataCapturePercent", 1, 100
        ),
    )


def _parse_monitoring(raw: Any, key: str) -> MonitoringConfig:
    raw = _mapping(raw, key)
    return MonitoringConfig(
        psi_threshold=_float(
            raw.get("psiThreshold", raw.get("psi_threshold", 0.2)), f"{key}.psiThreshold", 0.001, 10.0
        ),
        ks_threshold=_float(raw.get("ksThreshold", raw.get("ks_threshold", 0.2)), f"{key}.ksThreshold", 0.001, 1.0),
        schedule_minutes=_int(
            raw.get("scheduleMinutes", raw.get("schedule_minutes", 60)), f"{key}.scheduleMinutes", 5, 24 * 60
        ),
        window_minutes=_int(
            raw.get("windowMinutes", raw.get("window_minutes", 60)), f"{key}.windowMinutes", 5, 7 * 24 * 60
        ),
        performance_drift_threshold=_float(
            raw.get("performanceDriftThreshold", raw.get("performance_drift_threshold", 0.25)),
            f"{key}.performanceDriftThreshold",
            0.001,
            100.0,
        ),
        performance_metrics=tuple(
            _str_list(
                raw.get("performanceMetrics", raw.get("performance_metrics", ["ModelLatency", "Invocation5XXErrors"])),
                f"{key}.performanceMetrics",
            )
        ),
    )


# --- primitives -------------------------------------------------------------------------------
def _mapping(raw: Any, key: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(key, raw, "must be a mapping")
    return dict(raw)


def _match(pattern: re.Pattern[str], value: str, key: str, problem: str) -> None:
    if not pattern.fullmatch(value):
        raise ConfigError(key, value, problem)


def _choice(value: Any, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise ConfigError(key, value, f"must be one of {list(allowed)}")
    return str(value)


def _float(value: Any, key: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(key, value, "must be a finite number")
    if not low <= value <= high:
        raise ConfigError(key, value, f"out of range [{low}, {high}]")
    return float(value)


def _int(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, value, "must be an integer")
    if not low <= value <= high:
        raise ConfigError(key, value, f"out of range [{low}, {high}]")
    return value


def _str_list(value: Any, key: str, required: bool = False) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(key, value, "must be a list of non-empty strings")
    if required and not value:
        raise ConfigError(key, value, "must not be empty")
    return list(value)
