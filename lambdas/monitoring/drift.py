"""Drift statistics against a feature baseline: PSI and Kolmogorov-Smirnov, streamed in chunks.

Pure NumPy, no AWS. Every accumulator keeps integer counts only (bin counts, and the counts of
values at or below / strictly below each baseline CDF point), so memory does not grow with the
window and feeding a window in chunks gives exactly the statistics of feeding it at once. A chunk
is sorted once; the counts are then binary searches of the baseline points into the sorted chunk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlops_registry.core.baseline import (
    CategoricalFeatureBaseline,
    FeatureBaseline,
    FeatureSpec,
    NumericFeatureBaseline,
    category_key,
    numeric_value,
)
from monitoring.capture import DecodedBatch

# Zero proportions are smoothed before the logarithm: p -> (p + eps) / (1 + eps * bins).
PSI_EPSILON = 1e-4
DEFAULT_CHUNK_ROWS = 16_384  # rows buffered per flush: bounds memory (~20 MB of values at 20 features)


# --- the statistics -------------------------------------------------------------------------------
def smoothed(proportions: np.ndarray, epsilon: float = PSI_EPSILON) -> np.ndarray:
    proportions = np.asarray(proportions, dtype=np.float64)
    return (proportions + epsilon) / (1.0 + epsilon * proportions.size)


def population_stability_index(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, epsilon: float = PSI_EPSILON
) -> float:
    """PSI = sum((a - e) * ln(a / e)) over bins of two distributions (each summing to 1), smoothed."""
    e = smoothed(np.asarray(expected, dtype=np.float64), epsilon)
    a = smoothed(np.asarray(actual, dtype=np.float64), epsilon)
    if e.shape != a.shape:
        raise ValueError(f"PSI needs the same bins on both sides ({e.size} vs {a.size})")
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(
    cdf_cumulative: np.ndarray, at_or_below: np.ndarray, strictly_below: np.ndarray, samples: int
) -> float:
    """sup |F_baseline - F_window| from the window's counts at the baseline's CDF points.

    Between two baseline points the baseline CDF is flat and the window's CDF only rises, so the
    supremum on each interval is at one of its ends: the window CDF at the left point, or its left
    limit at the next point. This equals ``scipy.stats.ks_2samp(...).statistic`` when the baseline CDF
    is exact.
    """
    if samples <= 0:
        raise ValueError("KS needs at least one sample")
    base = np.asarray(cdf_cumulative, dtype=np.float64)
    at = at_or_below / samples
    below = strictly_below / samples
    candidates = [
        below[:1],  # before the first baseline point the baseline CDF is 0
        np.abs(base - at),
        np.abs(base[:-1] - below[1:]),
        np.abs(base[-1:] - 1.0),  # after the last point the window CDF reaches 1
    ]
    return float(max(c.max() for c in candidates if c.size))


# --- accumulators -----------------------------------------------------------------------------
@dataclass
class FeatureDrift:
    feature: str
    kind: str
    samples: int
    missing: int
    non_numeric: int
    psi: float | None
    ks: float | None


class NumericAccumulator:
    """Streams numeric values of one feature into PSI bin counts and KS counts."""

    def __init__(self, spec: NumericFeatureBaseline) -> None:
        self.spec = spec
        self._edges = np.asarray(spec.bin_edges, dtype=np.float64)
        self._expected = np.asarray(spec.proportions, dtype=np.float64)
        self._points = np.asarray(spec.cdf_values, dtype=np.float64)
        self._cumulative = np.asarray(spec.cdf_cumulative, dtype=np.float64)
        self.bin_counts = np.zeros(self._edges.size + 1, dtype=np.int64)
        self.at_or_below = np.zeros(self._points.size, dtype=np.int64)
        self.strictly_below = np.zeros(self._points.size, dtype=np.int64)
        self.samples = 0
        self.missing = 0
        self.non_numeric = 0

    def add_column(self, part: Any) -> None:
        """Add one decoded column part: a Python list / NumPy array, or an Arrow array from CSV."""
        if isinstance(part, list | tuple | np.ndarray):
            self.add_raw(part)
            return
        import pyarrow as pa

        if pa.types.is_null(part.type):
            self.missing += len(part)
        elif pa.types.is_string(part.type) or pa.types.is_large_string(part.type):
            self.add_raw(part.to_pylist())  # text Arrow could not read as numbers: the reference reading
        else:  # int64, double or bool: as numeric_value reads them (nulls become NaN: missing); an integer
            # beyond 2**53 rounds to the nearest double, as float(int) does (a safe cast would refuse it)
            self.add_raw(part.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False))

    def add_raw(self, values: Sequence[Any] | np.ndarray) -> None:
        """Convert captured values (strings, numbers, booleans, None) and add them, counting unusable ones.

        NumPy's conversion reads text, numbers and booleans the way ``numeric_value`` does; whatever it
        refuses (true/false text, integers beyond a float, containers) is read value by value."""
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            array = self._convert_slowly(values)
        if array.ndim != 1:  # every value a list of one length: NumPy made a matrix of the containers
            array = self._convert_slowly(values)
        finite = np.isfinite(array)
        if not finite.all():
            nan = np.isnan(array)
            self.missing += int(nan.sum())
            self.non_numeric += int((~finite & ~nan).sum())  # +-inf is not a usable value
            array = array[finite]
        self.add(array)

    @staticmethod
    def _convert_slowly(values: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Element-wise conversion: NaN marks a missing value, ±inf an infinite or non-numeric one."""
        out = np.empty(len(values), dtype=np.float64)
        for index, value in enumerate(values):
            try:
                number = numeric_value(value)
            except ValueError:
                number = np.inf
            out[index] = np.nan if number is None else number
        return out

    def add(self, values: np.ndarray) -> None:
        """Add finite float64 values."""
        if values.size == 0:
            return
        ordered = np.sort(values)
        self.at_or_below += np.searchsorted(ordered, self._points, side="right")
        self.strictly_below += np.searchsorted(ordered, self._points, side="left")
        below_edges = np.searchsorted(ordered, self._edges, side="left")
        self.bin_counts += np.diff(below_edges, prepend=0, append=ordered.size)
        self.samples += int(ordered.size)

    def partial(self) -> dict[str, Any]:
        """Mergeable counts (integers only): summing partials of disjoint data gives the counts of the union."""
        return {
            "kind": "numeric",
            "binCounts": self.bin_counts.tolist(),
            "atOrBelow": self.at_or_below.tolist(),
            "strictlyBelow": self.strictly_below.tolist(),
            "samples": self.samples,
            "missing": self.missing,
            "nonNumeric": self.non_numeric,
        }

    def merge(self, partial: dict[str, Any]) -> None:
        _check_partial(partial, "numeric", self.spec.name)
        for name, counts in (
            ("binCounts", self.bin_counts),
            ("atOrBelow", self.at_or_below),
            ("strictlyBelow", self.strictly_below),
        ):
            values = np.asarray(partial[name], dtype=np.int64)
            if values.shape != counts.shape:
                raise ValueError(
                    f"partial of {self.spec.name!r}: {name} has {values.size} counts, expected {counts.size}"
                )
            counts += values
        self.samples += int(partial["samples"])
        self.missing += int(partial["missing"])
        self.non_numeric += int(partial["nonNumeric"])

    def result(self, min_samples: int) -> FeatureDrift:
        psi = ks = None
        if self.samples >= max(min_samples, 1):
            psi = population_stability_index(self._expected, self.bin_counts / self.samples)
            ks = ks_statistic(self._cumulative, self.at_or_below, self.strictly_below, self.samples)
        return FeatureDrift(self.spec.name, "numeric", self.samples, self.missing, self.non_numeric, psi, ks)


