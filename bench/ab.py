"""A/B benchmark: Monte Carlo check of the sequential A/B test's error control and power.

``decisions`` is the evaluator's decision rule (``serving.ab_test.evaluate`` before its maximum
duration) vectorised with NumPy over simulated tests x looks; ``tests/unit/test_ab_validity.py``
checks it against ``evaluate`` look by look, so the figures here are the Lambda's.

- **False positives.** A/A tests (both variants identical) looked at repeatedly, one row per class of
  configuration the schema accepts (its corners: challenger weight 0.01 / 0.99, the schema's minimum
  sample, significance level 0.2, rare and common conversions, high error rates, extreme minimum
  detectable effects, a conversion rate drifting over the test). A false positive is *any* winner
  (challenger by success, champion by success or by the error guardrail). The 95% interval is
  Clopper-Pearson (SciPy). Beside it, a textbook mSPRT (Johari et al.: success test alone at the full
  level, mixture tuned to the same effect, no outcome floor) on the same simulated traffic.
- **Power.** One reference design at relative lifts of 2/5/10/20%: the share of tests the challenger
  wins and the average sample per variant at the decision (undecided tests count the maximum), beside
  a fixed-horizon z-test (one look at the maximum sample) and the textbook mSPRT on the same traffic.

Seeded; nothing is timed against a threshold.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special, stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lambdas"))

from serving.ab_test import (  # noqa: E402
    GUARDRAIL_ALPHA_SHARE,
    GUARDRAIL_ERROR_RATIO,
    MIN_OUTCOMES,
    challenger_share,
)
from serving.statistics import MAX_LOG_LR, guardrail_concentration  # noqa: E402

from mlops_registry.core.config import AbTestPolicy  # noqa: E402

SEED = 20261202
CONTINUE, CHALLENGER, CHAMPION = 0, 1, 2


@dataclass(frozen=True)
class Design:
    label: str
    challenger_weight: float = 0.1
    base_rate: float = 0.10
    error_rate: float = 0.001
    significance_level: float = 0.05
    min_samples_per_variant: int = 1000
    minimum_detectable_effect: float = 0.1
    invocations_per_look: int = 500
    looks: int = 200
    drift_to: float | None = None  # the conversion rate at the last look (linear drift), both variants
    challenger_error_ratio: float = 1.0  # the challenger's 5XX rate over the champion's

    def policy(self) -> AbTestPolicy:
        return AbTestPolicy(
            challenger_weight=self.challenger_weight,
            min_samples_per_variant=self.min_samples_per_variant,
            significance_level=self.significance_level,
            minimum_detectable_effect=self.minimum_detectable_effect,
        )


@dataclass(frozen=True)
class Traffic:
    """Cumulative counts per (test, look), champion (a) and challenger (b)."""

    na: np.ndarray
    nb: np.ndarray
    sa: np.ndarray
    sb: np.ndarray
    ea: np.ndarray
    eb: np.ndarray


def simulate(design: Design, tests: int, lift: float, rng: np.random.Generator) -> Traffic:
    """Random routing at the configured weight; the challenger converts at ``(1 + lift)`` times the rate."""
    shape = (tests, design.looks)
    share = challenger_share(design.policy())
    nb = rng.binomial(design.invocations_per_look, share, size=shape)
    na = design.invocations_per_look - nb
    rate = np.full(design.looks, design.base_rate)
    if design.drift_to is not None:
        rate = np.linspace(design.base_rate, design.drift_to, design.looks)
    sa = rng.binomial(na, rate)
    sb = rng.binomial(nb, np.minimum(rate * (1 + lift), 1.0))
    ea = rng.binomial(na, design.error_rate)
    eb = rng.binomial(nb, min(design.error_rate * design.challenger_error_ratio, 1.0))
    return Traffic(*(np.cumsum(x, axis=1) for x in (na, nb, sa, sb, ea, eb)))


def decisions(traffic: Traffic, policy: AbTestPolicy) -> np.ndarray:
    """The evaluator's decision at every look (CONTINUE / CHALLENGER / CHAMPION), before expiry."""
    na, nb, sa, sb, ea, eb = (np.asarray(x, dtype=np.float64) for x in vars(traffic).values())
    alpha = policy.significance_level
    success_alpha, guardrail_alpha = alpha * (1 - GUARDRAIL_ALPHA_SHARE), alpha * GUARDRAIL_ALPHA_SHARE
    share = challenger_share(policy)
    enough = np.minimum(na, nb) >= policy.min_samples_per_variant
    with np.errstate(divide="ignore", invalid="ignore"):
        concentration = guardrail_concentration(share, GUARDRAIL_ERROR_RATIO)
        a, b = share * concentration, (1 - share) * concentration
        guard_llr = (
            special.betaln(a + eb, b + ea) - special.betaln(a, b) - eb * math.log(share) - ea * math.log1p(-share)
        )
        guard = enough & (eb / nb > ea / na) & (np.minimum(guard_llr, MAX_LOG_LR) >= math.log(1 / guardrail_alpha))
        outcomes = np.minimum.reduce([sa, na - sa, sb, nb - sb]) >= MIN_OUTCOMES
        pooled = (sa + sb) / (na + nb)
        variance = pooled * (1 - pooled) * (1 / na + 1 / nb)
        difference = sb / nb - sa / na
        tau2 = (policy.minimum_detectable_effect * pooled) ** 2
        llr = 0.5 * np.log(variance / (variance + tau2)) + difference**2 * tau2 / (2 * variance * (variance + tau2))
        llr = np.where((variance > 0) & (tau2 > 0), llr, 0.0)
        success = enough & outcomes & (np.minimum(llr, MAX_LOG_LR) >= math.log(1 / success_alpha)) & (difference != 0)
    out = np.full(na.shape, CONTINUE, dtype=np.int8)
    out[success & (difference > 0)] = CHALLENGER
    out[success & (difference < 0)] = CHAMPION
    out[guard] = CHAMPION
    return out


