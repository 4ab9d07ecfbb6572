"""The one configuration schema: what a platform team writes in ``cdk.json`` and what the functions read.

A group's policy is validated here at synth (``mlops_registry.core.config_document`` merges the layers of
``cdk.json`` and reports errors by their key path) and again by the functions when they read the
policy the stack published (one SSM parameter per group, this model dumped by alias). Both sides use
these models, so a field cannot be renamed on one side and silently defaulted on the other.

Keys are camelCase, exactly as written in ``cdk.json``; an unknown key is an error. Python code may
construct the models with their snake_case field names; documents (``cdk.json``, the published
policy) go through ``validate_document``, which accepts camelCase keys only and coerces nothing.

Every range below is SageMaker's or CloudWatch's documented limit, defined once and imported by the
constructs that need it.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from mlops_registry.core.contracts import HOLDOUT_PREFIX

# --- limits (documented service limits; one definition) -----------------------------------------
# UpdateEndpoint DeploymentPolicy (BlueGreenUpdatePolicy / TrafficRoutingConfiguration).
CANARY_PERCENT_RANGE = (1, 50)
LINEAR_STEP_PERCENT_RANGE = (10, 50)
WAIT_INTERVAL_RANGE = (0, 3600)
TERMINATION_WAIT_RANGE = (0, 3600)
MAX_EXECUTION_TIMEOUT_RANGE = (600, 28800)
# AutoRollbackConfiguration accepts 1-10 alarms; the endpoint always brings its 5XX and latency alarms.
MAX_ROLLBACK_ALARMS = 10
BUILT_IN_ROLLBACK_ALARMS = 2
# DataCaptureConfig.InitialSamplingPercentage is 0-100; 0 would leave drift without data.
DATA_CAPTURE_PERCENT_RANGE = (1, 100)
INSTANCE_COUNT_RANGE = (1, 100)
APPROVAL_TIMEOUT_HOURS_RANGE = (1, 24 * 365)
# Step Functions executions last at most one year.
AB_MAX_DURATION_HOURS_RANGE = (1, 24 * 90)

GROUP_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"  # SageMaker ModelPackageGroupName
ACCOUNT_PATTERN = r"^\d{12}$"
REGION_PATTERN = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# An IAM role or user ARN (the review board's principals).
PRINCIPAL_PATTERN = r"^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$"
INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
# Feature names as real datasets have them ("Capital Gain", "Education-Num"): any printable text.
FEATURE_NAME_MAX = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

DeploymentMode = Literal["blue_green", "ab_test"]
TrafficRouting = Literal["canary", "linear"]
# An A/B endpoint's update (start or end of a test) shifts all traffic at once, then bakes once.
AB_TEST_ROUTING = "all_at_once"
Direction = Literal["higher_is_better", "lower_is_better"]
RiskRating = Literal["low", "medium", "high", "unknown"]


class Strict(BaseModel):
    """Frozen, unknown keys rejected, camelCase aliases (Python code may use the field names)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key path, the value and the rule."""

    def __init__(self, key: str, value: Any, problem: str) -> None:
        self.key = key
        self.value = value
        self.problem = problem
        shown = "missing" if value is MISSING else repr(value)
        super().__init__(f"invalid config at '{key}' (value {shown}): {problem}")


MISSING: Any = type("Missing", (), {"__repr__": lambda self: "missing"})()


def aliases(model: type[BaseModel]) -> dict[str, str]:
    """camelCase key → field name of one model."""
    return {(field.alias or name): name for name, field in model.model_fields.items()}


def check_keys(raw: Any, allowed: typing.Sequence[str], key: str) -> None:
    """Every key of ``raw`` is allowed; else ``ConfigError`` with a suggestion or the camelCase spelling."""
    for name in raw:
        if name not in allowed:
            camel = _camel(name)
            if camel != name and camel in allowed:
                raise ConfigError(f"{key}.{name}", raw[name], f"unknown key; keys are camelCase: write {camel!r}")
            raise ConfigError(f"{key}.{name}", raw[name], f"unknown key{suggest(name, list(allowed))}")


def check_model_keys(model: type[BaseModel], raw: Any, key: str) -> None:
    """``check_keys`` through a document and every model nested in it (a value of another type is left
    for the value validation to report)."""
    if not isinstance(raw, dict):
        return
    known = aliases(model)
    check_keys(raw, list(known), key)
    for alias, value in raw.items():
        nested = _nested_model(model.model_fields[known[alias]].annotation)
        if nested is None:
            continue
        if isinstance(value, list):
            for index, item in enumerate(value):
                check_model_keys(nested, item, f"{key}.{alias}[{index}]")
        else:
            check_model_keys(nested, value, f"{key}.{alias}")


def suggest(name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if not close:
        close = [a for a in allowed if a.lower() == name.lower()]
    return f"; did you mean {close[0]!r}?" if close else f"; expected one of {sorted(allowed)}"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The schema model inside ``X``, ``X | None`` or ``tuple[X, ...]`` (with Annotated layers)."""
    if isinstance(annotation, type) and issubclass(annotation, Strict):
        return annotation
    for argument in typing.get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_M = typing.TypeVar("_M", bound="Strict")


