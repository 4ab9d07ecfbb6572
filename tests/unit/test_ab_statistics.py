"""The A/B statistics against SciPy reference values, and the sequential test's error control."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from serving.statistics import (
    Proportions,
    error_guardrail,
    guardrail_concentration,
    log_beta_binomial_likelihood_ratio,
    log_mixture_likelihood_ratio,
    mixture_sd,
    msprt,
    normal_ppf,
    normal_sf,
    z_test,
)

CASES = [
    (400, 4000, 160, 1000),
    (500, 5000, 520, 5000),
    (12, 300, 30, 310),
    (0, 100, 3, 100),
    (999, 1000, 990, 1000),
]


@pytest.mark.parametrize(("sa", "na", "sb", "nb"), CASES)
def test_z_test_matches_scipys_chi_square_without_continuity_correction(sa: int, na: int, sb: int, nb: int) -> None:
    # Given a 2x2 table, When both tests run, Then the pooled z-test's p-value is the chi-square's
    result = z_test(Proportions(sa, na, sb, nb))
    chi2, p_value, _, _ = stats.chi2_contingency([[sa, na - sa], [sb, nb - sb]], correction=False)
    assert result.p_value == pytest.approx(p_value, rel=1e-9, abs=1e-15)
    assert result.z**2 == pytest.approx(chi2, rel=1e-9)
    assert math.copysign(1, result.z) == math.copysign(1, sb / nb - sa / na)


def test_z_test_confidence_interval_is_the_unpooled_wald_interval() -> None:
    data = Proportions(400, 4000, 160, 1000)
    result = z_test(data, confidence=0.95)
    se = math.sqrt(0.1 * 0.9 / 4000 + 0.16 * 0.84 / 1000)
    assert result.ci_low == pytest.approx(0.06 - stats.norm.ppf(0.975) * se)
    assert result.ci_high == pytest.approx(0.06 + stats.norm.ppf(0.975) * se)


@pytest.mark.parametrize("p", [1e-9, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999])
def test_normal_helpers_match_scipy(p: float) -> None:
    assert normal_ppf(p) == pytest.approx(stats.norm.ppf(p), rel=1e-9, abs=1e-12)
    assert normal_sf(stats.norm.ppf(p)) == pytest.approx(1 - p, rel=1e-9)


@pytest.mark.parametrize(
    ("difference", "variance", "tau"), [(0.06, 2.2e-4, 0.0316), (-0.01, 1e-5, 0.01), (0.0, 4e-4, 0.05)]
)
def test_mixture_likelihood_ratio_matches_numerical_integration(difference: float, variance: float, tau: float) -> None:
    # Lambda = integral of N(d; theta, V) / N(d; 0, V) against the mixing density N(theta; 0, tau^2)
    sd = math.sqrt(variance)

    def integrand(theta: float) -> float:
        return stats.norm.pdf(difference, theta, sd) / stats.norm.pdf(difference, 0, sd) * stats.norm.pdf(theta, 0, tau)

    reference, _ = integrate.quad(integrand, -12 * tau, 12 * tau, points=[0, difference], limit=200)
    closed = stats.norm.pdf(difference, 0, math.sqrt(variance + tau**2)) / stats.norm.pdf(difference, 0, sd)
    assert math.exp(log_mixture_likelihood_ratio(difference, variance, tau)) == pytest.approx(reference, rel=1e-6)
    assert math.exp(log_mixture_likelihood_ratio(difference, variance, tau)) == pytest.approx(closed, rel=1e-9)


def test_always_valid_p_value_never_increases_and_crossing_is_judged_on_the_current_look() -> None:
    tau = mixture_sd(0.1, 0.115)
    previous = 1.0
    for n in (500, 1000, 2000, 4000):
        look = msprt(Proportions(int(0.10 * n), n, int(0.13 * n), n), alpha=0.05, tau=tau, previous_p_value=previous)
        assert look.p_value <= previous
        assert look.crossed == (look.likelihood_ratio >= 20)
        previous = look.p_value
    assert previous <= 0.05
    # a look whose evidence has faded does not cross, whatever an earlier look reached
    assert not msprt(Proportions(100, 1000, 101, 1000), 0.05, tau, previous_p_value=0.001).crossed


def test_mixture_is_tuned_to_the_minimum_detectable_effect_at_the_pooled_rate() -> None:
    assert mixture_sd(0.05, 0.10) == pytest.approx(0.005)
    with pytest.raises(ValueError, match="minimum_detectable_effect must be a positive number, got nan"):
        mixture_sd(float("nan"), 0.1)
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\], got 1.5"):
        mixture_sd(0.1, 1.5)


def test_sequential_test_controls_false_positives_under_repeated_looks_unlike_the_z_test() -> None:
    # Given 2,000 simulated A/A tests (both rates 10%) looked at 40 times each
    rng = np.random.default_rng(20261126)
    tests, looks, per_look, rate, alpha = 2000, 40, 250, 0.10, 0.05
    a = rng.binomial(per_look, rate, size=(tests, looks)).cumsum(axis=1)
    b = rng.binomial(per_look, rate, size=(tests, looks)).cumsum(axis=1)
    n = per_look * np.arange(1, looks + 1)
    diff = b / n - a / n
    pooled = (a + b) / (2 * n)
    variance = pooled * (1 - pooled) * (2 / n)
    # When stopping at the first look that rejects
    naive = (np.abs(diff) / np.sqrt(variance) > stats.norm.ppf(1 - alpha / 2)).any(axis=1).mean()
    tau = mixture_sd(0.1, rate)
    log_lr = 0.5 * np.log(variance / (variance + tau**2)) + diff**2 * tau**2 / (2 * variance * (variance + tau**2))
    sequential = (log_lr >= math.log(1 / alpha)).any(axis=1).mean()
    # Then peeking at the z-test inflates false positives several-fold; the mixture SPRT stays below alpha
    assert naive > 3 * alpha
    assert sequential <= alpha
    # (and the vectorized formula above is the one the Lambda uses)
    assert log_lr[0, -1] == pytest.approx(
        log_mixture_likelihood_ratio(float(diff[0, -1]), float(variance[0, -1]), tau), rel=1e-9
    )


def test_the_sequential_test_detects_a_real_effect() -> None:
    # 10% vs 12% (a 20% lift) with 10,000 per variant, tuned to a 10% lift
    rng = np.random.default_rng(7)
    detected = 0
    for _ in range(200):
        a = rng.binomial(10_000, 0.10)
        b = rng.binomial(10_000, 0.12)
        detected += msprt(Proportions(a, 10_000, b, 10_000), 0.05, mixture_sd(0.1, (a + b) / 20_000)).crossed
    assert detected / 200 > 0.85


@pytest.mark.parametrize(
    ("k", "m", "share", "concentration"),
    [(0, 0, 0.1, 9.0), (3, 10, 0.1, 50.0), (40, 44, 0.2, 25.0), (1, 900, 0.01, 3000.0), (500, 1000, 0.5, 12.0)],
)
def test_guardrail_likelihood_ratio_is_scipys_beta_binomial_over_binomial(
    k: int, m: int, share: float, concentration: float
) -> None:
    # Given k of m errors on the challenger, When the guardrail's ratio is computed, Then it is the ratio
    # of SciPy's Beta-binomial and binomial probabilities (the binomial coefficients cancel)
    a, b = share * concentration, (1 - share) * concentration
    reference = stats.betabinom.logpmf(k, m, a, b) - stats.binom.logpmf(k, m, share)
    assert log_beta_binomial_likelihood_ratio(k, m, share, concentration) == pytest.approx(
        reference, rel=1e-9, abs=1e-9
    )


def test_guardrail_mixture_spread_matches_the_configured_error_ratio() -> None:
    # A challenger failing twice as often takes w*2/(w*2 + 1 - w) of the errors; the Beta prior's sd is that shift
    share, ratio = 0.2, 2.0
    concentration = guardrail_concentration(share, ratio)
    shift = share * ratio / (share * ratio + 1 - share) - share
    assert stats.beta(share * concentration, (1 - share) * concentration).std() == pytest.approx(shift, rel=1e-9)
    with pytest.raises(ValueError, match="error_ratio must be > 1, got 1.0"):
        guardrail_concentration(0.2, 1.0)


def test_guardrail_crosses_only_when_the_challenger_fails_more_now() -> None:
    worse = error_guardrail(Proportions(4, 4000, 40, 1000), 0.2, 0.01, 2.0)
    assert worse.crossed and worse.errors == 44 and worse.errors_on_challenger == 40
    better = error_guardrail(Proportions(400, 4000, 1, 1000), 0.2, 0.01, 2.0)
    assert better.likelihood_ratio >= better.boundary and not better.crossed  # significant, but the other way


def test_bad_counts_are_rejected_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="successes exceed trials"):
        Proportions(11, 10, 0, 10)
    with pytest.raises(ValueError, match="trials_b must not be negative"):
        Proportions(0, 10, 0, -1)
    with pytest.raises(ValueError, match="trials_a must be an integer count, got nan"):
        Proportions(0, float("nan"), 0, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        msprt(Proportions(1, 10, 1, 10), alpha=1.5, tau=0.1)
    assert msprt(Proportions(0, 10, 0, 10), 0.05, 0.1).p_value == 1.0  # no variance, no evidence
