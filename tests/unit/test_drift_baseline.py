"""The feature baseline format: builder output, validated reader, performance section, references."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from mlops_registry.core.baseline import (
    SCHEMA,
    BaselineFormatError,
    baseline_s3_key,
    baseline_uri_from_package,
    build_feature_baseline,
    category_key,
    drift_check_baselines,
    dumps_feature_baseline,
    read_feature_baseline,
    with_performance_baseline,
)
from mlops_registry.core.errors import ReportUnavailableError

TRAINING: dict[str, list[Any]] = {
    "tenure_months": [1, 5, 5, 12, 24, 36, 48, 60, None, 7],
    "monthly_charges": ["20.5", "30", "45.25", "70", "", "99.9", "55", "61", "80", "33"],
    "contract_type": ["monthly", "yearly", "monthly", "two-year", "monthly", None, "yearly", "monthly", "x", "x"],
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_feature_baseline(TRAINING, created_at=datetime(2026, 1, 31, 12, tzinfo=UTC))


def test_drift_baseline_builder_infers_types_and_counts(document: dict[str, Any]) -> None:
    features = document["features"]
    assert document["schema"] == SCHEMA and document["rowCount"] == 10
    assert document["createdAt"] == "2026-01-31T12:00:00Z"
    assert features["tenure_months"]["type"] == "numeric"
    assert (features["tenure_months"]["count"], features["tenure_months"]["missing"]) == (9, 1)
    assert features["monthly_charges"]["type"] == "numeric"  # numeric strings are numbers
    assert features["contract_type"]["type"] == "categorical"
    assert features["contract_type"]["frequencies"]["monthly"] == pytest.approx(4 / 9)
    assert json.loads(json.dumps(document, allow_nan=False)) == document


def test_drift_baseline_numeric_bins_cover_training_with_empty_outer_bins(document: dict[str, Any]) -> None:
    spec = read_feature_baseline(document).features["tenure_months"]
    assert spec.type == "numeric"
    assert spec.bin_edges[0] == 1 and spec.bin_edges[-1] > 60
    assert len(spec.proportions) == len(spec.bin_edges) + 1
    assert spec.proportions[0] == 0 and spec.proportions[-1] == 0
    assert math.fsum(spec.proportions) == pytest.approx(1.0)
    assert spec.exact_cdf and spec.cdf_values == (1, 5, 7, 12, 24, 36, 48, 60)
    assert spec.cdf_cumulative[1] == pytest.approx(3 / 9) and spec.cdf_cumulative[-1] == 1.0


def test_drift_baseline_explicit_categorical_and_category_keys_agree() -> None:
    document = build_feature_baseline({"code": [1, 2, 2.0, "2"]}, categorical={"code"})
    assert document["features"]["code"]["frequencies"] == {"2": 0.75, "1": 0.25}
    assert category_key(2.0) == category_key(2) == category_key(" 2 ") == "2"
    assert category_key(float("nan")) is None and category_key("") is None


def test_drift_baseline_keeps_top_categories_and_collapses_the_tail() -> None:
    document = build_feature_baseline({"c": ["a"] * 5 + ["b"] * 3 + ["c", "d"]}, max_categories=2)
    entry = document["features"]["c"]
    assert entry["frequencies"] == {"a": 0.5, "b": 0.3}
    assert entry["otherProportion"] == pytest.approx(0.2)


def test_drift_baseline_builder_rejects_unusable_columns() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        build_feature_baseline({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="no usable"):
        build_feature_baseline({"a": [None, ""]})


def test_drift_baseline_performance_section_round_trips(document: dict[str, Any]) -> None:
    updated = with_performance_baseline(
        document, {"ModelLatency": 41250, "auc": 0.86}, recorded_at=datetime(2026, 2, 1, tzinfo=UTC)
    )
    performance = read_feature_baseline(dumps_feature_baseline(updated)).performance
    assert performance is not None
    assert dict(performance.metrics) == {"ModelLatency": 41250.0, "auc": 0.86}
    assert performance.recorded_at == "2026-02-01T00:00:00Z"
    assert "performance" not in document  # the input is not modified


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(schema="other"), "schema"),
        (lambda d: d.update(schemaVersion=2), "schemaVersion"),
        (lambda d: d.update(features={}), "features"),
        (lambda d: d["features"]["tenure_months"].update(type="text"), "features.tenure_months.type"),
        (lambda d: d["features"]["tenure_months"]["binEdges"].reverse(), "features.tenure_months.binEdges[1]"),
        (lambda d: d["features"]["tenure_months"]["proportions"].pop(), "features.tenure_months.proportions"),
        (
            lambda d: d["features"]["tenure_months"]["proportions"].__setitem__(1, 5.0),
            "features.tenure_months.proportions",
        ),
        (lambda d: d["features"]["tenure_months"].update(count=0), "features.tenure_months.count"),
        (lambda d: d["features"]["tenure_months"]["cdf"]["cumulative"].__setitem__(-1, 0.5), "cumulative"),
        (lambda d: d["features"]["contract_type"]["frequencies"].update(monthly=-1), "frequencies.monthly"),
        (lambda d: d["features"]["contract_type"].update(otherProportion=0.5), "features.contract_type.frequencies"),
        (lambda d: d.update(performance={"metrics": {"auc": "high"}}), "performance.metrics.auc"),
    ],
)
def test_drift_baseline_reader_names_the_invalid_field(document: dict[str, Any], mutate: Any, path: str) -> None:
    broken = copy.deepcopy(document)
    mutate(broken)
    with pytest.raises(BaselineFormatError) as raised:
        read_feature_baseline(broken)
    assert path in str(raised.value)
    assert isinstance(raised.value, ReportUnavailableError)  # mapped like any unreadable report


def test_drift_baseline_reader_rejects_non_json_and_nan() -> None:
    with pytest.raises(BaselineFormatError, match="not valid JSON"):
        read_feature_baseline(b"{not json")
    with pytest.raises(BaselineFormatError):
        read_feature_baseline('{"schema": "mlops-registry/feature-baseline", "schemaVersion": 1, "features": NaN}')


def test_drift_baseline_is_referenced_from_drift_check_baselines() -> None:
    uri = f"s3://bucket/{baseline_s3_key('churn-classifier', 3)}"
    assert uri == "s3://bucket/baselines/churn-classifier/3/feature-baseline.json"
    package = {"DriftCheckBaselines": drift_check_baselines(uri)}
    assert package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["ContentType"] == "application/json"
    assert baseline_uri_from_package(package) == uri
    assert baseline_uri_from_package({}) is None


def test_drift_baseline_numpy_columns_match_python_columns() -> None:
    import numpy as np

    values = [1.5, 2.0, float("nan"), 4.25, 2.0, 8.0]
    from_list = build_feature_baseline({"x": values}, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    from_array = build_feature_baseline({"x": np.asarray(values)}, created_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert from_array == from_list
    assert from_array["features"]["x"]["missing"] == 1


PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/3"


def test_the_performance_baseline_document_round_trips_and_names_its_location() -> None:
    from mlops_registry.core.baseline import (
        performance_baseline_document,
        performance_baseline_s3_key,
        performance_baseline_uri_from_package,
        read_performance_baseline,
    )

    document = performance_baseline_document(PACKAGE, {"auc": 0.86, "rmse": 2}, "s3://b/q.json")
    read = read_performance_baseline(json.dumps(document), PACKAGE)
    assert dict(read.metrics) == {"auc": 0.86, "rmse": 2.0} and read.recorded_at == document["recordedAt"]
    assert performance_baseline_s3_key("churn", 3) == "baselines/churn/3/performance-baseline.json"
    named = {"CustomerMetadataProperties": {"PerformanceBaselineS3Uri": "s3://b/baselines/churn/3/p.json"}}
    assert performance_baseline_uri_from_package(named) == "s3://b/baselines/churn/3/p.json"
    assert performance_baseline_uri_from_package({"CustomerMetadataProperties": {}}) is None


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"schema": "mlops-registry/feature-baseline"}, "schema"),
        ({"schemaVersion": 2}, "schemaVersion"),
        ({"packageArn": PACKAGE.replace("/3", "/2")}, "packageArn"),
        ({"metrics": {"auc": float("nan")}}, "performance.metrics.auc"),
        ({"metrics": ["auc"]}, "performance.metrics"),
    ],
)
def test_an_invalid_performance_baseline_is_refused_naming_the_field(change: dict[str, Any], path: str) -> None:
    from mlops_registry.core.baseline import performance_baseline_document, read_performance_baseline

    document = {**performance_baseline_document(PACKAGE, {"auc": 0.86}, "s3://b/q.json"), **change}
    with pytest.raises(BaselineFormatError) as error:
        read_performance_baseline(document, PACKAGE)
    assert error.value.path == path
