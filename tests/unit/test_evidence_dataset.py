"""The evidence library's data sets: CSV with real column names, typed columns, errors naming the field."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mlops_registry.core.evidence.dataset import from_columns, read_csv
from mlops_registry.core.evidence.errors import EvidenceError
from mlops_registry.core.evidence.service import EvidenceSpec, compute_evidence


def test_csv_with_real_column_names_and_missing_cells(tmp_path: Path) -> None:
    path = tmp_path / "adult.csv"
    path.write_text("Age,Capital Gain,Education-Num,Workclass,Hours per week\n39,2174,13,State-gov,40\n50,,13,,13\n")
    data = read_csv(path)
    assert data.names == ("Age", "Capital Gain", "Education-Num", "Workclass", "Hours per week")
    assert data.is_numeric("Capital Gain") and math.isnan(data.column("Capital Gain")[1])
    assert not data.is_numeric("Workclass") and data.column("Workclass").tolist() == ["State-gov", ""]
    assert data.rows == 2


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "data"),
        ("a,a\n1,2\n", "header"),
        ("a,b\n1,2\n3\n", "line 3"),
    ],
)
def test_malformed_csv_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(EvidenceError) as raised:
        read_csv(path)
    assert raised.value.field == field


def test_columns_must_have_equal_lengths() -> None:
    with pytest.raises(EvidenceError, match="differ in length"):
        from_columns({"a": [1, 2], "b": [1]})


def test_compute_evidence_checks_every_named_column_first() -> None:
    data = from_columns({"x": np.arange(10.0), "y": [0, 1] * 5, "p": [0.2, 0.8] * 5})
    with pytest.raises(EvidenceError, match="'features' \\('Hours per week'\\): no such column"):
        compute_evidence(data, EvidenceSpec(label="y", features=("x", "Hours per week"), score="p"))
    with pytest.raises(EvidenceError, match="'prediction'"):
        EvidenceSpec(label="y", features=("x",))
    evidence = compute_evidence(data, EvidenceSpec(label="y", features=("x",), score="p"))
    assert evidence.bias is None and evidence.explainability is None  # no facets, no model
    assert evidence.metrics["binary_classification_metrics"]["accuracy"]["value"] == 1.0
    assert set(evidence.baseline["features"]) == {"x"}