def validate_document(model: type[_M], data: Any, key: str, provenance: dict[tuple[Any, ...], str] | None = None) -> _M:
    """Validate a JSON document strictly (no string-to-number coercion, no booleans as numbers); the
    first error becomes a ``ConfigError`` at the key path of the layer that set the value."""
    check_model_keys(model, data, key)
    try:
        return model.model_validate_json(json.dumps(data, allow_nan=False), strict=True)
    except ValueError as error:
        if not isinstance(error, ValidationError):
            raise ConfigError(key, MISSING, f"numbers must be finite ({error})") from None
        first = error.errors()[0]
        loc = tuple(first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        value = MISSING if first["type"] == "missing" else first.get("input", MISSING)
        if isinstance(value, dict | list) and first["type"] == "value_error":
            value = "{...}"  # a rule across several keys: the message names them
        if not loc:
            raise ConfigError(key, value, message) from None
        raise ConfigError(_source(loc, provenance or {}, key), value, message) from None


def _source(loc: tuple[Any, ...], provenance: dict[tuple[Any, ...], str], fallback: str) -> str:
    """The key path of the layer that set ``loc`` (the longest recorded prefix), then the rest of ``loc``."""
    for length in range(len(loc), 0, -1):
        if loc[:length] in provenance:
            return provenance[loc[:length]] + _render(loc[length:])
    return fallback + _render(loc)


def _render(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


# --- group policy -------------------------------------------------------------------------------
class MetricThreshold(Strict):
    name: Annotated[str, Field(min_length=1, max_length=255)]
    baseline: Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
    direction: Direction = "higher_is_better"


class FairnessThreshold(Strict):
    """Bounds a Clarify bias metric (e.g. DPPL, DI) must stay within for every facet value."""

    metric: Annotated[str, Field(min_length=1)]
    min: Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]
    max: Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _ordered(self) -> FairnessThreshold:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class FairnessPolicy(Strict):
    protected_attributes: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]
    thresholds: Annotated[tuple[FairnessThreshold, ...], Field(min_length=1)]


class FairnessWaiver(Strict):
    """A group with no protected attributes says so explicitly, with its reason, instead of a fairness policy."""

    reason: Annotated[str, Field(min_length=10, max_length=1024)]
    approved_by: Annotated[str, Field(min_length=1, max_length=256)]


