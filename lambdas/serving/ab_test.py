"""A/B decision rules: per-variant counts in, a decision with its statistics out (no AWS).

Rules, in order, at every look:

1. **Minimum sample.** No decision while either variant has fewer invocations than
   ``min_samples_per_variant`` (the normal approximation and the mixture SPRT both need it).
2. **Guardrail on errors.** If the challenger's 5XX error rate is higher than the champion's and the
   sequential test on error rates crosses its boundary, the champion wins.
3. **Success rate.** The mixture SPRT on success rates (successes / invocations) at
   ``significance_level``: when it crosses, the variant with the higher rate wins.
4. **Maximum duration.** Past ``max_duration_hours`` without a decision, the test is inconclusive
   and the champion stays.

The fixed-horizon z-test is reported next to the sequential test for readers who know it; it never
decides, because looking repeatedly at it inflates false positives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from registry_core.config import AbTestPolicy

from serving.names import VARIANT_CHALLENGER, VARIANT_CHAMPION
from serving.statistics import Proportions, mixture_sd, msprt, z_test

Decision = Literal["continue", "challenger", "champion", "inconclusive"]
WEIGHT_DECIMALS = 4


@dataclass(frozen=True)
class VariantCounts:
    invocations: int
    successes: int
    errors: int
    latency_ms: float | None = None

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
    """One look at the test (see the module docstring for the rules)."""
    alpha = policy.significance_level
    tau = mixture_sd(policy.min_samples_per_variant)
    expired = elapsed_hours >= policy.max_duration_hours
    stats: dict[str, Any] = {
        "variants": {VARIANT_CHAMPION: champion.as_dict(), VARIANT_CHALLENGER: challenger.as_dict()},
        "significance_level": alpha,
        "min_samples_per_variant": policy.min_samples_per_variant,
        "max_duration_hours": policy.max_duration_hours,
        "elapsed_hours": round(elapsed_hours, 3),
        "test": "mixture SPRT (always-valid p-value), two proportions",
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
                previous_error_p,
            )
        return AbVerdict("continue", "collecting the minimum sample", stats, previous_success_p, previous_error_p)

    successes, warnings = _proportions(champion, challenger, "successes")
    errors, error_warnings = _proportions(champion, challenger, "errors")
    if warnings or error_warnings:
        stats["data_warnings"] = warnings + error_warnings
    success_seq = msprt(successes, alpha, tau, previous_success_p)
    error_seq = msprt(errors, alpha, tau, previous_error_p)
    fixed = z_test(successes, confidence=1 - alpha)
    stats["success"] = {
        "rate_champion": successes.rate_a,
        "rate_challenger": successes.rate_b,
        "effect": successes.difference,
        "relative_lift": successes.difference / successes.rate_a if successes.rate_a else None,
        "sequential": success_seq.as_dict(),
        "fixed_horizon_z_test": fixed.as_dict(),
    }
    stats["errors"] = {
        "rate_champion": errors.rate_a,
        "rate_challenger": errors.rate_b,
        "effect": errors.difference,
        "sequential": error_seq.as_dict(),
    }

    def verdict(decision: Decision, reason: str) -> AbVerdict:
        stats["decision"] = decision
        return AbVerdict(decision, reason, stats, success_seq.p_value, error_seq.p_value)

    if error_seq.crossed and errors.difference > 0:
        return verdict(
            "champion",
            f"challenger 5XX rate {errors.rate_b:.4f} > champion {errors.rate_a:.4f} "
            f"(always-valid p={error_seq.p_value:.3g} <= {alpha})",
        )
    if success_seq.crossed and successes.difference != 0:
        winner: Decision = "challenger" if successes.difference > 0 else "champion"
        return verdict(
            winner,
            f"{winner} wins: success rate {successes.rate_b:.4f} (challenger) vs {successes.rate_a:.4f} "
            f"(champion), effect {successes.difference:+.4f}, always-valid p={success_seq.p_value:.3g} <= {alpha}",
        )
    if expired:
        return verdict(
            "inconclusive",
            f"no significant difference after {elapsed_hours:.1f} h (always-valid p={success_seq.p_value:.3g} "
            f"> {alpha}); the champion stays",
        )
    stats["decision"] = "continue"
    return AbVerdict(
        "continue",
        f"not significant yet (always-valid p={success_seq.p_value:.3g} > {alpha})",
        stats,
        success_seq.p_value,
        error_seq.p_value,
    )
