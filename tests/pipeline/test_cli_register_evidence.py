"""``registry register --evidence-from``: the CLI computes the evidence locally with the registry's
evidence library, uploads it, and registers a version whose reports the gates read."""

from __future__ import annotations

import csv
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from promotion.gates import bias, explainability
from sklearn.ensemble import RandomForestClassifier

from mlops_registry.core.baseline import read_feature_baseline
from mlops_registry.core.model_registry import PackageView
from offline.harness import PipelineHarness
from tests.pipeline.test_cli_support import CHURN_FEATURES, register_args, run_cli, upload_inputs

NUMERIC = ["tenure_months", "monthly_charges", "total_charges", "support_calls"]


@pytest.fixture(scope="module")
def module_harness(synthesized: Any) -> Iterator[PipelineHarness]:
    with PipelineHarness(synthesized.outdir, synthesized.templates) as running:
        yield running


def _holdout(tmp_path: Path, rows: int = 240) -> tuple[Path, Path]:
    """A churn data set with the group's features, gender / age_band facets, labels and a real model."""
    rng = np.random.default_rng(21)
    x = np.column_stack(
        [rng.integers(1, 72, rows), rng.uniform(20, 120, rows), rng.uniform(100, 8000, rows), rng.integers(0, 9, rows)]
    ).astype(float)
    churn = ((x[:, 3] > 4) | (x[:, 0] < 10)).astype(int) ^ (rng.uniform(size=rows) < 0.1)
    model = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(x, churn)
    model_path = tmp_path / "model.joblib"
    joblib.dump(model, model_path)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_path, arcname="model.joblib")
    scores = model.predict_proba(x)[:, 1]
    data = tmp_path / "holdout.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*NUMERIC, "contract_type", "payment_method", "gender", "age_band", "churned", "score"])
        for i in range(rows):
            writer.writerow(
                [
                    *x[i],
                    ("monthly", "yearly")[i % 2],
                    ("card", "bank")[i % 3 == 0],
                    ("F", "M")[i % 2 == 0],
                    ("18-35", "36-60", "60+")[i % 3],
                    churn[i],
                    round(float(scores[i]), 6),
                ]
            )
    return data, archive


def test_register_with_evidence_computed_from_a_data_set(
    module_harness: PipelineHarness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given a holdout data set with the model's scores and the trained model
    data, archive = _holdout(tmp_path)
    inputs = {
        k: v
        for k, v in upload_inputs(module_harness, "evidence").items()
        if k not in ("--metrics-report", "--bias-report", "--explainability-report", "--baseline")
    }
    # When the data scientist registers with --evidence-from
    result = run_cli(
        capsys,
        *register_args(inputs),
        "--evidence-from",
        str(data),
        "--label",
        "churned",
        "--score",
        "score",
        "--threshold",
        "0.5",
        "--model-file",
        str(archive),
        "--model-features",
        ",".join(NUMERIC),
    )
    # Then the version carries the computed evidence, which the gates read
    assert result.code == 0, result.err
    out = result.json()
    assert out["evidence_computed"] == ["baseline", "bias", "explainability", "metrics"]
    view = PackageView.from_description(module_harness.package(out["package_arn"]))

    def read(uri: str | None) -> dict[str, Any]:
        assert uri and ("/evidence/churn-classifier/sha256-" in uri or "/baselines/churn-classifier/sha256-" in uri)
        bucket, key = uri[5:].split("/", 1)
        return dict(json.loads(module_harness.s3.get_object(Bucket=bucket, Key=key)["Body"].read()))

    quality = read(view.metrics_report_uri)["binary_classification_metrics"]
    assert 0.5 < quality["auc"]["value"] <= 1.0
    bias_report = read(view.bias_report_uri)
    assert set(bias_report["post_training_bias_metrics"]["facets"]) == {"gender", "age_band"}
    assert bias.evaluate(bias_report, module_harness_policy(module_harness)).evidence["attributes"]["gender"]
    explanation = read(view.explainability_report_uri)
    assert explainability.evaluate(explanation, NUMERIC).passed
    assert "/baselines/" in str(view.baseline_uri)  # the only prefix the drift functions may read
    baseline = read_feature_baseline(read(view.baseline_uri))
    assert set(baseline.features) == set(CHURN_FEATURES)


def module_harness_policy(harness: PipelineHarness) -> Any:
    from mlops_registry.core.config import FairnessPolicy, FairnessThreshold

    return FairnessPolicy(
        protected_attributes=("gender", "age_band"), thresholds=(FairnessThreshold(metric="DI", min=0.0, max=10.0),)
    )


def test_evidence_options_are_checked_before_anything_is_computed(
    module_harness: PipelineHarness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data, _ = _holdout(tmp_path, rows=30)
    inputs = upload_inputs(module_harness, "evidence-bad")
    # Given a metrics report AND --evidence-from, and no --label
    result = run_cli(capsys, *register_args(inputs), "--evidence-from", str(data), "--score", "score")
    assert result.code != 0
    assert "--label: required with --evidence-from" in result.err
    assert "--metrics-report: give it or --evidence-from, not both" in result.err
    # Given a column the data set does not have
    trimmed = {k: v for k, v in inputs.items() if k not in ("--metrics-report", "--bias-report", "--baseline")}
    result = run_cli(
        capsys, *register_args(trimmed), "--evidence-from", str(data), "--label", "churn", "--score", "score"
    )
    assert result.code != 0
    assert "'label' ('churn'): no such column" in result.err


def test_reports_are_required_without_evidence(
    module_harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = {k: v for k, v in upload_inputs(module_harness, "no-reports").items() if k != "--bias-report"}
    result = run_cli(capsys, *register_args(inputs))
    assert result.code != 0
    assert "--bias-report: required (or computed with --evidence-from)" in result.err


def test_a_model_monitor_statistics_file_is_registered_as_the_baseline(
    module_harness: PipelineHarness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given an existing Model Monitor user's data-quality statistics.json for the group's features
    def numeric(name: str) -> dict[str, Any]:
        buckets = [{"lower_bound": float(i), "upper_bound": float(i + 1), "count": 10.0} for i in range(10)]
        return {
            "name": name,
            "inferred_type": "Fractional",
            "numerical_statistics": {
                "common": {"num_present": 100, "num_missing": 0},
                "distribution": {"kll": {"buckets": buckets}},
            },
        }

    def text(name: str) -> dict[str, Any]:
        buckets = [{"value": "monthly", "count": 60.0}, {"value": "yearly", "count": 40.0}]
        return {
            "name": name,
            "inferred_type": "String",
            "string_statistics": {
                "common": {"num_present": 100, "num_missing": 0},
                "distribution": {"categorical": {"buckets": buckets}},
            },
        }

    statistics = {
        "version": 0.0,
        "dataset": {"item_count": 100},
        "features": [numeric(f) for f in NUMERIC] + [text("contract_type"), text("payment_method")],
    }
    path = tmp_path / "statistics.json"
    path.write_text(json.dumps(statistics))
    inputs = {k: v for k, v in upload_inputs(module_harness, "mm-baseline").items() if k != "--baseline"}
    # When it is registered as the feature baseline
    result = run_cli(capsys, *register_args(inputs), "--baseline-file", str(path))
    # Then it is stored under baselines/ as it is, and reads as the drift function reads it
    assert result.code == 0, result.err
    uri = result.json()["feature_baseline"]
    assert "/baselines/churn-classifier/" in uri
    bucket, key = uri[5:].split("/", 1)
    stored = json.loads(module_harness.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert stored == statistics
    baseline = read_feature_baseline(stored)
    assert set(baseline.features) == set(CHURN_FEATURES)