class BlueGreenPolicy(Strict):
    traffic_routing: TrafficRouting = "canary"
    canary_percent: Annotated[int, Field(ge=CANARY_PERCENT_RANGE[0], le=CANARY_PERCENT_RANGE[1])] = 10
    linear_step_percent: Annotated[int, Field(ge=LINEAR_STEP_PERCENT_RANGE[0], le=LINEAR_STEP_PERCENT_RANGE[1])] = 25
    wait_interval_seconds: Annotated[int, Field(ge=WAIT_INTERVAL_RANGE[0], le=WAIT_INTERVAL_RANGE[1])] = 300
    termination_wait_seconds: Annotated[int, Field(ge=TERMINATION_WAIT_RANGE[0], le=TERMINATION_WAIT_RANGE[1])] = 300
    maximum_execution_timeout_seconds: Annotated[
        int, Field(ge=MAX_EXECUTION_TIMEOUT_RANGE[0], le=MAX_EXECUTION_TIMEOUT_RANGE[1])
    ] = 3600
    latency_threshold_ms: Annotated[int, Field(ge=1, le=600_000)] = 500
    error_5xx_threshold: Annotated[int, Field(ge=1, le=1_000_000, alias="error5xxThreshold")] = 5
    extra_alarm_names: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=255)], ...],
        Field(max_length=MAX_ROLLBACK_ALARMS - BUILT_IN_ROLLBACK_ALARMS),
    ] = ()

    def bake_steps_for(self, routing: str) -> int:
        """Baking periods of one endpoint update with this traffic routing: one per linear step,
        one for a canary or an all-at-once shift."""
        return math.ceil(100 / self.linear_step_percent) if routing == "linear" else 1

    def waiting_seconds_for(self, routing: str) -> int:
        """How long SageMaker's guardrails hold one endpoint update with this routing: the wait
        interval of every baking period, then the termination wait. The serving constructs build
        the update policy from the same fields and the deployment function waits this long."""
        return self.bake_steps_for(routing) * self.wait_interval_seconds + self.termination_wait_seconds

    @property
    def waiting_seconds(self) -> int:
        """The waits of a blue/green update with the configured routing."""
        return self.waiting_seconds_for(self.traffic_routing)

    @model_validator(mode="after")
    def _timeout_covers_the_waits(self) -> BlueGreenPolicy:
        if self.maximum_execution_timeout_seconds <= self.waiting_seconds:
            raise ValueError(
                f"maximumExecutionTimeoutSeconds ({self.maximum_execution_timeout_seconds}) must exceed the total "
                f"waiting time of {self.waiting_seconds} s ({self.bake_steps_for(self.traffic_routing)} x waitIntervalSeconds + "
                "terminationWaitSeconds), as SageMaker requires"
            )
        return self


class AbTestPolicy(Strict):
    challenger_weight: Annotated[float, Field(ge=0.01, le=0.99, allow_inf_nan=False)] = 0.1
    min_samples_per_variant: Annotated[int, Field(ge=10, le=10**9)] = 1000
    significance_level: Annotated[float, Field(ge=1e-6, le=0.2, allow_inf_nan=False)] = 0.05
    max_duration_hours: Annotated[int, Field(ge=AB_MAX_DURATION_HOURS_RANGE[0], le=AB_MAX_DURATION_HOURS_RANGE[1])] = (
        168
    )
    evaluation_interval_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 60
    success_metric_name: Annotated[str, Field(min_length=1, max_length=255)] = "Conversions"
    # The relative lift the sequential test is tuned to detect (docs/serving.md).
    minimum_detectable_effect: Annotated[float, Field(ge=0.001, le=10.0, allow_inf_nan=False)] = 0.1


SUBNET_ID_PATTERN = r"^subnet-[0-9a-f]{8,17}$"
SECURITY_GROUP_ID_PATTERN = r"^sg-[0-9a-f]{8,17}$"


class VpcPolicy(Strict):
    """The serving model's VPC (SageMaker VpcConfig: 1-16 subnets, 1-5 security groups)."""

    subnet_ids: Annotated[
        tuple[Annotated[str, Field(pattern=SUBNET_ID_PATTERN)], ...], Field(min_length=1, max_length=16)
    ]
    security_group_ids: Annotated[
        tuple[Annotated[str, Field(pattern=SECURITY_GROUP_ID_PATTERN)], ...], Field(min_length=1, max_length=5)
    ]


