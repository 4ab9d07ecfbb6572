"""The A/B test's error control, checked by simulation (seeded) on corners of the accepted configuration.

The simulation is ``bench.ab`` (vectorised NumPy); the first test proves it makes the same decision as
the Lambda's ``evaluate`` at every look, so the rates below are the Lambda's. The intervals are
Clopper-Pearson from SciPy.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from serving.ab_test import VariantCounts, evaluate

from bench.ab import CHALLENGER, CHAMPION, CONTINUE, Design, clopper_pearson, decisions, first_decision, simulate

CODES = {"continue": CONTINUE, "challenger": CHALLENGER, "champion": CHAMPION}


@pytest.mark.parametrize(
    ("design", "lift", "expected"),
    [
        (
            Design("weight 0.01", challenger_weight=0.01, base_rate=0.3, min_samples_per_variant=10, looks=40),
            1.0,
            CHALLENGER,
        ),
        (Design("even split", challenger_weight=0.5, min_samples_per_variant=50, looks=40), 0.3, CHALLENGER),
        (
            Design("weight 0.99", challenger_weight=0.99, base_rate=0.3, min_samples_per_variant=10, looks=40),
            -0.7,
            CHAMPION,
        ),
        (
            Design(
                "errors",
                challenger_weight=0.2,
                error_rate=0.01,
                challenger_error_ratio=3.0,
                min_samples_per_variant=10,
                looks=40,
            ),
            0.0,
            CHAMPION,
        ),
    ],
    ids=["weight 0.01", "even split", "weight 0.99, worse challenger", "errors"],
)
def test_the_vectorised_rule_is_the_lambdas_rule_look_by_look(design: Design, lift: float, expected: int) -> None:
    # Given simulated traffic with a real effect (so the decisions under test occur)
    traffic = simulate(design, 12, lift, np.random.default_rng(3))
    vectorised = decisions(traffic, design.policy())
    # When the Lambda's evaluate looks at the same counts
    for test in range(12):
        for look in range(design.looks):
            champion = VariantCounts(
                int(traffic.na[test, look]), int(traffic.sa[test, look]), int(traffic.ea[test, look])
            )
            challenger = VariantCounts(
                int(traffic.nb[test, look]), int(traffic.sb[test, look]), int(traffic.eb[test, look])
            )
            verdict = evaluate(champion, challenger, design.policy(), elapsed_hours=0.0)
            # Then both decide the same
            assert CODES[verdict.decision] == vectorised[test, look], (test, look, verdict.reason)
    assert expected in set(np.unique(vectorised).tolist())


VALIDITY = [
    Design(
        "weight 0.01, min sample 10, alpha 0.2",
        challenger_weight=0.01,
        min_samples_per_variant=10,
        significance_level=0.2,
        looks=100,
    ),
    Design(
        "common conversions, alpha 0.2", base_rate=0.95, min_samples_per_variant=10, significance_level=0.2, looks=100
    ),
    Design(
        "even split, 40 invocations per look, alpha 0.2",
        challenger_weight=0.5,
        min_samples_per_variant=10,
        significance_level=0.2,
        invocations_per_look=40,
        looks=100,
    ),
    Design("typical, alpha 0.05", looks=100),
]


@pytest.mark.parametrize("design", VALIDITY, ids=lambda d: d.label)
def test_false_positive_rate_under_repeated_looks_stays_below_alpha(design: Design) -> None:
    # Given 2,000 A/A tests looked at 100 times each
    traffic = simulate(design, 2000, 0.0, np.random.default_rng(20261202))
    # When each stops at its first decision
    decision, _ = first_decision(decisions(traffic, design.policy()))
    false_positives = int((decision != CONTINUE).sum())
    # Then even the upper end of the 95% interval of the false-positive rate is below alpha
    _, upper = clopper_pearson(false_positives, 2000)
    assert upper <= design.significance_level, (false_positives, upper)


def test_the_naive_z_test_on_the_same_traffic_is_not_valid() -> None:
    # The control: the same simulation, peeking at a fixed-horizon z-test, exceeds alpha many times over
    design = VALIDITY[-1]
    traffic = simulate(design, 1000, 0.0, np.random.default_rng(1))
    na, nb, sa, sb = (x.astype(float) for x in (traffic.na, traffic.nb, traffic.sa, traffic.sb))
    pooled = (sa + sb) / (na + nb)
    z = (sb / nb - sa / na) / np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
    peeking = (np.abs(z) > stats.norm.ppf(1 - design.significance_level / 2)).any(axis=1).mean()
    assert peeking > 3 * design.significance_level


def test_the_test_detects_a_lift_it_is_tuned_to() -> None:
    design = Design("power", challenger_weight=0.5, minimum_detectable_effect=0.2, invocations_per_look=2000, looks=50)
    traffic = simulate(design, 500, 0.2, np.random.default_rng(11))
    decision, _ = first_decision(decisions(traffic, design.policy()))
    assert (decision == CHALLENGER).mean() > 0.9
