"""PSI and KS against scipy on known samples; streaming equals batch; no NaN on bad values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from monitoring.drift import (
    CategoricalAccumulator,
    NumericAccumulator,
    population_stability_index,
    smoothed,
)
from scipy import stats

from mlops_registry.core.baseline import build_feature_baseline, read_feature_baseline


def _numeric(train: np.ndarray | list[float], **kwargs: int) -> NumericAccumulator:
    document = build_feature_baseline({"x": list(train)}, **kwargs)  # type: ignore[arg-type]
    spec = read_feature_baseline(document).features["x"]
    assert spec.type == "numeric"
    return NumericAccumulator(spec)  # type: ignore[arg-type]


def _scipy_psi(expected: np.ndarray, actual: np.ndarray) -> float:
    # PSI is the symmetrised Kullback-Leibler divergence of the two (smoothed) distributions.
    e, a = smoothed(expected), smoothed(actual)
    return float(stats.entropy(a, e) + stats.entropy(e, a))


SAMPLES = {
    "continuous": (np.random.default_rng(1).normal(0, 1, 2_000), np.random.default_rng(2).normal(0.4, 1.3, 1_500)),
    "ties": (
        np.random.default_rng(3).integers(0, 8, 1_000).astype(float),
        np.random.default_rng(4).integers(2, 11, 700).astype(float),
    ),
    "identical": (np.arange(100, dtype=float), np.arange(100, dtype=float)),
    "disjoint": (np.arange(0, 50, dtype=float), np.arange(100, 160, dtype=float)),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_drift_ks_equals_scipy_ks_2samp_on_known_samples(name: str) -> None:
    # Given a baseline whose CDF is exact (cdf_points above the number of distinct values)
    train, window = SAMPLES[name]
    accumulator = _numeric(train, cdf_points=5_000)
    # When the window is accumulated
    accumulator.add(window)
    result = accumulator.result(min_samples=1)
    # Then KS is scipy's two-sample statistic
    assert result.ks == pytest.approx(stats.ks_2samp(train, window).statistic, abs=1e-12)


def test_drift_ks_of_a_quantile_sketch_is_within_its_resolution() -> None:
    # Given more distinct training values than CDF points, the baseline keeps 1000 quantiles
    rng = np.random.default_rng(5)
    train, window = rng.normal(0, 1, 20_000), rng.normal(0.1, 1, 10_000)
    accumulator = _numeric(train)
    accumulator.add(window)
    # Then KS is within the sketch's resolution of scipy's exact statistic
    assert accumulator.result(1).ks == pytest.approx(stats.ks_2samp(train, window).statistic, abs=2e-3)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_drift_psi_equals_symmetrised_kl_from_scipy(name: str) -> None:
    train, window = SAMPLES[name]
    accumulator = _numeric(train)
    accumulator.add(window)
    expected = np.asarray(accumulator.spec.proportions)
    actual = accumulator.bin_counts / accumulator.samples
    assert accumulator.result(1).psi == pytest.approx(_scipy_psi(expected, actual), rel=1e-12, abs=1e-15)


def test_drift_psi_with_empty_bins_is_finite_and_large() -> None:
    # Given a window entirely above the training range: every training bin is empty in the window
    accumulator = _numeric(np.arange(100, dtype=float))
    accumulator.add(np.full(50, 1_000.0))
    result = accumulator.result(1)
    # Then the out-of-range bin (training proportion 0) carries it: finite, far above any threshold
    assert result.psi is not None and math.isfinite(result.psi) and result.psi > 5
    assert result.ks == 1.0
    assert accumulator.bin_counts[-1] == 50


def test_drift_constant_feature_detects_any_other_value() -> None:
    # Given a constant training feature
    accumulator = _numeric([3.0] * 200)
    edges = accumulator.spec.bin_edges
    assert len(edges) == 2 and edges[0] == 3.0 < edges[1]
    # When the window holds the constant only, Then there is no drift
    accumulator.add(np.full(100, 3.0))
    assert accumulator.result(1).psi == pytest.approx(0.0, abs=1e-12)
    assert accumulator.result(1).ks == 0.0
    # When values below and above it arrive, Then both outer bins see them and KS matches scipy
    window = np.concatenate([np.full(100, 3.0), np.full(30, 2.0), np.full(20, 4.0)])
    fresh = _numeric([3.0] * 200)
    fresh.add(window)
    assert list(fresh.bin_counts) == [30, 100, 20]
    assert fresh.result(1).ks == pytest.approx(stats.ks_2samp([3.0] * 200, window).statistic)
    assert fresh.result(1).psi == pytest.approx(
        _scipy_psi(np.array([0.0, 1.0, 0.0]), np.array([30, 100, 20]) / 150), rel=1e-12
    )


def test_drift_psi_is_zero_for_identical_distributions_and_symmetric() -> None:
    p = np.array([0.1, 0.2, 0.3, 0.4])
    q = np.array([0.25, 0.25, 0.25, 0.25])
    assert population_stability_index(p, p) == pytest.approx(0.0, abs=1e-15)
    assert population_stability_index(p, q) == pytest.approx(population_stability_index(q, p))


def test_drift_streaming_equals_batch() -> None:
    # Given one window fed at once and the same window fed in uneven chunks
    rng = np.random.default_rng(7)
    train = rng.gamma(2.0, 3.0, 5_000)
    window = np.round(rng.gamma(2.2, 3.1, 12_345), 1)  # rounding adds ties
    batch, streamed = _numeric(train), _numeric(train)
    batch.add(window)
    for chunk in np.array_split(window, [1, 17, 1_000, 1_001, 9_000]):
        streamed.add(chunk)
    # Then every count, hence every statistic, is identical
    assert np.array_equal(batch.bin_counts, streamed.bin_counts)
    assert np.array_equal(batch.at_or_below, streamed.at_or_below)
    assert np.array_equal(batch.strictly_below, streamed.strictly_below)
    assert batch.result(1) == streamed.result(1)


def test_drift_non_numeric_and_missing_values_are_counted_never_nan() -> None:
    # Given captured strings with gaps, words and infinities among numbers
    accumulator = _numeric(np.arange(10, dtype=float))
    accumulator.add_raw(["1", " 2.5", "", "abc", None, "nan", "inf", "3", {"nested": 1}])
    # Then usable values are binned and the rest counted by kind
    assert accumulator.samples == 3
    assert accumulator.missing == 3  # "", None, "nan"
    assert accumulator.non_numeric == 3  # "abc", "inf", a nested object
    result = accumulator.result(1)
    assert result.psi is not None and math.isfinite(result.psi)
    assert result.ks is not None and math.isfinite(result.ks)


def test_drift_below_min_samples_publishes_no_statistic() -> None:
    accumulator = _numeric(np.arange(10, dtype=float))
    accumulator.add(np.array([1.0, 2.0]))
    result = accumulator.result(min_samples=100)
    assert result.psi is None and result.ks is None and result.samples == 2


def test_drift_categorical_psi_counts_unseen_categories_as_other() -> None:
    # Given a categorical baseline of 60% "a" / 40% "b"
    document = build_feature_baseline({"c": ["a"] * 60 + ["b"] * 40})
    accumulator = CategoricalAccumulator(read_feature_baseline(document).features["c"])  # type: ignore[arg-type]
    # When the window adds an unseen category and gaps (numbers normalise to the same key as text)
    accumulator.add_raw(["a"] * 30 + ["b"] * 10 + ["z"] * 10 + [None, "", float("nan")])
    result = accumulator.result(1)
    # Then unseen values land in 'other', gaps are missing, and PSI matches scipy
    assert accumulator.missing == 3 and result.samples == 50
    observed = accumulator.observed_proportions()
    assert list(observed) == pytest.approx([0.6, 0.2, 0.2])
    assert result.psi == pytest.approx(_scipy_psi(np.array([0.6, 0.4, 0.0]), observed), rel=1e-12)
    assert result.ks is None  # KS is not defined for categories
