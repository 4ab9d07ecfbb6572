"""Bias metrics: the evidence library against smclarify (its own environment) on the same data.

Given a labelled data set with model predictions and protected attributes (categorical, one value vs
the rest, an explicit group and a numeric threshold), when both compute Clarify's pre- and
post-training reports, then every metric agrees to 1e-9 (or both report it undefined).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlops_registry.core.evidence import bias
from mlops_registry.core.evidence.dataset import read_csv
from mlops_registry.core.evidence.errors import EvidenceError
from tests.oracles.smclarify_env import run_smclarify

TOLERANCE = 1e-9


def _mixed_rows(n: int = 400, seed: int = 7) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        sex = rng.choice(["Male", "Female", "Non-binary"], p=[0.55, 0.4, 0.05])
        race = rng.choice(["White", "Black", "Asian-Pac-Islander", "Other"], p=[0.6, 0.2, 0.15, 0.05])
        age = float(rng.integers(18, 80))
        region = rng.choice(["north", "south", "east"])
        gain = float(rng.exponential(1000.0))
        hours = float(rng.integers(10, 70))
        logit = 0.03 * (age - 40) + 0.0004 * gain + (0.4 if sex == "Male" else -0.3) + rng.normal(0, 1)
        label = int(logit > 0.2)
        predicted = int(logit + rng.normal(0, 0.8) > 0.1)
        rows.append(
            {
                "Sex": sex,
                "Race": race,
                "Age": age,
                "Region": region,
                "Capital Gain": gain,
                "Hours per week": hours,
                "Income>50K": label,
                "Predicted": predicted,
            }
        )
    return rows


def _numeric_rows(n: int = 300, seed: int = 11) -> list[dict[str, Any]]:
    """All-numeric columns, so smclarify's flip test (k-NN on the other features) is defined."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        age = round(float(rng.uniform(18, 80)), 3)
        education = int(rng.integers(1, 17))
        hours = round(float(rng.uniform(10, 70)), 3)
        score = 0.04 * (age - 45) + 0.2 * (education - 9) + 0.02 * (hours - 40) + rng.normal(0, 1)
        rows.append(
            {
                "Age": age,
                "Education-Num": education,
                "Hours per week": hours,
                "label": int(score > 0),
                "prediction": int(score + rng.normal(0, 0.7) > 0.3),
            }
        )
    return rows