class DeploymentPolicy(Strict):
    mode: DeploymentMode
    instance_type: Annotated[str, Field(pattern=INSTANCE_TYPE_PATTERN)]
    instance_count: Annotated[int, Field(ge=INSTANCE_COUNT_RANGE[0], le=INSTANCE_COUNT_RANGE[1])] = 1
    max_instance_count: Annotated[int | None, Field(ge=INSTANCE_COUNT_RANGE[0], le=INSTANCE_COUNT_RANGE[1])] = None
    blue_green: BlueGreenPolicy = BlueGreenPolicy()
    ab_test: AbTestPolicy = AbTestPolicy()
    data_capture_percent: Annotated[int, Field(ge=DATA_CAPTURE_PERCENT_RANGE[0], le=DATA_CAPTURE_PERCENT_RANGE[1])] = (
        100
    )
    # Serving models run without network access unless a group opts out; optionally inside a VPC.
    network_isolation: bool = True
    vpc: VpcPolicy | None = None

    @property
    def vpc_subnet_ids(self) -> tuple[str, ...]:
        return self.vpc.subnet_ids if self.vpc else ()

    @property
    def vpc_security_group_ids(self) -> tuple[str, ...]:
        return self.vpc.security_group_ids if self.vpc else ()

    @model_validator(mode="after")
    def _capacity(self) -> DeploymentPolicy:
        if self.max_instance_count is None:
            object.__setattr__(self, "max_instance_count", self.instance_count)
        elif self.max_instance_count < self.instance_count:
            raise ValueError(
                f"maxInstanceCount ({self.max_instance_count}) must be at least instanceCount ({self.instance_count})"
            )
        return self

    @property
    def max_instances(self) -> int:
        return self.max_instance_count if self.max_instance_count is not None else self.instance_count


class MonitoringPolicy(Strict):
    psi_threshold: Annotated[float, Field(ge=0.001, le=10.0, allow_inf_nan=False)] = 0.2
    ks_threshold: Annotated[float, Field(ge=0.001, le=1.0, allow_inf_nan=False)] = 0.2
    schedule_minutes: Annotated[int, Field(ge=5, le=24 * 60)] = 60
    window_minutes: Annotated[int, Field(ge=5, le=7 * 24 * 60)] = 60
    performance_drift_threshold: Annotated[float, Field(ge=0.001, le=100.0, allow_inf_nan=False)] = 0.25
    performance_metrics: tuple[Annotated[str, Field(min_length=1)], ...] = ("ModelLatency", "Invocation5XXErrors")


# Staging validation on the governed holdout set (docs/evidence.md).
# The holdout lives under contracts.HOLDOUT_PREFIX of the platform's artifacts bucket.
HOLDOUT_KEY_PATTERN = rf"^{HOLDOUT_PREFIX}[A-Za-z0-9!_.*'()/-]{{1,900}}\.csv$"
VALIDATION_TIMEOUT_MINUTES_RANGE = (5, 48 * 60)  # CreateTransformJob runs at most 48 h (MaxRuntimeInSeconds)
ProblemType = Literal["binary", "regression"]


class HoldoutDataset(Strict):
    """A labelled CSV (header row) in the platform's artifacts bucket under ``holdout/``: the group's
    features, its label column and its facet (protected attribute) columns."""

    key: Annotated[str, Field(pattern=HOLDOUT_KEY_PATTERN)]
    label_column: Annotated[str, Field(min_length=1, max_length=FEATURE_NAME_MAX)]
    # Default: the fairness policy's protected attributes.
    facet_columns: tuple[Annotated[str, Field(min_length=1, max_length=FEATURE_NAME_MAX)], ...] | None = None
    problem_type: ProblemType = "binary"
    positive_label: Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)] = 1.0
    # binary: a score at or above it predicts the positive label; regression: a label (or prediction)
    # at or above it is the positive outcome of the bias metrics (Clarify's label_values_or_threshold).
    threshold: Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)] = 0.5