class CategoricalAccumulator:
    """Streams category values of one feature into counts; unseen categories count as 'other'."""

    def __init__(self, spec: CategoricalFeatureBaseline) -> None:
        self.spec = spec
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self.missing = 0

    def add_raw(self, values: Sequence[Any] | np.ndarray) -> None:
        keys = [category_key(value) for value in values]
        present = [key for key in keys if key is not None]
        self.missing += len(keys) - len(present)
        self.counts.update(present)
        self.samples += len(present)

    def add_column(self, part: Any) -> None:
        """Add one decoded column part; an Arrow column is counted per distinct value first."""
        if isinstance(part, list | tuple | np.ndarray):
            self.add_raw(part)
            return
        import pyarrow.compute as pc

        counted = pc.value_counts(part)
        for value, count in zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True):
            key = category_key(value)
            if key is None:
                self.missing += count
            else:
                self.counts[key] += count
                self.samples += count

    def partial(self) -> dict[str, Any]:
        return {"kind": "categorical", "counts": dict(self.counts), "samples": self.samples, "missing": self.missing}

    def merge(self, partial: dict[str, Any]) -> None:
        _check_partial(partial, "categorical", self.spec.name)
        self.counts.update({str(k): int(v) for k, v in partial["counts"].items()})
        self.samples += int(partial["samples"])
        self.missing += int(partial["missing"])

    def observed_proportions(self) -> np.ndarray:
        known = set(self.spec.categories)
        counts = [self.counts.get(category, 0) for category in self.spec.categories]
        other = sum(c for category, c in self.counts.items() if category not in known)
        return np.asarray([*counts, other], dtype=np.float64) / max(self.samples, 1)

    def result(self, min_samples: int) -> FeatureDrift:
        psi = None
        if self.samples >= max(min_samples, 1):
            expected = np.asarray([*self.spec.frequencies, self.spec.other_proportion], dtype=np.float64)
            psi = population_stability_index(expected, self.observed_proportions())
        return FeatureDrift(self.spec.name, "categorical", self.samples, self.missing, 0, psi, None)