def textbook_msprt(traffic: Traffic, design: Design, true_rate: float) -> np.ndarray:
    """Johari et al.'s mSPRT on success rates alone: full level, tau = effect at the true rate, no floor."""
    na, nb, sa, sb = (np.asarray(x, dtype=np.float64) for x in (traffic.na, traffic.nb, traffic.sa, traffic.sb))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (sa + sb) / (na + nb)
        variance = pooled * (1 - pooled) * (1 / na + 1 / nb)
        difference = sb / nb - sa / na
        tau2 = (design.minimum_detectable_effect * true_rate) ** 2
        llr = 0.5 * np.log(variance / (variance + tau2)) + difference**2 * tau2 / (2 * variance * (variance + tau2))
        crossed = (variance > 0) & (llr >= math.log(1 / design.significance_level))
    out = np.full(na.shape, CONTINUE, dtype=np.int8)
    out[crossed & (difference > 0)] = CHALLENGER
    out[crossed & (difference < 0)] = CHAMPION
    return out


def first_decision(per_look: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(decision, index of the deciding look or -1) per test: the evaluator stops at its first decision."""
    decided = per_look != CONTINUE
    any_decided = decided.any(axis=1)
    index = np.where(any_decided, decided.argmax(axis=1), -1)
    decision = np.where(any_decided, per_look[np.arange(per_look.shape[0]), np.maximum(index, 0)], CONTINUE)
    return decision, index


def clopper_pearson(successes: int, trials: int) -> tuple[float, float]:
    interval = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="exact")
    return float(interval.low), float(interval.high)


FPR_CLASSES = [
    Design("typical: weight 0.1, 1,000 min sample, alpha 0.05"),
    Design("weight 0.01, schema-minimum sample (10), alpha 0.05", challenger_weight=0.01, min_samples_per_variant=10),
    Design(
        "weight 0.01, min sample 10, alpha 0.2 (schema max)",
        challenger_weight=0.01,
        min_samples_per_variant=10,
        significance_level=0.2,
    ),
    Design(
        "weight 0.99, min sample 10, alpha 0.2",
        challenger_weight=0.99,
        min_samples_per_variant=10,
        significance_level=0.2,
    ),
    Design(
        "weight 0.5, min sample 10, alpha 0.2, 40 invocations/look",
        challenger_weight=0.5,
        min_samples_per_variant=10,
        significance_level=0.2,
        invocations_per_look=40,
    ),
    Design(
        "rare conversions (1%), min sample 10, alpha 0.2",
        base_rate=0.01,
        min_samples_per_variant=10,
        significance_level=0.2,
    ),
    Design(
        "common conversions (95%), min sample 10, alpha 0.2",
        base_rate=0.95,
        min_samples_per_variant=10,
        significance_level=0.2,
    ),
    Design(
        "high 5XX rate (5%), weight 0.01, min sample 10, alpha 0.2",
        error_rate=0.05,
        challenger_weight=0.01,
        min_samples_per_variant=10,
        significance_level=0.2,
    ),
    Design(
        "MDE 10 (schema max), min sample 10, alpha 0.2",
        minimum_detectable_effect=10.0,
        min_samples_per_variant=10,
        significance_level=0.2,
    ),
    Design(
        "MDE 0.001 (schema min), min sample 10, alpha 0.2",
        minimum_detectable_effect=0.001,
        min_samples_per_variant=10,
        significance_level=0.2,
    ),
    Design(
        "conversion rate drifting 5% -> 20%, min sample 10, alpha 0.2",
        base_rate=0.05,
        drift_to=0.20,
        min_samples_per_variant=10,
        significance_level=0.2,
    ),
]
FPR_TESTS = 4000
POWER_DESIGN = Design(
    "reference: weight 0.5, conversion 10%, alpha 0.05, MDE 5%, 100 looks x 2,000 invocations",
    challenger_weight=0.5,
    base_rate=0.10,
    minimum_detectable_effect=0.05,
    invocations_per_look=2000,
    looks=100,
)
POWER_TESTS = 2000
LIFTS = (0.02, 0.05, 0.10, 0.20)


def false_positive_row(design: Design, rng: np.random.Generator, tests: int = FPR_TESTS) -> dict[str, Any]:
    traffic = simulate(design, tests, 0.0, rng)
    decision, _ = first_decision(decisions(traffic, design.policy()))
    false = int((decision != CONTINUE).sum())
    textbook, _ = first_decision(textbook_msprt(traffic, design, design.base_rate))
    textbook_false = int((textbook != CONTINUE).sum())
    low, high = clopper_pearson(false, tests)
    return {
        "label": design.label,
        "alpha": design.significance_level,
        "tests": tests,
        "looks": design.looks,
        "false_positives": false,
        "rate": false / tests,
        "ci": (low, high),
        "textbook_rate": textbook_false / tests,
        "textbook_ci": clopper_pearson(textbook_false, tests),
    }


def power_row(design: Design, lift: float, rng: np.random.Generator, tests: int = POWER_TESTS) -> dict[str, Any]:
    traffic = simulate(design, tests, lift, rng)
    per_arm = design.invocations_per_look * np.arange(1, design.looks + 1) / 2

    def summary(per_look: np.ndarray) -> tuple[float, float]:
        decision, index = first_decision(per_look)
        samples = np.where(index >= 0, per_arm[np.maximum(index, 0)], per_arm[-1])
        return float((decision == CHALLENGER).mean()), float(samples.mean())

    ours = summary(decisions(traffic, design.policy()))
    textbook = summary(textbook_msprt(traffic, design, design.base_rate))
    na, nb, sa, sb = (x[:, -1].astype(np.float64) for x in (traffic.na, traffic.nb, traffic.sa, traffic.sb))
    pooled = (sa + sb) / (na + nb)
    z = (sb / nb - sa / na) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    fixed = float((z > stats.norm.ppf(1 - design.significance_level / 2)).mean())
    return {"lift": lift, "power": ours[0], "samples": ours[1], "textbook": textbook, "fixed": fixed}


def run() -> dict[str, Any]:
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    fpr = [false_positive_row(design, rng) for design in FPR_CLASSES]
    power = [power_row(POWER_DESIGN, lift, rng) for lift in LIFTS]
    return {
        "fpr": fpr,
        "power": power,
        "max_per_variant": POWER_DESIGN.invocations_per_look * POWER_DESIGN.looks // 2,
        "seconds": time.perf_counter() - started,
    }


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"== A/B test: Monte Carlo (seed {SEED}, {figures['seconds']:.1f} s)",
        f"false positives under A/A with repeated looks ({FPR_TESTS:,} tests per class; any winner counts):",
        f"{'configuration class':<64} {'alpha':>5} {'looks':>5}  {'FPR [95% CI]':<22} {'textbook mSPRT':<22}",
    ]
    for row in figures["fpr"]:
        low, high = row["ci"]
        t_low, t_high = row["textbook_ci"]
        lines.append(
            f"{row['label']:<64} {row['alpha']:>5.2f} {row['looks']:>5}  "
            f"{row['rate']:.4f} [{low:.4f}, {high:.4f}]  {row['textbook_rate']:.4f} [{t_low:.4f}, {t_high:.4f}]"
        )
    lines += [
        f"power ({POWER_DESIGN.label}; max {figures['max_per_variant']:,} per variant; {POWER_TESTS:,} tests per lift):",
        f"{'lift':>5}  {'this test':>9} {'avg n/variant':>13}  {'textbook mSPRT':>14} {'avg n/variant':>13}  "
        f"{'fixed-horizon z':>15} {'n/variant':>9}",
    ]
    for row in figures["power"]:
        lines.append(
            f"{row['lift']:>5.0%}  {row['power']:>9.1%} {row['samples']:>13,.0f}  {row['textbook'][0]:>14.1%} "
            f"{row['textbook'][1]:>13,.0f}  {row['fixed']:>15.1%} {figures['max_per_variant']:>9,}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