class ValidationPolicy(Strict):
    """How Staging validates a candidate: Batch Transform with the model's own container on the
    holdout, then the platform's own evidence, and the self-reported metrics cross-checked."""

    holdout: HoldoutDataset
    # Largest allowed |self-reported - reproduced| of a metric (absolute), and per-metric overrides.
    tolerance: Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False)] = 0.02
    metric_tolerances: dict[
        Annotated[str, Field(min_length=1, max_length=255)],
        Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False)],
    ] = {}
    timeout_minutes: Annotated[
        int, Field(ge=VALIDATION_TIMEOUT_MINUTES_RANGE[0], le=VALIDATION_TIMEOUT_MINUTES_RANGE[1])
    ] = 60
    instance_type: Annotated[str, Field(pattern=INSTANCE_TYPE_PATTERN)] = "ml.m5.large"

    def tolerance_for(self, metric: str) -> float:
        return self.metric_tolerances.get(metric, self.tolerance)


class GroupPolicy(Strict):
    """One managed model package group: its gates, its deployment and its monitoring."""

    name: Annotated[str, Field(pattern=GROUP_NAME_PATTERN)]
    description: Annotated[str, Field(max_length=1024)] = ""
    features: Annotated[tuple[str, ...], Field(min_length=1)]
    metrics: Annotated[tuple[MetricThreshold, ...], Field(min_length=1)]
    champion_tolerance: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    fairness: FairnessPolicy | None = None
    fairness_waiver: FairnessWaiver | None = None
    # Which output of a multi-label explainability report the gate judges (Clarify's "label0", a class
    # name); unset: every label in the report must attribute every feature.
    explainability_label: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    deployment: DeploymentPolicy
    monitoring: MonitoringPolicy = MonitoringPolicy()
    risk_rating: RiskRating = "medium"
    validation: ValidationPolicy

    @property
    def facet_columns(self) -> tuple[str, ...]:
        """The holdout's facet columns: configured, or the protected attributes."""
        if self.validation.holdout.facet_columns is not None:
            return self.validation.holdout.facet_columns
        return self.fairness.protected_attributes if self.fairness else ()

    @field_validator("features")
    @classmethod
    def _feature_names(cls, features: tuple[str, ...]) -> tuple[str, ...]:
        for index, feature in enumerate(features):
            if not feature.strip() or feature != feature.strip() or len(feature) > FEATURE_NAME_MAX:
                raise ValueError(
                    f"features[{index}] {feature!r} must be 1-{FEATURE_NAME_MAX} characters without "
                    "leading or trailing blanks"
                )
            if _CONTROL.search(feature):
                raise ValueError(f"features[{index}] {feature!r} contains a control character")
        duplicates = sorted({f for f in features if features.count(f) > 1})
        if duplicates:
            raise ValueError(f"duplicate feature names {duplicates}")
        return features

    @field_validator("metrics")
    @classmethod
    def _unique_metrics(cls, metrics: tuple[MetricThreshold, ...]) -> tuple[MetricThreshold, ...]:
        names = [m.name for m in metrics]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate metric names {duplicates}")
        return metrics

    @model_validator(mode="after")
    def _fairness_or_waiver(self) -> GroupPolicy:
        if (self.fairness is None) == (self.fairness_waiver is None):
            raise ValueError(
                "set exactly one of 'fairness' (protectedAttributes and thresholds) or 'fairnessWaiver' "
                "({reason, approvedBy}) for a model without protected attributes"
            )
        return self

    @model_validator(mode="after")
    def _validation_columns(self) -> GroupPolicy:
        holdout = self.validation.holdout
        if holdout.label_column in self.features:
            raise ValueError(f"validation.holdout.labelColumn {holdout.label_column!r} is also a feature")
        if self.fairness is not None:
            missing = sorted(set(self.fairness.protected_attributes) - set(self.facet_columns))
            if missing:
                raise ValueError(
                    f"validation.holdout.facetColumns must include every protected attribute; missing {missing}"
                )
        unknown = sorted(set(self.validation.metric_tolerances) - {m.name for m in self.metrics})
        if unknown:
            raise ValueError(f"validation.metricTolerances names metrics the group does not configure: {unknown}")
        return self


