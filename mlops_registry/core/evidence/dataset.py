"""The tabular data the evidence is computed from: named columns, numeric or text.

A data set is a CSV file with a header row (any printable column names: ``Capital Gain``,
``Education-Num``) or any mapping of column name to values. A column is numeric when every non-empty
value parses as a number; empty cells of a numeric column are NaN. Text columns keep their strings.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlops_registry.core.evidence.errors import EvidenceError


@dataclass(frozen=True)
class Dataset:
    """Columns of equal length; numeric columns are float64 arrays, text columns object arrays of str."""

    columns: Mapping[str, np.ndarray]

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def column(self, name: str, role: str = "column") -> np.ndarray:
        if name not in self.columns:
            raise EvidenceError(role, name, f"no such column; the data set has {sorted(self.columns)}")
        return self.columns[name]

    def is_numeric(self, name: str) -> bool:
        return self.column(name).dtype.kind == "f"

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        """The named numeric columns as a float64 matrix (rows x len(names))."""
        for name in names:
            if not self.is_numeric(name):
                raise EvidenceError("features", name, "is not numeric; encode it before computing attributions")
        return np.column_stack([self.column(name) for name in names]) if names else np.empty((self.rows, 0))

    def with_column(self, name: str, values: Iterable[Any]) -> Dataset:
        updated = dict(self.columns)
        updated[name] = _as_column(name, list(values))
        return from_columns(updated)


def from_columns(columns: Mapping[str, Iterable[Any]]) -> Dataset:
    """A data set from ``{name: values}`` (lists, NumPy arrays or pandas Series)."""
    if not columns:
        raise EvidenceError("columns", {}, "a data set needs at least one column")
    converted = {str(name): _as_column(str(name), values) for name, values in columns.items()}
    lengths = {name: len(values) for name, values in converted.items()}
    if len(set(lengths.values())) != 1:
        raise EvidenceError("columns", lengths, "columns differ in length")
    if next(iter(lengths.values())) == 0:
        raise EvidenceError("columns", lengths, "the data set has no rows")
    return Dataset(columns=converted)


def read_csv(source: str | Path | bytes) -> Dataset:
    """A CSV file (path or bytes) with a header row."""
    text = source.decode("utf-8-sig") if isinstance(source, bytes) else Path(source).read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise EvidenceError("data", str(source)[:80], "empty CSV: no header row") from None
    if len(set(header)) != len(header) or any(not name.strip() for name in header):
        raise EvidenceError("header", header, "column names must be non-empty and unique")
    rows = [row for row in reader if row]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise EvidenceError(f"line {number}", row, f"has {len(row)} fields, the header has {len(header)}")
    return from_columns({name: [row[i] for row in rows] for i, name in enumerate(header)})


def _as_column(name: str, values: Iterable[Any]) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.astype(np.float64)  # what _number makes of each item, at once
    items = values.tolist() if hasattr(values, "tolist") else list(values)
    if items and all(type(item) is str for item in items):
        # CSV text: a column of finite numbers (the usual case) is read in one pass; anything else
        # (a missing cell, NaN or infinity, a word) takes the cell-by-cell reading below
        with contextlib.suppress(ValueError):
            column = np.asarray([float(item) for item in items], dtype=np.float64)
            if np.isfinite(column).all():
                return column
    numbers: list[float] = []
    for item in items:
        number = _number(item)
        if number is None:
            return np.asarray(["" if _missing(item) else str(item) for item in items], dtype=object)
        numbers.append(number)
    return np.asarray(numbers, dtype=np.float64)


def _missing(item: Any) -> bool:
    return (
        item is None or (isinstance(item, float) and math.isnan(item)) or (isinstance(item, str) and not item.strip())
    )


def _number(item: Any) -> float | None:
    """A float for numbers and numeric text, NaN for missing cells, None for anything else."""
    if _missing(item):
        return math.nan
    if isinstance(item, bool):
        return float(item)
    if isinstance(item, int | float):
        return float(item)
    if isinstance(item, str):
        try:
            value = float(item)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None
