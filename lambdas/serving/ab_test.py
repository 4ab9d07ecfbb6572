"""A/B decision rules: per-variant counts in, a decision with its statistics out (no AWS).

Rules, in order, at every look (every rule judges the *current* counts; nothing crossed at an earlier
look is remembered):

1. **Inputs.** Counts must be non-negative integers, the elapsed time a finite non-negative number
   and the policy within its bounds; anything else raises ``AbInputError`` naming the field and value.
2. **Minimum sample.** No decision while either variant has fewer invocations than
   ``min_samples_per_variant``.
3. **Guardrail on errors.** The exact Beta-binomial mixture test on where the 5XX errors landed
   (``statistics.error_guardrail``), at ``GUARDRAIL_ALPHA_SHARE`` of the significance level: if the
   challenger's error rate is higher now and the test crosses now, the champion wins.
4. **Success rate.** Once each variant has at least ``MIN_OUTCOMES`` successes and as many
   non-successes (the minimum sample counted in outcomes, which the normal approximation needs), the
   mixture SPRT on success rates, tuned to ``minimum_detectable_effect`` (a relative lift), at the rest
   of the significance level: when it crosses, the variant with the higher rate wins.
5. **Maximum duration.** Past ``max_duration_hours`` without a decision, the test is inconclusive
   and the champion stays.

The two tests share the significance level (Bonferroni), so the probability that an A/A test ends
with any winner is at most ``significance_level`` however often it is looked at. The fixed-horizon
z-test is reported next to the sequential test for readers who know it; it never decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_registry.core.config import AbTestPolicy
from mlops_registry.core.contracts import VARIANT_CHALLENGER, VARIANT_CHAMPION
from serving.statistics import Proportions, error_guardrail, mixture_sd, msprt, z_test

Decision = Literal["continue", "challenger", "champion", "inconclusive"]
WEIGHT_DECIMALS = 4
GUARDRAIL_ALPHA_SHARE = 0.2  # of the significance level spent on the error guardrail (Bonferroni)
GUARDRAIL_ERROR_RATIO = 2.0  # the guardrail's mixture is tuned to a challenger failing twice as often
MIN_OUTCOMES = 10  # successes and non-successes each variant needs before the success test may decide
MAX_MINIMUM_DETECTABLE_EFFECT = 10.0  # a relative lift of 1000%: beyond it the tuning means nothing


class AbInputError(ValueError):
    """A count, the elapsed time or the policy is outside its domain; the message names field and value."""


@dataclass(frozen=True)
class VariantCounts:
    invocations: int
    successes: int
    errors: int
    latency_ms: float | None = None

    def __post_init__(self) -> None:
        for name in ("invocations", "successes", "errors"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise AbInputError(f"{name} must be an integer count, got {value!r}")
            if value < 0:
                raise AbInputError(f"{name} must not be negative, got {value!r}")
        if self.latency_ms is not None and not (
            isinstance(self.latency_ms, int | float) and math.isfinite(self.latency_ms) and self.latency_ms >= 0
        ):
            raise AbInputError(f"latency_ms must be a finite non-negative number or None, got {self.latency_ms!r}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "successes": self.successes,
            "errors": self.errors,
            "latency_ms": self.latency_ms,
            "success_rate": self.successes / self.invocations if self.invocations else None,
            "error_rate": self.errors / self.invocations if self.invocations else None,
        }


@dataclass(frozen=True)
class AbVerdict:
    decision: Decision
    reason: str
    statistics: dict[str, Any] = field(default_factory=dict)
    success_p_value: float = 1.0
    error_p_value: float = 1.0

    @property
    def concluded(self) -> bool:
        return self.decision != "continue"

    @property
    def winner(self) -> str | None:
        if self.decision == "challenger":
            return VARIANT_CHALLENGER
        if self.decision in ("champion", "inconclusive"):
            return VARIANT_CHAMPION
        return None


def validate_policy(policy: AbTestPolicy) -> None:
    """The bounds the statistics need, checked again here whatever built the policy."""

    def number(name: str, low: float, high: float, *, low_open: bool = True, high_open: bool = True) -> None:
        value = getattr(policy, name)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
        if not ok:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            raise AbInputError(f"policy.{name} must be a finite number in {left}{low}, {high}{right}, got {value!r}")

    number("challenger_weight", 0, 1)
    number("significance_level", 0, 1)
    number("minimum_detectable_effect", 0, MAX_MINIMUM_DETECTABLE_EFFECT, high_open=False)
    number("max_duration_hours", 0, math.inf)
    if isinstance(policy.min_samples_per_variant, bool) or not isinstance(policy.min_samples_per_variant, int):
        raise AbInputError(f"policy.min_samples_per_variant must be an integer, got {policy.min_samples_per_variant!r}")
    if policy.min_samples_per_variant < 1:
        raise AbInputError(f"policy.min_samples_per_variant must be >= 1, got {policy.min_samples_per_variant!r}")


def challenger_share(policy: AbTestPolicy) -> float:
    """The share of invocations routed to the challenger (the weights as set, rounded like SageMaker's)."""
    return traffic_share(initial_weights(policy.challenger_weight))[VARIANT_CHALLENGER]


def initial_weights(challenger_weight: float) -> dict[str, float]:
    """Initial variant weights; SageMaker routes by weight / sum of weights, so they sum to 1 here."""
    if not 0 < challenger_weight < 1:
        raise ValueError(f"challenger_weight must be in (0, 1), got {challenger_weight}")
    challenger = round(challenger_weight, WEIGHT_DECIMALS)
    return {VARIANT_CHAMPION: round(1 - challenger, WEIGHT_DECIMALS), VARIANT_CHALLENGER: challenger}


def final_weights(winner: str) -> dict[str, float]:
    """All traffic to the winner (weight 0 keeps the loser deployed but idle until the stack drops it)."""
    if winner not in (VARIANT_CHAMPION, VARIANT_CHALLENGER):
        raise ValueError(f"winner must be {VARIANT_CHAMPION} or {VARIANT_CHALLENGER}, got {winner!r}")
    return {
        VARIANT_CHAMPION: 1.0 if winner == VARIANT_CHAMPION else 0.0,
        VARIANT_CHALLENGER: 1.0 if winner == VARIANT_CHALLENGER else 0.0,
    }


def traffic_share(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"at least one weight must be positive: {weights}")
    return {variant: weight / total for variant, weight in weights.items()}


def _proportions(champion: VariantCounts, challenger: VariantCounts, metric: str) -> tuple[Proportions, list[str]]:
    """Counts as proportions; a success/error count above the invocations is capped and reported."""
    warnings: list[str] = []

    def capped(count: int, trials: int, variant: str) -> int:
        if count > trials:
            warnings.append(f"{variant}: {metric} {count} exceeds invocations {trials}; capped")
            return trials
        return count

    def value(counts: VariantCounts) -> int:
        return counts.successes if metric == "successes" else counts.errors

    return (
        Proportions(
            successes_a=capped(value(champion), champion.invocations, VARIANT_CHAMPION),
            trials_a=champion.invocations,
            successes_b=capped(value(challenger), challenger.invocations, VARIANT_CHALLENGER),
            trials_b=challenger.invocations,
        ),
        warnings,
    )


def evaluate(
    champion: VariantCounts,
    challenger: VariantCounts,
    policy: AbTestPolicy,
    elapsed_hours: float,
    previous_success_p: float = 1.0,
    previous_error_p: float = 1.0,
) -> AbVerdict:
    """One look at the test (see the module docstring for the rules).

    ``previous_success_p`` only carries the reported always-valid p-value across looks; no decision
    depends on it. ``previous_error_p`` is accepted for older callers and ignored: the guardrail is
    judged on the current counts alone."""
    validate_policy(policy)
    if (
        isinstance(elapsed_hours, bool)
        or not isinstance(elapsed_hours, int | float)
        or not math.isfinite(elapsed_hours)
    ):
        raise AbInputError(f"elapsed_hours must be a finite number, got {elapsed_hours!r}")
    if elapsed_hours < 0:
        raise AbInputError(f"elapsed_hours must not be negative, got {elapsed_hours!r}")
    if not (isinstance(previous_success_p, int | float) and 0 <= previous_success_p <= 1):
        raise AbInputError(f"previous_success_p must be in [0, 1], got {previous_success_p!r}")
    alpha = policy.significance_level
    success_alpha = alpha * (1 - GUARDRAIL_ALPHA_SHARE)
    guardrail_alpha = alpha * GUARDRAIL_ALPHA_SHARE
    share = challenger_share(policy)
    expired = elapsed_hours >= policy.max_duration_hours
    stats: dict[str, Any] = {
        "variants": {VARIANT_CHAMPION: champion.as_dict(), VARIANT_CHALLENGER: challenger.as_dict()},
        "significance_level": alpha,
        "alpha_split": {"success": success_alpha, "error_guardrail": guardrail_alpha},
        "min_samples_per_variant": policy.min_samples_per_variant,
        "min_outcomes_per_variant": MIN_OUTCOMES,
        "minimum_detectable_effect": policy.minimum_detectable_effect,
        "max_duration_hours": policy.max_duration_hours,
        "elapsed_hours": round(elapsed_hours, 3),
        "test": "mixture SPRT on success rates + exact Beta-binomial mixture guardrail on 5XX errors",
    }
    enough = min(champion.invocations, challenger.invocations) >= policy.min_samples_per_variant
    if not enough:
        stats["samples_short"] = {
            VARIANT_CHAMPION: max(0, policy.min_samples_per_variant - champion.invocations),
            VARIANT_CHALLENGER: max(0, policy.min_samples_per_variant - challenger.invocations),
        }
        if expired:
            return AbVerdict(
                "inconclusive",
                f"minimum sample of {policy.min_samples_per_variant} per variant not reached within "
                f"{policy.max_duration_hours} h; the champion stays",
                stats,
                previous_success_p,
                1.0,
            )
        return AbVerdict("continue", "collecting the minimum sample", stats, previous_success_p, 1.0)

    successes, warnings = _proportions(champion, challenger, "successes")
    errors, error_warnings = _proportions(champion, challenger, "errors")
    if warnings or error_warnings:
        stats["data_warnings"] = warnings + error_warnings
    tau = mixture_sd(policy.minimum_detectable_effect, _pooled_rate(successes))
    success_seq = msprt(successes, success_alpha, tau, previous_success_p)
    guardrail = error_guardrail(errors, share, guardrail_alpha, GUARDRAIL_ERROR_RATIO)
    outcomes_short = {
        variant: max(0, MIN_OUTCOMES - min(s, n - s))
        for variant, s, n in (
            (VARIANT_CHAMPION, successes.successes_a, successes.trials_a),
            (VARIANT_CHALLENGER, successes.successes_b, successes.trials_b),
        )
    }
    enough_outcomes = not any(outcomes_short.values())
    fixed = z_test(successes, confidence=1 - alpha)
    stats["success"] = {
        "rate_champion": successes.rate_a,
        "rate_challenger": successes.rate_b,
        "effect": successes.difference,
        "relative_lift": successes.difference / successes.rate_a if successes.rate_a else None,
        "sequential": success_seq.as_dict(),
        "fixed_horizon_z_test": fixed.as_dict(),
    }
    if not enough_outcomes:
        stats["success"]["outcomes_short"] = outcomes_short
    stats["errors"] = {
        "rate_champion": errors.rate_a,
        "rate_challenger": errors.rate_b,
        "effect": errors.difference,
        "guardrail": guardrail.as_dict(),
    }
    error_p = min(1.0, 1.0 / guardrail.likelihood_ratio)

    def verdict(decision: Decision, reason: str) -> AbVerdict:
        stats["decision"] = decision
        return AbVerdict(decision, reason, stats, success_seq.p_value, error_p)

    if guardrail.crossed:
        return verdict(
            "champion",
            f"challenger 5XX rate {errors.rate_b:.4f} > champion {errors.rate_a:.4f} "
            f"(guardrail likelihood ratio {guardrail.likelihood_ratio:.3g} >= {guardrail.boundary:.3g})",
        )
    if enough_outcomes and success_seq.crossed and successes.difference != 0:
        winner: Decision = "challenger" if successes.difference > 0 else "champion"
        return verdict(
            winner,
            f"{winner} wins: success rate {successes.rate_b:.4f} (challenger) vs {successes.rate_a:.4f} "
            f"(champion), effect {successes.difference:+.4f}, likelihood ratio "
            f"{success_seq.likelihood_ratio:.3g} >= {success_seq.boundary:.3g}",
        )
    if expired:
        return verdict(
            "inconclusive",
            f"no significant difference after {elapsed_hours:.1f} h (likelihood ratio "
            f"{success_seq.likelihood_ratio:.3g} < {success_seq.boundary:.3g}); the champion stays",
        )
    stats["decision"] = "continue"
    waiting = "collecting outcomes" if not enough_outcomes else "not significant yet"
    return AbVerdict(
        "continue",
        f"{waiting} (likelihood ratio {success_seq.likelihood_ratio:.3g} < {success_seq.boundary:.3g})",
        stats,
        success_seq.p_value,
        error_p,
    )


def _pooled_rate(data: Proportions) -> float:
    trials = data.trials_a + data.trials_b
    return (data.successes_a + data.successes_b) / trials if trials else 0.0
