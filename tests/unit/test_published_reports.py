"""Every reader against real published SageMaker outputs (tests/data/published/README.md names each
file's source): Clarify bias and explainability analysis.json, Model Monitor statistics.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from monitoring.drift import NumericAccumulator, population_stability_index
from promotion.gates import bias, explainability
from scipy import stats

from mlops_registry.core.baseline import read_feature_baseline
from mlops_registry.core.config import FairnessPolicy, FairnessThreshold
from mlops_registry.core.model_registry import PackageView, bias_report_uris
from mlops_registry.core.reports import flatten_metrics

PUBLISHED = Path(__file__).resolve().parents[1] / "data" / "published"


def _load(relative: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PUBLISHED / relative).read_text())
    return document


def _policy(*thresholds: tuple[str, float, float]) -> FairnessPolicy:
    return FairnessPolicy(
        protected_attributes=("customer_gender_female",),
        thresholds=tuple(FairnessThreshold(metric=m, min=lo, max=hi) for m, lo, hi in thresholds),
    )


# --- bias: pre- and post-training, alone or merged ---------------------------------------------------
def test_a_real_bias_report_is_judged_on_pre_and_post_training_metrics() -> None:
    report = _load("clarify/fraud_detection_bias_analysis.json")
    verdict = bias.evaluate(report, _policy(("CI", -0.5, 0.5), ("DPPL", -0.1, 0.1), ("DI", 0.8, 1.25)))
    assert verdict.passed, verdict.reasons
    facets = verdict.evidence["attributes"]["customer_gender_female"]
    assert facets["1"]["CI"] == 0.398 and facets["1"]["DI"] == 1.0


def test_a_pre_training_report_alone_is_read() -> None:
    # Given the published report's pre-training section registered alone, as the SDK's
    # ModelMetrics.Bias.PreTrainingReport references a pre-training job's output
    full = _load("clarify/fraud_detection_bias_analysis.json")
    pre_only = {"version": full["version"], "pre_training_bias_metrics": full["pre_training_bias_metrics"]}
    verdict = bias.evaluate(bias.merge_reports([pre_only]), _policy(("CI", -0.3, 0.3)))
    assert not verdict.passed
    assert verdict.reasons == ["customer_gender_female=1 CI: 0.398 outside [-0.3, 0.3]"]


def test_separate_pre_and_post_training_reports_are_merged() -> None:
    full = _load("clarify/fraud_detection_bias_2_analysis.json")
    pre = {"pre_training_bias_metrics": full["pre_training_bias_metrics"]}
    post = {"post_training_bias_metrics": full["post_training_bias_metrics"]}
    verdict = bias.evaluate(bias.merge_reports([pre, post]), _policy(("KL", 0, 0.1), ("DCR", -1, 1)))
    assert verdict.reasons == ["customer_gender_female=1 DCR: -72 outside [-1, 1]"]


def test_an_undefined_metric_in_a_real_report_is_a_denial_with_its_value() -> None:
    verdict = bias.evaluate(_load("clarify/fraud_detection_bias_analysis.json"), _policy(("CDDL", -1, 1)))
    assert verdict.reasons == ["customer_gender_female=1 CDDL: None is not a finite number"]


def test_the_package_view_lists_every_bias_report_the_sdk_registers() -> None:
    bias_section = {
        "PreTrainingReport": {"ContentType": "application/json", "S3Uri": "s3://b/pre/analysis.json"},
        "PostTrainingReport": {"ContentType": "application/json", "S3Uri": "s3://b/post/analysis.json"},
    }
    assert bias_report_uris(bias_section) == ("s3://b/pre/analysis.json", "s3://b/post/analysis.json")
    view = PackageView.from_description(
        {
            "ModelPackageArn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package/g/1",
            "ModelPackageGroupName": "g",
            "ModelPackageVersion": 1,
            "ModelMetrics": {"Bias": {"PreTrainingReport": bias_section["PreTrainingReport"]}},
        }
    )
    assert view.bias_report_uris == ("s3://b/pre/analysis.json",)
    assert view.bias_report_uri == "s3://b/pre/analysis.json"


# --- explainability: single and multi-label, real feature names ----------------------------------
def test_a_real_single_label_explanation_passes_for_its_features() -> None:
    report = _load("clarify/fraud_detection_explainability_analysis.json")
    features = ["months_as_customer", "customer_gender_male", "num_insurers_past_5_years"]
    verdict = explainability.evaluate(report, features)
    assert verdict.passed and verdict.evidence["labels"] == ["label0"]


def test_every_label_of_a_multi_label_report_is_judged() -> None:
    report = _load("clarify/model_card_multilabel_explainability.json")
    features = ["Capital Gain", "Hours per week", "Education-Num"]
    verdict = explainability.evaluate(report, features)
    # label0 lacks Education-Num, label1 lacks Capital Gain and Hours per week; the pdp list is skipped
    assert verdict.reasons == [
        "label0: Education-Num: no attribution in the explainability report",
        "label1: Capital Gain: no attribution in the explainability report",
        "label1: Hours per week: no attribution in the explainability report",
    ]
    assert verdict.evidence["labels"] == ["label0", "label1"]


def test_the_configured_label_of_a_multi_label_report_is_judged_alone() -> None:
    report = _load("clarify/model_card_multilabel_explainability.json")
    assert explainability.evaluate(report, ["Capital Gain", "Hours per week"], label="label0").passed
    assert explainability.evaluate(report, ["Education-Num", "Age"], label="label1").passed
    missing = explainability.evaluate(report, ["Age"], label="label7")
    assert missing.reasons == [
        "label 'label7' (explainabilityLabel) is not in the explainability report; it has ['label0', 'label1']"
    ]


# --- Model Monitor statistics.json -------------------------------------------------------------------
def test_a_real_model_quality_statistics_file_feeds_the_metrics_gate() -> None:
    values = flatten_metrics(_load("model_monitor/sdk_model_quality_regression_statistics.json"))
    assert values["r2"] == pytest.approx(0.23671182319828743)
    assert values["rmse"] == pytest.approx(2.2428694385494143)


def test_the_evidence_library_writes_the_published_model_quality_shape() -> None:
    from mlops_registry.core.evidence import quality

    published = _load("model_monitor/sdk_model_quality_regression_statistics.json")
    ours = quality.regression(np.asarray([1.0, 2.0, 3.0, 4.0]), np.asarray([1.1, 1.9, 3.2, 3.7]))
    assert set(ours) == set(published)
    assert set(ours["dataset"]) == set(published["dataset"])
    assert set(ours["regression_metrics"]) == set(published["regression_metrics"])
    for name, body in published["regression_metrics"].items():
        assert set(ours["regression_metrics"][name]) == set(body)


def test_the_evidence_library_writes_the_published_bias_shape() -> None:
    from mlops_registry.core.evidence import bias as evidence_bias
    from mlops_registry.core.evidence.dataset import from_columns

    published = _load("clarify/fraud_detection_bias_analysis.json")
    data = from_columns(
        {"customer_gender_female": [1, 0, 1, 0, 0, 1], "fraud": [0, 0, 1, 0, 1, 0], "pred": [0, 0, 1, 1, 1, 0]}
    )
    ours = evidence_bias.bias_report(
        data,
        label="fraud",
        positive_label_values=[0],
        predicted_label="pred",
        facets=[evidence_bias.Facet("customer_gender_female", values=(1,))],
    )
    for section in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        assert set(ours[section]) == set(published[section])
        mine = ours[section]["facets"]["customer_gender_female"][0]
        theirs = published[section]["facets"]["customer_gender_female"][0]
        assert mine["value_or_threshold"] == theirs["value_or_threshold"] == "1"
        assert ours[section]["label_value_or_threshold"] == "0"
        descriptions = {m["name"]: m["description"] for m in mine["metrics"]}
        for metric in theirs["metrics"]:  # same names, same descriptions as Clarify writes them
            assert descriptions[metric["name"]] == metric["description"]


def test_a_real_data_quality_statistics_file_is_a_drift_baseline() -> None:
    baseline = read_feature_baseline(_load("model_monitor/sdk_data_quality_statistics.json"))
    spec = baseline.features["message"]
    assert spec.type == "categorical"
    assert spec.frequency("preproc-not-YET-supported-for-csv-json") == 1.0
    assert baseline.row_count == 418


def test_the_documented_schema_sample_is_a_drift_baseline() -> None:
    baseline = read_feature_baseline(_load("model_monitor/documented_schema_data_quality_statistics.json"))
    assert set(baseline.features) == {"Capital Gain", "Hours per week", "Workclass"}  # Unknown type skipped
    gain = baseline.features["Capital Gain"]
    assert gain.type == "numeric" and gain.count == 500 and gain.missing == 3
    assert len(gain.bin_edges) == 11 and gain.proportions[0] == gain.proportions[-1] == 0.0


def _kll_statistics(values: np.ndarray, name: str = "x", buckets: int = 10) -> dict[str, Any]:
    """What Model Monitor writes for a numeric column: equal-width KLL buckets over [min, max]."""
    edges = np.linspace(values.min(), values.max(), buckets + 1)
    counts, _ = np.histogram(values, bins=edges)  # last bucket closed, like Model Monitor's
    return {
        "version": 0.0,
        "dataset": {"item_count": int(values.size)},
        "features": [
            {
                "name": name,
                "inferred_type": "Fractional",
                "numerical_statistics": {
                    "common": {"num_present": int(values.size), "num_missing": 0},
                    "distribution": {
                        "kll": {
                            "buckets": [
                                {"lower_bound": float(lo), "upper_bound": float(hi), "count": float(c)}
                                for lo, hi, c in zip(edges[:-1], edges[1:], counts, strict=True)
                            ]
                        }
                    },
                },
            }
        ],
    }


def test_psi_and_ks_from_model_monitor_buckets_match_their_definitions() -> None:
    # Given a training sample summarised the way Model Monitor does, and a shifted window
    rng = np.random.default_rng(12)
    training = rng.normal(40, 10, 5000)
    window = rng.normal(43, 11, 2000)
    statistics = _kll_statistics(training)
    spec = read_feature_baseline(statistics).features["x"]
    accumulator = NumericAccumulator(spec)  # type: ignore[arg-type]
    accumulator.add(window)
    drift = accumulator.result(min_samples=1)
    # Then PSI equals PSI over Model Monitor's buckets (values outside [min, max] in the outer bins)
    edges = np.linspace(training.min(), training.max(), 11)
    inner, _ = np.histogram(window[(window >= edges[0]) & (window <= edges[-1])], bins=edges)
    actual = np.r_[np.sum(window < edges[0]), inner, np.sum(window > edges[-1])] / window.size
    buckets = statistics["features"][0]["numerical_statistics"]["distribution"]["kll"]["buckets"]
    expected = np.r_[0.0, [b["count"] / training.size for b in buckets], 0.0]
    assert drift.psi == pytest.approx(population_stability_index(expected, actual), abs=1e-12)
    # And KS is within one bucket's mass of the exact two-sample statistic (the documented bound)
    exact = stats.ks_2samp(training, window).statistic
    bound = max(b["count"] for b in buckets) / training.size
    assert drift.ks is not None and abs(drift.ks - exact) <= bound


def test_a_model_monitor_baseline_keeps_the_performance_baseline_added_at_promotion() -> None:
    from mlops_registry.core.baseline import with_performance_baseline

    statistics = _load("model_monitor/documented_schema_data_quality_statistics.json")
    updated = with_performance_baseline(statistics, {"auc": 0.86})
    baseline = read_feature_baseline(updated)
    assert baseline.performance is not None and baseline.performance.metrics == {"auc": 0.86}
    assert "Capital Gain" in baseline.features


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda f: f["numerical_statistics"]["distribution"]["kll"].update(buckets=[]), "distribution.kll.buckets"),
        (lambda f: f["numerical_statistics"]["common"].update(num_present=-1), "common.num_present"),
        (
            lambda f: f["numerical_statistics"]["distribution"]["kll"]["buckets"][0].update(count="many"),
            "buckets[0].count",
        ),
    ],
)
def test_a_malformed_model_monitor_statistics_file_names_the_field(change: Any, path: str) -> None:
    from mlops_registry.core.baseline import BaselineFormatError

    statistics = _load("model_monitor/documented_schema_data_quality_statistics.json")
    change(statistics["features"][0])
    with pytest.raises(BaselineFormatError) as raised:
        read_feature_baseline(statistics)
    assert raised.value.path.startswith("features[0] (Capital Gain).numerical_statistics")
    assert path in raised.value.path


def test_the_gates_read_reports_without_the_evidence_librarys_dependencies() -> None:
    import subprocess
    import sys

    # Given a fresh interpreter, When the gate handlers are imported (what the promotion Lambda loads)
    probe = (
        "import sys; import promotion.gate_handlers;"
        "print(','.join(m for m in ('numpy', 'sklearn', 'shap', 'mlops_registry.core.evidence') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=root / "lambdas", check=True, timeout=60
    )
    # Then none of the evidence library's computation dependencies is loaded
    assert completed.stdout.strip() == ""