# --- experiment tracking (MLflow) -----------------------------------------------------------------
MlflowKind = Literal["trackingServer", "app", "external"]
TrackingServerSize = Literal["Small", "Medium", "Large"]
# CreateMlflowTrackingServer / CreateMlflowApp: WeeklyMaintenanceWindowStart is "Ddd:HH:MM".
MAINTENANCE_WINDOW_PATTERN = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):[0-5]\d$"
# The tracking server's MlflowVersion: the CloudFormation pattern (AWS::SageMaker::MlflowTrackingServer,
# MlflowVersion: ^\d+(\.\d+)+$, 1-32 characters) under the API's stricter length (CreateMlflowTrackingServer,
# MlflowVersion: at most 16 characters), and a release line SageMaker serves: "For tracking server 2.13.x,
# use mlflow==2.13.2 / 2.16.x, 2.16.2 / 3.0.x, 3.0.0" (SageMaker Developer Guide, "Integrate MLflow with
# your environment", docs.aws.amazon.com/sagemaker/latest/dg/mlflow-track-experiments.html). An MLflow App
# has no version to choose: AWS::SageMaker::MlflowApp has no MlflowVersion property.
MLFLOW_VERSION_PATTERN = r"^\d+(\.\d+)+$"
MLFLOW_VERSION_MAX_LENGTH = 16
SAGEMAKER_MLFLOW_RELEASES = ("2.13", "2.16", "3.0")
ARTIFACT_PREFIX_PATTERN = r"^[a-z0-9][a-z0-9\-/]{0,62}[a-z0-9]$"
# A team's own MLflow: an http(s) URL, or the ARN of a SageMaker tracking server or MLflow App.
EXTERNAL_TRACKING_URI_PATTERN = (
    r"^(https?://[^\s/]+(/\S*)?|arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:\d{12}:(mlflow-tracking-server|mlflow-app)/\S+)$"
)
MIRROR_ATTEMPTS_RANGE = (1, 5)


class MlflowPolicy(Strict):
    """Experiment tracking of one environment (docs/mlflow.md).

    ``kind`` ``trackingServer`` creates ``AWS::SageMaker::MlflowTrackingServer`` (size, MLflow version
    and maintenance window below), ``app`` the serverless ``AWS::SageMaker::MlflowApp``, ``external``
    creates nothing and uses ``trackingUri``."""

    kind: MlflowKind = "trackingServer"
    tracking_server_size: TrackingServerSize = "Small"
    mlflow_version: Annotated[str, Field(pattern=MLFLOW_VERSION_PATTERN, max_length=MLFLOW_VERSION_MAX_LENGTH)] = "3.0"
    weekly_maintenance_window_start: Annotated[str, Field(pattern=MAINTENANCE_WINDOW_PATTERN)] = "Sun:03:00"
    # SageMaker's automatic registration of MLflow models into the Model Registry (off: the registry
    # registers versions itself, through `registry register --mlflow-run`).
    automatic_model_registration: bool = False
    artifact_prefix: Annotated[str, Field(pattern=ARTIFACT_PREFIX_PATTERN)] = "mlflow"
    tracking_uri: Annotated[str, Field(pattern=EXTERNAL_TRACKING_URI_PATTERN, max_length=2048)] | None = None
    # Lifecycle write-back: attempts per MLflow call before the failure is recorded and notified.
    mirror_attempts: Annotated[int, Field(ge=MIRROR_ATTEMPTS_RANGE[0], le=MIRROR_ATTEMPTS_RANGE[1])] = 3

    @field_validator("mlflow_version")
    @classmethod
    def _served_release(cls, version: str) -> str:
        release = ".".join(version.split(".")[:2])
        if release not in SAGEMAKER_MLFLOW_RELEASES:
            raise ValueError(
                f"{version!r} is not a release SageMaker tracking servers run ({', '.join(SAGEMAKER_MLFLOW_RELEASES)})"
            )
        return version

    @model_validator(mode="after")
    def _server_settings_only_for_a_tracking_server(self) -> MlflowPolicy:
        misplaced = [
            alias
            for name, alias in (("mlflow_version", "mlflowVersion"), ("tracking_server_size", "trackingServerSize"))
            if name in self.model_fields_set
        ]
        if self.kind != "trackingServer" and misplaced:
            raise ValueError(
                f"{', '.join(misplaced)}: only for kind 'trackingServer' (kind {self.kind!r}: an MLflow App's "
                "version and capacity are SageMaker's, AWS::SageMaker::MlflowApp has neither property)"
            )
        return self

    @model_validator(mode="after")
    def _uri_only_for_external(self) -> MlflowPolicy:
        if self.kind == "external" and self.tracking_uri is None:
            raise ValueError("kind 'external' needs trackingUri (an http(s) URL or a SageMaker MLflow ARN)")
        if self.kind != "external" and self.tracking_uri is not None:
            raise ValueError(
                f"trackingUri {self.tracking_uri!r} is only for kind 'external'; kind {self.kind!r} creates its own"
            )
        return self


