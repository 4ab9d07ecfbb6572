"""Two-proportion tests for A/B decisions (pure Python: the Lambda has no SciPy).

``z_test`` is the classical pooled two-proportion z-test. It is valid for *one* look at data of a
sample size fixed in advance; an evaluator that looks every hour and stops at the first p < alpha
inflates the false-positive rate far beyond alpha (the peeking problem).

``msprt`` is the mixture sequential probability ratio test (Robbins 1970; Johari, Koomen, Pekelis
and Walsh, "Always valid inference", Operations Research 2022). Under the normal approximation the
estimated difference of the two rates, ``d = p_b - p_a``, has variance ``V`` (pooled under H0);
mixing the alternative ``d ~ N(theta, V)`` over ``theta ~ N(0, tau^2)`` gives the likelihood ratio

    Lambda = sqrt(V / (V + tau^2)) * exp(d^2 * tau^2 / (2 V (V + tau^2)))

which is (approximately, through the normal approximation) a non-negative martingale under H0, so
by Ville's inequality P(sup Lambda >= 1/alpha) <= alpha: stopping the first time
``Lambda >= 1/alpha`` keeps the false-positive rate at most alpha however often one looks. ``tau`` is
the absolute effect the test is tuned to: the configured minimum detectable *relative* lift times the
pooled success rate (``mixture_sd``). The approximation needs enough outcomes of each kind in each
arm, which ``ab_test`` enforces before the test may decide.

``error_guardrail`` is exact, with no approximation: when traffic is routed at random with a known
challenger share ``w`` and both variants fail at the same rate, every error lands on the challenger
independently with probability ``w``, whatever the error rate and however it drifts over time. The
Beta-binomial mixture of likelihood ratios against that Bernoulli(w) is then an exact martingale, so
Ville's inequality bounds its false-positive rate at any sample size, including the handful of
errors a guardrail sees.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

MAX_LOG_LR = 700.0  # exp() overflows beyond ~709; a ratio this large is conclusive anyway


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def normal_ppf(p: float) -> float:
    """Inverse of the standard normal CDF (Acklam's rational approximation refined by Halley steps)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572)
    c = (
        -0.007784894002430293,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    low = 0.02425
    if p < low:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    elif p > 1 - low:
        q = math.sqrt(-2 * math.log(1 - p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
            * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        )
    for _ in range(2):  # Halley refinement to full double precision
        e = 0.5 * math.erfc(-x / math.sqrt(2)) - p
        u = e * math.sqrt(2 * math.pi) * math.exp(x * x / 2)
        x = x - u / (1 + x * u / 2)
    return x


@dataclass(frozen=True)
class Proportions:
    """Successes out of trials for variant A (the champion) and variant B (the challenger)."""

    successes_a: int
    trials_a: int
    successes_b: int
    trials_b: int

    def __post_init__(self) -> None:
        for name in ("successes_a", "trials_a", "successes_b", "trials_b"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer count, got {value!r}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.successes_a > self.trials_a or self.successes_b > self.trials_b:
            raise ValueError(f"successes exceed trials: {self}")

    @property
    def rate_a(self) -> float:
        return self.successes_a / self.trials_a if self.trials_a else 0.0

    @property
    def rate_b(self) -> float:
        return self.successes_b / self.trials_b if self.trials_b else 0.0

    @property
    def difference(self) -> float:
        return self.rate_b - self.rate_a

    def pooled_variance(self) -> float:
        """Variance of ``rate_b - rate_a`` under H0 (both rates equal to the pooled rate)."""
        if not self.trials_a or not self.trials_b:
            return 0.0
        pooled = (self.successes_a + self.successes_b) / (self.trials_a + self.trials_b)
        return pooled * (1 - pooled) * (1 / self.trials_a + 1 / self.trials_b)

    def unpooled_variance(self) -> float:
        if not self.trials_a or not self.trials_b:
            return 0.0
        return self.rate_a * (1 - self.rate_a) / self.trials_a + self.rate_b * (1 - self.rate_b) / self.trials_b


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float
    difference: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def z_test(data: Proportions, confidence: float = 0.95) -> ZTest:
    """Pooled two-sided two-proportion z-test, with an unpooled Wald interval for the difference."""
    variance = data.pooled_variance()
    difference = data.difference
    if variance <= 0:
        z, p_value = 0.0, 1.0
    else:
        z = difference / math.sqrt(variance)
        p_value = min(1.0, 2 * normal_sf(abs(z)))
    half_width = normal_ppf(0.5 + confidence / 2) * math.sqrt(data.unpooled_variance())
    return ZTest(
        z=z, p_value=p_value, difference=difference, ci_low=difference - half_width, ci_high=difference + half_width
    )


@dataclass(frozen=True)
class SequentialTest:
    likelihood_ratio: float
    log_likelihood_ratio: float
    p_value: float  # always valid: the running minimum of 1 / likelihood ratio (reported, not decisive)
    boundary: float  # the ratio at which the test stops: 1 / alpha
    crossed: bool  # judged on the current counts: likelihood ratio >= boundary at this look
    mixture_sd: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mixture_sd(minimum_detectable_effect: float, rate: float) -> float:
    """The mixing distribution's spread: the absolute difference a relative lift of
    ``minimum_detectable_effect`` makes at the success rate ``rate`` (pooled across variants, the
    rate the null hypothesis says both share). Centring the mixture on the effect that matters is
    what Johari et al. recommend; a spread tuned to the sample size instead spends power on effects
    nobody would act on."""
    if not (math.isfinite(minimum_detectable_effect) and minimum_detectable_effect > 0):
        raise ValueError(f"minimum_detectable_effect must be a positive number, got {minimum_detectable_effect!r}")
    if not (math.isfinite(rate) and 0 <= rate <= 1):
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    return minimum_detectable_effect * rate


def log_mixture_likelihood_ratio(difference: float, variance: float, tau: float) -> float:
    if variance <= 0 or tau <= 0:
        return 0.0
    tau2 = tau * tau
    return 0.5 * math.log(variance / (variance + tau2)) + difference * difference * tau2 / (
        2 * variance * (variance + tau2)
    )


def _check_alpha(alpha: float) -> None:
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def msprt(data: Proportions, alpha: float, tau: float, previous_p_value: float = 1.0) -> SequentialTest:
    """One look of the mixture SPRT. It crosses when the current likelihood ratio reaches 1/alpha;
    ``previous_p_value`` only carries the reported always-valid p-value across looks."""
    _check_alpha(alpha)
    log_lr = min(log_mixture_likelihood_ratio(data.difference, data.pooled_variance(), tau), MAX_LOG_LR)
    likelihood_ratio = math.exp(log_lr)
    return SequentialTest(
        likelihood_ratio=likelihood_ratio,
        log_likelihood_ratio=log_lr,
        p_value=min(previous_p_value, 1.0, 1.0 / likelihood_ratio),
        boundary=1.0 / alpha,
        crossed=log_lr >= math.log(1.0 / alpha),
        mixture_sd=tau,
    )


# --- the exact error guardrail ------------------------------------------------------------------
def guardrail_concentration(challenger_share: float, error_ratio: float) -> float:
    """Concentration ``c`` of the Beta(w c, (1 - w) c) mixture over the challenger's share of errors.

    A challenger failing ``error_ratio`` times as often as the champion takes a share
    ``w r / (w r + 1 - w)`` of the errors; the prior's standard deviation is set to that shift."""
    if not 0 < challenger_share < 1:
        raise ValueError(f"challenger_share must be in (0, 1), got {challenger_share!r}")
    if not (math.isfinite(error_ratio) and error_ratio > 1):
        raise ValueError(f"error_ratio must be > 1, got {error_ratio!r}")
    w = challenger_share
    shift = w * error_ratio / (w * error_ratio + 1 - w) - w
    return w * (1 - w) / (shift * shift) - 1


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def log_beta_binomial_likelihood_ratio(k: int, m: int, share: float, concentration: float) -> float:
    """log of P(k of m events on the challenger | Beta-mixed share) / P(... | share ``share``).

    The binomial coefficients cancel; this equals ``log(betabinom.pmf(k, m, a, b) / binom.pmf(k, m, w))``
    with ``a = w c``, ``b = (1 - w) c``."""
    if not 0 <= k <= m:
        raise ValueError(f"need 0 <= k <= m, got k={k}, m={m}")
    a, b = share * concentration, (1 - share) * concentration
    return _log_beta(a + k, b + m - k) - _log_beta(a, b) - k * math.log(share) - (m - k) * math.log1p(-share)


@dataclass(frozen=True)
class GuardrailTest:
    likelihood_ratio: float
    log_likelihood_ratio: float
    boundary: float
    crossed: bool  # current counts only: the challenger fails more often now AND the ratio >= boundary
    challenger_share: float
    errors_on_challenger: int
    errors: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_guardrail(errors: Proportions, challenger_share: float, alpha: float, error_ratio: float) -> GuardrailTest:
    """Is the challenger's error rate higher than the champion's? Judged on the current counts.

    ``errors`` holds errors out of invocations, champion as A and challenger as B; ``challenger_share``
    is the configured share of traffic routed to the challenger."""
    _check_alpha(alpha)
    k, m = errors.successes_b, errors.successes_a + errors.successes_b
    concentration = guardrail_concentration(challenger_share, error_ratio)
    log_lr = min(log_beta_binomial_likelihood_ratio(k, m, challenger_share, concentration), MAX_LOG_LR)
    return GuardrailTest(
        likelihood_ratio=math.exp(log_lr),
        log_likelihood_ratio=log_lr,
        boundary=1.0 / alpha,
        crossed=errors.difference > 0 and log_lr >= math.log(1.0 / alpha),
        challenger_share=challenger_share,
        errors_on_challenger=k,
        errors=m,
    )
