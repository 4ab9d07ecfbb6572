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


def test_numeric_text_is_read_exactly_and_only_finite_numbers_make_a_numeric_column() -> None:
    # Given cells as a CSV file holds them: exact 17-digit floats, padding, and words that parse as floats
    exact = [repr(v) for v in np.random.default_rng(7).normal(size=50).tolist()]
    data = from_columns(
        {
            "exact": exact,
            "padded": [" 1.5", "2 ", "3e2"] + ["1"] * 47,
            "infinite": ["1", "inf"] + ["2"] * 48,
            "not-a-number": ["1", "nan"] + ["2"] * 48,
            "gap": ["1", " "] + ["2"] * 48,
            "ints": np.array([1, 2] + [2**53 + 1] * 48),
            "flags": np.array([True, False] * 25),
        }
    )
    # Then each number is the float Python reads from its text, bit for bit
    assert data.column("exact").tolist() == [float(v) for v in exact]
    assert data.column("padded").tolist()[:3] == [1.5, 2.0, 300.0]
    # and a column holding infinity or NaN as text is text, while a blank cell is a missing number
    assert data.column("infinite").tolist()[:3] == ["1", "inf", "2"]
    assert data.column("not-a-number").tolist()[:3] == ["1", "nan", "2"]
    assert data.is_numeric("gap") and math.isnan(data.column("gap")[1])
    # and integer and boolean arrays become the floats float() makes of each item
    assert data.column("ints").tolist()[:3] == [float(1), float(2), float(2**53 + 1)]
    assert data.column("flags").tolist()[:3] == [1.0, 0.0, 1.0]