Accumulator = NumericAccumulator | CategoricalAccumulator


def _check_partial(partial: Any, kind: str, feature: str) -> None:
    if not isinstance(partial, dict) or partial.get("kind") != kind:
        raise ValueError(f"partial of {feature!r} is not a {kind} partial: {str(partial)[:80]}")


def accumulator_for(spec: FeatureSpec) -> Accumulator:
    if isinstance(spec, NumericFeatureBaseline):
        return NumericAccumulator(spec)
    return CategoricalAccumulator(spec)


# --- one variant's window -------------------------------------------------------------------------
@dataclass
class VariantDrift:
    variant: str
    records: int
    rows: int
    corrupt_records: int
    malformed_rows: int
    unexpected_values: int
    features_missing_from_baseline: tuple[str, ...]
    features: list[FeatureDrift] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.rows == 0


class VariantWindow:
    """Rows of one variant's window, buffered positionally and flushed to the accumulators in chunks."""

    def __init__(
        self, variant: str, features: Sequence[str], baseline: FeatureBaseline, chunk_rows: int = DEFAULT_CHUNK_ROWS
    ) -> None:
        self.variant = variant
        self.features = tuple(features)
        self.chunk_rows = max(chunk_rows, 1)
        self.missing_from_baseline = tuple(f for f in self.features if f not in baseline.features)
        self._accumulators = [
            (position, accumulator_for(baseline.features[f]))
            for position, f in enumerate(self.features)
            if f in baseline.features
        ]
        self._buffer: list[Sequence[Any]] = []
        self.records = 0
        self.rows = 0
        self.corrupt_records = 0
        self.malformed_rows = 0
        self.unexpected_values = 0

    def add_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Add rows whose values are in ``features`` order (one record's rows)."""
        self.records += 1
        self._buffer.extend(rows)
        self.rows += len(rows)
        if len(self._buffer) >= self.chunk_rows:
            self.flush()

    def add_batch(self, batch: DecodedBatch) -> None:
        """Add a column-wise decoded chunk (``BatchDecoder.decode``)."""
        self.records += batch.records
        self.rows += batch.rows
        self.corrupt_records += batch.corrupt_records
        self.malformed_rows += batch.malformed_rows
        self.unexpected_values += batch.unexpected_values
        for position, accumulator in self._accumulators:
            for part in batch.columns[self.features[position]]:
                accumulator.add_column(part)

    def flush(self) -> None:
        if not self._buffer:
            return
        columns = list(zip(*self._buffer, strict=True))
        self._buffer = []
        for position, accumulator in self._accumulators:
            accumulator.add_raw(columns[position])

    def partial(self) -> dict[str, Any]:
        """The window's mergeable statistics so far (JSON-able), for a fan-out worker to hand on."""
        self.flush()
        return {
            "variant": self.variant,
            "records": self.records,
            "rows": self.rows,
            "corruptRecords": self.corrupt_records,
            "malformedRows": self.malformed_rows,
            "unexpectedValues": self.unexpected_values,
            "features": {self.features[position]: a.partial() for position, a in self._accumulators},
        }

    def merge(self, partial: dict[str, Any]) -> None:
        """Add a partial of the same variant computed elsewhere (same baseline, disjoint data)."""
        if partial.get("variant") != self.variant:
            raise ValueError(f"partial of variant {partial.get('variant')!r} merged into {self.variant!r}")
        self.records += int(partial["records"])
        self.rows += int(partial["rows"])
        self.corrupt_records += int(partial["corruptRecords"])
        self.malformed_rows += int(partial["malformedRows"])
        self.unexpected_values += int(partial["unexpectedValues"])
        features = partial["features"]
        for position, accumulator in self._accumulators:
            accumulator.merge(features[self.features[position]])

    def finish(self, min_samples: int) -> VariantDrift:
        self.flush()
        return VariantDrift(
            variant=self.variant,
            records=self.records,
            rows=self.rows,
            corrupt_records=self.corrupt_records,
            malformed_rows=self.malformed_rows,
            unexpected_values=self.unexpected_values,
            features_missing_from_baseline=self.missing_from_baseline,
            features=[accumulator.result(min_samples) for _, accumulator in self._accumulators],
        )
