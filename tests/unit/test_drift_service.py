"""``run_drift_check`` with in-memory ports: bad input is counted, never fatal, never a NaN."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from monitoring.capture import capture_line
from monitoring.models import DriftRunRequest, parse_request
from monitoring.service import DriftPorts, MetricDatum, ServingVersion, run_drift_check

from mlops_registry.core import contracts
from mlops_registry.core.baseline import (
    BaselineFormatError,
    FeatureBaseline,
    PerformanceBaseline,
    build_feature_baseline,
    performance_baseline_document,
    read_feature_baseline,
    read_performance_baseline,
    with_performance_baseline,
)
from mlops_registry.core.errors import InvalidEventError, ReportUnavailableError

END = datetime(2026, 1, 31, 11, 0, tzinfo=UTC)
FEATURES = ("age", "income", "segment", "unmodelled")
PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/3"
SERVING = ServingVersion(PACKAGE, 3, "s3://b/baselines/churn/3/feature-baseline.json")


def _training() -> dict[str, list[Any]]:
    rng = np.random.default_rng(11)
    return {
        "age": list(rng.integers(18, 80, 2_000).astype(float)),
        "income": list(np.round(rng.lognormal(8, 0.5, 2_000), 2)),
        "segment": list(rng.choice(["gold", "silver", "bronze"], 2_000, p=[0.2, 0.3, 0.5])),
    }


BASELINE = with_performance_baseline(
    build_feature_baseline(_training()), {"ModelLatency": 1000.0, "Invocation5XXErrors": 0.0, "auc": 0.8}
)


class FakeVersions:
    def __init__(self, version: ServingVersion | None) -> None:
        self.version = version

    def production_version(self, group: str) -> ServingVersion | None:
        return self.version


class FakeBaselines:
    def __init__(self, document: Mapping[str, Any] | str, performance: Mapping[str, Any] | None = None) -> None:
        self.document = document
        self.performance = performance or {}  # uri -> performance baseline document

    def load(self, uri: str) -> FeatureBaseline:
        return read_feature_baseline(self.document)

    def load_performance(self, uri: str, package_arn: str) -> PerformanceBaseline:
        if uri not in self.performance:
            raise ReportUnavailableError(f"cannot read baseline {uri}: NoSuchKey")
        return read_performance_baseline(self.performance[uri], package_arn)


class FakeCaptures:
    def __init__(self, lines: Mapping[str, list[str]]) -> None:
        self.by_variant = lines
        self.windows: list[tuple[datetime, datetime]] = []

    def lines(self, endpoint: str, variant: str, start: datetime, end: datetime) -> Iterable[str]:
        self.windows.append((start, end))
        return iter(self.by_variant.get(variant, []))


class FakePerformance:
    def __init__(self, values: Mapping[tuple[str, str], float | None]) -> None:
        self.values = values

    def window_values(
        self, endpoint: str, variants: Sequence[str], metrics: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[tuple[str, str], float | None]:
        return self.values


class Recorder:
    def __init__(self) -> None:
        self.data: list[MetricDatum] = []
        self.events: list[Mapping[str, Any]] = []

    def publish(self, data: Sequence[MetricDatum]) -> None:
        self.data.extend(data)

    def drift_detected(self, detail: Mapping[str, Any]) -> None:
        self.events.append(json.loads(json.dumps(detail, allow_nan=False)))

    def value(self, name: str, **dimensions: str) -> float | None:
        matches = [d.value for d in self.data if d.name == name and dimensions.items() <= dict(d.dimensions).items()]
        assert len(matches) <= 1, (name, dimensions, matches)
        return matches[0] if matches else None

    def number(self, name: str, **dimensions: str) -> float:
        value = self.value(name, **dimensions)
        assert value is not None, (name, dimensions)
        return value


def _request(**overrides: Any) -> DriftRunRequest:
    event = {
        "group": "churn",
        "endpointName": "mlops-registry-dev-churn",
        "variants": ["Primary"],
        "features": list(FEATURES),
        "psiThreshold": 0.2,
        "ksThreshold": 0.15,
        "windowMinutes": 60,
        "windowEnd": END.isoformat(),
        "performanceMetrics": ["ModelLatency", "Invocation5XXErrors", "auc"],
        "performanceDriftThreshold": 0.25,
        "minSamples": 50,
        **overrides,
    }
    return parse_request(event)


def _lines(rows: int, *, shift: float = 0.0, seed: int = 3, at: datetime = END - timedelta(minutes=30)) -> list[str]:
    rng = np.random.default_rng(seed)
    ages = rng.integers(18, 80, rows) + shift
    incomes = np.round(rng.lognormal(8 + shift / 10, 0.5, rows), 2)
    segments = rng.choice(["gold", "silver", "bronze"], rows, p=[0.2, 0.3, 0.5])
    lines = []
    for index in range(0, rows, 10):  # ten rows per request, as a batch client would send
        body = "\n".join(
            f"{a},{i},{s},z"
            for a, i, s in zip(
                ages[index : index + 10], incomes[index : index + 10], segments[index : index + 10], strict=True
            )
        )
        lines.append(capture_line(body, inference_time=at))
    return lines


def _ports(
    lines: Mapping[str, list[str]],
    recorder: Recorder,
    *,
    version: ServingVersion | None = SERVING,
    document: Mapping[str, Any] | str = BASELINE,
    performance: Mapping[tuple[str, str], float | None] | None = None,
    promoted: Mapping[str, Any] | None = None,
) -> DriftPorts:
    return DriftPorts(
        versions=FakeVersions(version),
        baselines=FakeBaselines(document, promoted),
        captures=FakeCaptures(lines),
        performance=FakePerformance(performance or {}),
        metrics=recorder,
        events=recorder,
    )


def _all_finite(recorder: Recorder) -> bool:
    return all(math.isfinite(d.value) for d in recorder.data)


def test_drift_run_on_a_stable_window_publishes_statistics_and_no_event() -> None:
    # Given a window drawn from the training distribution
    recorder = Recorder()
    result = run_drift_check(_request(), _ports({"Primary": _lines(2_000)}, recorder))
    # Then PSI and KS are published per feature, small, and no event is sent
    assert result.status == "ok" and result.version == 3
    for feature in ("age", "income"):
        assert recorder.number(contracts.FEATURE_PSI, FeatureName=feature) < 0.05
        assert recorder.number(contracts.FEATURE_KS, FeatureName=feature) < 0.06
    assert recorder.number(contracts.FEATURE_PSI, FeatureName="segment") < 0.05
    assert recorder.value(contracts.FEATURE_KS, FeatureName="segment") is None
    assert recorder.value(contracts.CAPTURED_ROWS, VariantName="Primary") == 2_000
    assert recorder.value(contracts.FEATURES_MISSING_FROM_BASELINE, VariantName="Primary") == 1  # "unmodelled"
    assert recorder.events == [] and result.breaches == []
    assert _all_finite(recorder)
    stamp = {d.timestamp for d in recorder.data}
    assert stamp == {END - timedelta(seconds=1)}


def test_drift_run_on_a_shifted_window_emits_model_drift_detected() -> None:
    # Given a window whose age and income moved
    recorder = Recorder()
    result = run_drift_check(_request(), _ports({"Primary": _lines(2_000, shift=15.0)}, recorder))
    # Then the breaches are reported in one ModelDriftDetected event with the statistics
    assert {b.subject for b in result.breaches} >= {"age", "income"}
    (event,) = recorder.events
    assert event["group"] == "churn" and event["version"] == 3 and event["modelPackageArn"] == PACKAGE
    assert set(event["features"]) >= {"age", "income"}
    age = event["statistics"]["Primary"]["features"]["age"]
    assert age["psi"] > 0.2 and age["ks"] > 0.15 and age["samples"] == 2_000
    assert event["window"] == {"start": "2026-01-31T10:00:00Z", "end": "2026-01-31T11:00:00Z"}
    assert len(event["runId"]) == 32


def test_drift_run_counts_bad_input_and_never_publishes_nan() -> None:
    # Given corrupt lines, malformed rows, non-numeric values and captures outside the window
    lines = [
        *_lines(200),
        "{not json",
        capture_line("1,2,3"),  # three columns for four features
        capture_line("abc,,gold,z\n,NaN,,z"),
        capture_line("30,100,gold,z", inference_time=END + timedelta(minutes=5)),
        capture_line("30,100,gold,z", inference_time=END - timedelta(hours=2)),
    ]
    recorder = Recorder()
    result = run_drift_check(_request(), _ports({"Primary": lines}, recorder))
    # Then every problem is a count, and every published value is finite
    primary = {"VariantName": "Primary"}
    assert recorder.value(contracts.CORRUPT_RECORDS, **primary) == 1
    assert recorder.value(contracts.MALFORMED_ROWS, **primary) == 1
    assert recorder.value(contracts.CAPTURED_ROWS, **primary) == 202
    assert recorder.value(contracts.NON_NUMERIC_VALUES, FeatureName="age") == 1
    assert recorder.value(contracts.MISSING_VALUES, FeatureName="age") == 1
    assert recorder.value(contracts.MISSING_VALUES, FeatureName="income") == 2
    assert recorder.value(contracts.MISSING_VALUES, FeatureName="segment") == 1
    assert recorder.value(contracts.FEATURE_SAMPLES, FeatureName="age") == 200
    assert result.non_finite_dropped == 0 and _all_finite(recorder)


def test_drift_run_on_an_empty_window_reports_it_without_statistics() -> None:
    recorder = Recorder()
    result = run_drift_check(_request(variants=["Champion", "Challenger"]), _ports({}, recorder))
    assert result.status == "ok"
    for variant in ("Champion", "Challenger"):
        assert recorder.value(contracts.EMPTY_WINDOW, VariantName=variant) == 1
        assert recorder.value(contracts.CAPTURE_RECORDS, VariantName=variant) == 0
    assert not [d for d in recorder.data if d.name in (contracts.FEATURE_PSI, contracts.FEATURE_KS)]
    assert recorder.events == [] and _all_finite(recorder)


def test_drift_run_without_a_production_version_flags_it() -> None:
    recorder = Recorder()
    result = run_drift_check(_request(), _ports({"Primary": _lines(100)}, recorder, version=None))
    assert result.status == "no_production_version"
    assert recorder.value(contracts.NO_PRODUCTION_VERSION, VariantName="Primary") == 1


@pytest.mark.parametrize(
    ("version", "document"),
    [
        (ServingVersion(PACKAGE, 3, None), BASELINE),
        (ServingVersion(PACKAGE, 3, "s3://b/k.json"), '{"schema": "something else"}'),
    ],
)
def test_drift_run_with_an_unusable_baseline_flags_it(version: ServingVersion, document: Any) -> None:
    recorder = Recorder()
    result = run_drift_check(_request(), _ports({"Primary": _lines(100)}, recorder, version=version, document=document))
    assert result.status == "baseline_unavailable"
    assert recorder.value(contracts.BASELINE_UNAVAILABLE, VariantName="Primary") == 1
    with pytest.raises(BaselineFormatError):
        read_feature_baseline('{"schema": "something else"}')


def test_drift_run_performance_drift_against_the_promotion_baseline() -> None:
    # Given latency 50% above its baseline, errors with a zero baseline, and no model-quality value
    recorder = Recorder()
    performance = {
        ("Primary", "ModelLatency"): 1500.0,
        ("Primary", "Invocation5XXErrors"): 0.01,
        ("Primary", "auc"): None,
    }
    result = run_drift_check(_request(), _ports({"Primary": _lines(200)}, recorder, performance=performance))
    # Then only latency is published (|relative change| = 0.5 > 0.25) and reported in the event
    drift = [d for d in recorder.data if d.name == contracts.PERFORMANCE_DRIFT]
    assert [(dict(d.dimensions)[contracts.DIMENSION_METRIC], d.value) for d in drift] == [("ModelLatency", 0.5)]
    (event,) = recorder.events
    assert event["performanceMetrics"] == ["ModelLatency"]
    assert event["performance"][0]["relativeChange"] == pytest.approx(0.5)
    assert result.performance[0].breached


PROMOTED_URI = "s3://b/baselines/churn/3/performance-baseline.json"


def _drift_values(recorder: Recorder) -> dict[str, float]:
    return {
        dict(d.dimensions)[contracts.DIMENSION_METRIC]: d.value
        for d in recorder.data
        if d.name == contracts.PERFORMANCE_DRIFT
    }


def test_drift_run_reads_the_performance_baseline_the_package_names() -> None:
    # Given a version whose package names the performance baseline written at promotion (auc 0.9),
    # over a feature baseline without a performance section
    recorder = Recorder()
    promoted = {PROMOTED_URI: performance_baseline_document(PACKAGE, {"auc": 0.9, "f1": 0.7}, "s3://b/m.json")}
    version = ServingVersion(PACKAGE, 3, SERVING.baseline_uri, PROMOTED_URI)
    performance = {("Primary", "auc"): 0.72, ("Primary", "ModelLatency"): 1500.0}
    ports = _ports(
        {"Primary": _lines(200)},
        recorder,
        version=version,
        document=build_feature_baseline(_training()),
        performance=performance,
        promoted=promoted,
    )
    # When the drift run computes performance drift
    result = run_drift_check(_request(), ports)
    # Then auc drifts by |0.72 - 0.9| / 0.9 = 0.2 (not breached at 0.25); latency has no baseline value
    assert _drift_values(recorder) == {"auc": pytest.approx(0.2)}
    assert [(p.metric, p.baseline, p.breached) for p in result.performance] == [("auc", 0.9, False)]


def test_the_promoted_performance_baseline_replaces_the_feature_baselines_section() -> None:
    recorder = Recorder()
    promoted = {PROMOTED_URI: performance_baseline_document(PACKAGE, {"ModelLatency": 3000.0}, "s3://b/m.json")}
    version = ServingVersion(PACKAGE, 3, SERVING.baseline_uri, PROMOTED_URI)
    performance = {("Primary", "ModelLatency"): 1500.0, ("Primary", "auc"): 0.8}
    run_drift_check(
        _request(),
        _ports({"Primary": _lines(200)}, recorder, version=version, performance=performance, promoted=promoted),
    )
    # Latency against the promoted 3000 (-0.5), and no auc: the embedded section (auc 0.8) is replaced
    assert _drift_values(recorder) == {"ModelLatency": pytest.approx(0.5)}


@pytest.mark.parametrize(
    "promoted",
    [
        {},  # the named object cannot be read
        {PROMOTED_URI: performance_baseline_document(PACKAGE.replace("/3", "/2"), {"auc": 0.9}, "s3://b/m.json")},
        {
            PROMOTED_URI: {
                "schema": "mlops-registry/performance-baseline",
                "schemaVersion": 1,
                "packageArn": PACKAGE,
                "metrics": {"auc": "high"},
            }
        },
    ],
    ids=["missing", "another-version", "not-a-number"],
)
def test_an_unusable_promoted_performance_baseline_leaves_the_run_as_before(promoted: Mapping[str, Any]) -> None:
    # Given a package naming a performance baseline that is missing, another version's, or invalid
    recorder = Recorder()
    version = ServingVersion(PACKAGE, 3, SERVING.baseline_uri, PROMOTED_URI)
    performance = {("Primary", "ModelLatency"): 1500.0}
    result = run_drift_check(
        _request(),
        _ports({"Primary": _lines(200)}, recorder, version=version, performance=performance, promoted=promoted),
    )
    # Then feature drift runs, and performance drift uses the feature baseline's own section (latency 1000)
    assert result.status == "ok" and result.variants[0].rows == 200
    assert _drift_values(recorder) == {"ModelLatency": pytest.approx(0.5)}


def test_a_version_promoted_before_performance_baselines_has_no_performance_drift_and_no_error() -> None:
    # Given a Production version whose package names no performance baseline, over a feature baseline
    # with no performance section (what every version promoted before this pipeline step looks like)
    recorder = Recorder()
    version = ServingVersion(PACKAGE, 3, SERVING.baseline_uri)
    performance = {("Primary", "ModelLatency"): 1500.0, ("Primary", "auc"): 0.5}
    result = run_drift_check(
        _request(),
        _ports(
            {"Primary": _lines(200)},
            recorder,
            version=version,
            document=build_feature_baseline(_training()),
            performance=performance,
        ),
    )
    # Then the run is ok, publishes feature statistics, and no performance metric at all
    assert result.status == "ok" and result.performance == []
    assert _drift_values(recorder) == {}
    assert recorder.value(contracts.FEATURE_PSI, FeatureName="age", VariantName="Primary") is not None


def test_drift_run_window_defaults_to_now_and_reads_each_variant_once() -> None:
    recorder = Recorder()
    ports = _ports({}, recorder)
    now = datetime(2026, 1, 31, 11, 7, 42, tzinfo=UTC)
    run_drift_check(_request(windowEnd=None, variants=["Champion", "Challenger"]), ports, now=now)
    expected = (datetime(2026, 1, 31, 10, 7, tzinfo=UTC), datetime(2026, 1, 31, 11, 7, tzinfo=UTC))
    assert ports.captures.windows == [expected, expected]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "value"),
    [("variants", []), ("ksThreshold", 2), ("windowMinutes", 0), ("windowEnd", "2026-01-31T10:00:00"), ("group", None)],
)
def test_drift_request_validation_names_the_field(field: str, value: Any) -> None:
    event = _request().model_dump(by_alias=True, mode="json")
    event[field] = value
    with pytest.raises(InvalidEventError, match=field):
        parse_request(event)
