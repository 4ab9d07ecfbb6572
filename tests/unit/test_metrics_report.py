"""One reading of a model-quality report for the metrics gate, the validation, the performance
baseline and the model card: sections flattened, ``dataset`` left out, a name in two sections refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mlops_registry.core.reports import finite_metrics, flatten_metrics

PUBLISHED = Path(__file__).resolve().parents[1] / "data" / "published" / "model_monitor"


def test_a_published_model_monitor_statistics_file_gives_its_four_regression_metrics() -> None:
    # Given the statistics.json the SageMaker Python SDK's model-quality job wrote (627 rows)
    report = json.loads((PUBLISHED / "sdk_model_quality_regression_statistics.json").read_text())
    # When it is flattened, Then the metrics are mae, mse, rmse and r2 as written, and the dataset
    # section's item count and evaluation time are not taken for metrics
    assert flatten_metrics(report) == {
        "mae": 1.5915896386811228,
        "mse": 5.030463318378965,
        "rmse": 2.2428694385494143,
        "r2": 0.23671182319828743,
    }
    assert finite_metrics(report) == flatten_metrics(report)


def test_a_metric_in_two_sections_is_refused_naming_it_and_both_sections() -> None:
    # Given a report that states accuracy twice, with two different values
    report = {
        "binary_classification_metrics": {"accuracy": {"value": 0.91}, "auc": {"value": 0.95}},
        "multiclass_classification_metrics": {"accuracy": {"value": 0.62}},
    }
    # Then neither the gate's reading nor the card's picks one of them
    for read in (flatten_metrics, finite_metrics):
        with pytest.raises(
            ValueError, match="'accuracy'.*'binary_classification_metrics' and 'multiclass_classification_metrics'"
        ):
            read(report)


def test_the_gate_sees_values_as_written_and_the_card_only_finite_numbers() -> None:
    # Given a report with a NaN, a text value, a boolean, a matrix and a plain number
    report = {
        "binary_classification_metrics": {
            "auc": {"value": 0.9},
            "f1": {"value": "n/a"},
            "recall": {"value": float("nan")},
            "confusion_matrix": {"0": {"0": 10, "1": 2}},
            "support": {"value": 120},
        },
        "custom": {"log_loss": 0.3, "calibrated": True},
        "version": 0.0,
    }
    raw = flatten_metrics(report)
    # Then the gate's reading keeps what is written, so it can say "'n/a' is not a finite number"
    assert raw["f1"] == "n/a" and math.isnan(raw["recall"]) and raw["calibrated"] is True
    assert set(raw) == {"auc", "f1", "recall", "confusion_matrix", "support", "log_loss", "calibrated"}
    # And the card keeps finite numbers only
    assert finite_metrics(report) == {"auc": 0.9, "support": 120.0, "log_loss": 0.3}