# --- environment ----------------------------------------------------------------------------------
Account = Annotated[str, Field(pattern=ACCOUNT_PATTERN)]
ENVIRONMENT_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,15}$"


class EnvironmentSettings(Strict):
    """One deployment environment's own settings (an account and region, the board, MLflow)."""

    account: Account | None = None
    region: Annotated[str, Field(pattern=REGION_PATTERN)] | None = None
    review_board_emails: tuple[Annotated[str, Field(pattern=EMAIL_PATTERN)], ...] = ()
    approval_timeout_hours: Annotated[
        int, Field(ge=APPROVAL_TIMEOUT_HOURS_RANGE[0], le=APPROVAL_TIMEOUT_HOURS_RANGE[1])
    ] = 72
    registry_reader_accounts: tuple[Account, ...] = ()
    # IAM roles/users of the review board; empty: the stack creates the board's role.
    review_board_principals: tuple[Annotated[str, Field(pattern=PRINCIPAL_PATTERN)], ...] = ()
    # Experiment tracking; absent means no MLflow integration in this environment.
    mlflow: MlflowPolicy | None = None

    @model_validator(mode="after")
    def _board_in_this_account(self) -> EnvironmentSettings:
        # The board's policy is attached to these principals, which IAM allows only in this account.
        for index, arn in enumerate(self.review_board_principals):
            account = arn.split(":")[4]
            if self.account and account != self.account:
                raise ValueError(
                    f"reviewBoardPrincipals[{index}] {arn!r} must be a principal of this environment's "
                    f"account {self.account} (the board's policy is attached to it)"
                )
        duplicates = sorted({a for a in self.review_board_principals if self.review_board_principals.count(a) > 1})
        if duplicates:
            raise ValueError(f"reviewBoardPrincipals: duplicate principals {duplicates}")
        return self


class EnvironmentConfig(EnvironmentSettings):
    """One deployment environment with its groups already merged."""

    name: Annotated[str, Field(pattern=ENVIRONMENT_NAME_PATTERN)]
    groups: Annotated[tuple[GroupPolicy, ...], Field(min_length=1)]

    @field_validator("groups")
    @classmethod
    def _unique_groups(cls, groups: tuple[GroupPolicy, ...]) -> tuple[GroupPolicy, ...]:
        names = [g.name for g in groups]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate group names {duplicates}")
        return groups

    def group(self, name: str) -> GroupPolicy:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(name)


# Environment keys a document may set (everything but the merged groups and the injected name).
ENVIRONMENT_SETTINGS = tuple(aliases(EnvironmentSettings))


def publish(group: GroupPolicy) -> dict[str, Any]:
    """The JSON document a group's policy is published as (camelCase, every default explicit)."""
    return group.model_dump(mode="json", by_alias=True)


def read_published(document: Any, key: str = "policy") -> GroupPolicy:
    """A published policy back into the model, as strictly as ``cdk.json`` is read."""
    return validate_document(GroupPolicy, json.loads(document) if isinstance(document, str) else document, key)