def _write(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _compare(ours: dict[str, Any], oracle: dict[str, Any]) -> tuple[float, int]:
    """Largest |difference| over every metric value both define; asserts the rest match exactly."""
    worst, compared = 0.0, 0
    for stage, section in (("pre", "pre_training_bias_metrics"), ("post", "post_training_bias_metrics")):
        for facet, entries in oracle[stage].items():
            mine = ours[section]["facets"][facet]
            assert len(mine) == len(entries), f"{stage} {facet}: {len(mine)} facet values vs {len(entries)}"
            for my_entry, entry in zip(mine, entries, strict=True):
                if not entry["value_or_threshold"].startswith("("):
                    assert my_entry["value_or_threshold"] == entry["value_or_threshold"]
                my_metrics = {m["name"]: m for m in my_entry["metrics"]}
                for metric in entry["metrics"]:
                    name = metric["name"]
                    label = f"{stage} {facet}={entry['value_or_threshold']} {name}"
                    assert name in my_metrics, f"{label}: missing"
                    expected, actual = metric.get("value"), my_metrics[name]["value"]
                    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
                        assert actual is None, f"{label}: smclarify undefined ({metric.get('error')}), ours {actual}"
                        continue
                    if isinstance(expected, str):
                        assert actual == expected, f"{label}: {actual} vs {expected}"
                        continue
                    assert actual is not None, f"{label}: ours undefined ({my_metrics[name].get('error')})"
                    difference = abs(float(actual) - float(expected))
                    assert difference <= TOLERANCE, f"{label}: {actual!r} vs smclarify {expected!r}"
                    worst = max(worst, difference)
                    compared += 1
    return worst, compared


def test_categorical_facets_group_variable_and_threshold_agree_with_smclarify(tmp_path: Path) -> None:
    # Given: categorical facets (every value vs the rest, and an explicit value set), a numeric facet with
    # a threshold and a group variable for CDDL/CDDPL
    path = _write(_mixed_rows(), tmp_path / "holdout.csv")
    facets = [
        bias.Facet("Sex"),
        bias.Facet("Race", values=("Black", "Other")),
        bias.Facet("Age", threshold=40.0),
    ]
    request = {
        "csv": str(path),
        "label": "Income>50K",
        "positive": [1],
        "predicted": "Predicted",
        "group": "Region",
        "facets": [
            {"column": f.column, "values": list(f.values) if f.values else None, "threshold": f.threshold}
            for f in facets
        ],
    }
    # When
    ours = bias.bias_report(
        read_csv(path),
        label="Income>50K",
        positive_label_values=[1],
        predicted_label="Predicted",
        group_variable="Region",
        facets=facets,
    )
    oracle = run_smclarify(request, tmp_path)
    # Then
    worst, compared = _compare(ours, oracle)
    assert compared >= 80
    print(f"bias vs smclarify (categorical/threshold/group): {compared} values, max |difference| {worst:.3g}")


def test_flip_test_and_numeric_threshold_facet_agree_with_smclarify(tmp_path: Path) -> None:
    # Given: only numeric columns, so the flip test's k-NN runs in both implementations
    path = _write(_numeric_rows(), tmp_path / "numeric.csv")
    facets = [bias.Facet("Age", threshold=50.0), bias.Facet("Education-Num", threshold=12.0)]
    request = {
        "csv": str(path),
        "label": "label",
        "positive": [1],
        "predicted": "prediction",
        "facets": [{"column": f.column, "values": None, "threshold": f.threshold} for f in facets],
    }
    # When
    ours = bias.bias_report(
        read_csv(path), label="label", positive_label_values=[1], predicted_label="prediction", facets=facets
    )
    oracle = run_smclarify(request, tmp_path)
    # Then
    worst, compared = _compare(ours, oracle)
    ft = [m for m in ours["post_training_bias_metrics"]["facets"]["Age"][0]["metrics"] if m["name"] == "FT"][0]
    assert isinstance(ft["value"], float)
    assert compared >= 30
    print(f"bias vs smclarify (numeric, flip test): {compared} values, max |difference| {worst:.3g}")


def test_worked_example_by_hand() -> None:
    # Given: 10 rows; facet d = "F" (4 rows, 1 positive label), a = "M" (6 rows, 4 positive labels)
    from mlops_registry.core.evidence.dataset import from_columns

    data = from_columns(
        {
            "sex": ["F", "F", "F", "F", "M", "M", "M", "M", "M", "M"],
            "y": [1, 0, 0, 0, 1, 1, 1, 1, 0, 0],
            "yhat": [1, 1, 0, 0, 1, 1, 1, 0, 0, 1],
        }
    )
    report = bias.bias_report(
        data, label="y", positive_label_values=[1], predicted_label="yhat", facets=[bias.Facet("sex", values=("F",))]
    )
    pre = {m["name"]: m["value"] for m in report["pre_training_bias_metrics"]["facets"]["sex"][0]["metrics"]}
    post = {m["name"]: m["value"] for m in report["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"]}
    # Then: CI = (6-4)/10; DPL = 4/6 - 1/4; DPPL = 4/6 - 2/4; DI = (2/4)/(4/6)
    assert pre["CI"] == pytest.approx(0.2)
    assert pre["DPL"] == pytest.approx(4 / 6 - 1 / 4)
    assert post["DPPL"] == pytest.approx(4 / 6 - 2 / 4)
    assert post["DI"] == pytest.approx((2 / 4) / (4 / 6))
    assert pre["CDDL"] is None


def test_bad_options_name_the_field() -> None:
    from mlops_registry.core.evidence.dataset import from_columns

    data = from_columns({"sex": ["F", "M"], "y": [1, 0]})
    with pytest.raises(EvidenceError, match="'facet' \\('gender'\\)"):
        bias.bias_report(data, label="y", positive_label_values=[1], facets=[bias.Facet("gender")])
    with pytest.raises(EvidenceError, match="facet sex"):
        bias.bias_report(data, label="y", positive_label_values=[1], facets=[bias.Facet("sex", threshold=3.0)])
    with pytest.raises(EvidenceError, match="'label'"):
        bias.bias_report(data, label="y", positive_label_values=None, facets=[bias.Facet("sex")])
