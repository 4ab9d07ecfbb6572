"""The A/B decision rules: minimum sample, maximum duration, error guardrail, weights."""

from __future__ import annotations

import pytest
from serving.ab_test import AbInputError, VariantCounts, evaluate, final_weights, initial_weights, traffic_share

from mlops_registry.core.config import AbTestPolicy

POLICY = AbTestPolicy(
    challenger_weight=0.2, min_samples_per_variant=500, significance_level=0.05, max_duration_hours=168
)


def counts(invocations: int, successes: int, errors: int = 0) -> VariantCounts:
    return VariantCounts(invocations=invocations, successes=successes, errors=errors, latency_ms=40.0)


def test_no_decision_below_the_minimum_sample_even_with_a_huge_effect() -> None:
    verdict = evaluate(counts(4000, 100), counts(499, 400), POLICY, elapsed_hours=10)
    assert verdict.decision == "continue"
    assert verdict.statistics["samples_short"] == {"Champion": 0, "Challenger": 1}


def test_minimum_sample_not_reached_by_the_maximum_duration_is_inconclusive() -> None:
    verdict = evaluate(counts(4000, 100), counts(120, 20), POLICY, elapsed_hours=168)
    assert verdict.decision == "inconclusive" and verdict.winner == "Champion"
    assert "minimum sample of 500" in verdict.reason


def test_clear_winner_and_clear_loser() -> None:
    won = evaluate(counts(4000, 400), counts(1000, 160), POLICY, elapsed_hours=5)
    assert (won.decision, won.winner) == ("challenger", "Challenger")
    assert won.statistics["success"]["effect"] == pytest.approx(0.06)
    assert won.statistics["success"]["fixed_horizon_z_test"]["p_value"] < won.success_p_value <= 0.04
    assert won.statistics["alpha_split"] == {"success": pytest.approx(0.04), "error_guardrail": pytest.approx(0.01)}
    lost = evaluate(counts(4000, 480), counts(1000, 60), POLICY, elapsed_hours=5)
    assert (lost.decision, lost.winner) == ("champion", "Champion")


def test_small_difference_continues_then_is_inconclusive_at_the_maximum_duration() -> None:
    early = evaluate(counts(2400, 240), counts(600, 61), POLICY, elapsed_hours=2)
    assert early.decision == "continue" and 0.05 < early.success_p_value <= 1.0
    late = evaluate(
        counts(2400, 240), counts(600, 61), POLICY, elapsed_hours=168.5, previous_success_p=early.success_p_value
    )
    assert late.decision == "inconclusive" and "the champion stays" in late.reason


def test_an_earlier_look_never_decides_for_the_current_one() -> None:
    # Given an earlier look's tiny always-valid p-value, When the current counts are not significant
    verdict = evaluate(counts(2400, 240), counts(600, 61), POLICY, elapsed_hours=2, previous_success_p=0.001)
    # Then the test continues (the p-value is still reported as the running minimum)
    assert verdict.decision == "continue" and verdict.success_p_value == 0.001


def test_challenger_with_significantly_more_5xx_loses_whatever_its_success_rate() -> None:
    verdict = evaluate(counts(4000, 400, errors=4), counts(1000, 200, errors=40), POLICY, elapsed_hours=1)
    assert verdict.decision == "champion" and "5XX" in verdict.reason


def test_the_guardrail_is_judged_on_current_counts_not_a_remembered_crossing() -> None:
    # Given a first look where the challenger had significantly FEWER errors
    first = evaluate(counts(4000, 400, errors=200), counts(1000, 100, errors=1), POLICY, elapsed_hours=1)
    assert first.decision == "continue"
    assert first.statistics["errors"]["guardrail"]["likelihood_ratio"] >= 100  # significant, the good way
    # When a later look has the challenger with slightly (not significantly) more errors
    later = evaluate(
        counts(8000, 800, errors=200),
        counts(2000, 200, errors=52),
        POLICY,
        elapsed_hours=2,
        previous_success_p=first.success_p_value,
        previous_error_p=first.error_p_value,
    )
    # Then the champion is not declared the winner
    assert later.decision == "continue", later.reason


def test_no_success_decision_before_each_variant_has_enough_outcomes() -> None:
    # 1000 invocations each but only 3 conversions on the champion: the normal approximation does not hold yet
    verdict = evaluate(counts(1000, 3), counts(1000, 40), POLICY, elapsed_hours=1)
    assert verdict.decision == "continue" and verdict.reason.startswith("collecting outcomes")
    assert verdict.statistics["success"]["outcomes_short"] == {"Champion": 7, "Challenger": 0}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: counts(-1, 0), "invocations must not be negative, got -1"),
        (lambda: VariantCounts(10, float("nan"), 0), "successes must be an integer count, got nan"),  # type: ignore[arg-type]
        (lambda: VariantCounts(10, 1, float("inf")), "errors must be an integer count, got inf"),  # type: ignore[arg-type]
        (lambda: VariantCounts(10, 1, 0, latency_ms=float("nan")), "latency_ms must be a finite"),
        (
            lambda: evaluate(counts(10, 1), counts(10, 1), POLICY, elapsed_hours=float("nan")),
            "elapsed_hours must be a finite number, got nan",
        ),
        (
            lambda: evaluate(counts(10, 1), counts(10, 1), POLICY, elapsed_hours=-1.0),
            "elapsed_hours must not be negative, got -1.0",
        ),
        (
            lambda: evaluate(
                counts(10, 1), counts(10, 1), POLICY.model_copy(update={"min_samples_per_variant": 0}), 1.0
            ),
            "policy.min_samples_per_variant must be >= 1, got 0",
        ),
        (
            lambda: evaluate(counts(10, 1), counts(10, 1), POLICY.model_copy(update={"significance_level": 1.0}), 1.0),
            r"policy.significance_level must be a finite number in \(0, 1\), got 1.0",
        ),
        (
            lambda: evaluate(
                counts(10, 1), counts(10, 1), POLICY.model_copy(update={"max_duration_hours": float("nan")}), 1.0
            ),
            "policy.max_duration_hours must be a finite number",
        ),
        (
            lambda: evaluate(
                counts(10, 1), counts(10, 1), POLICY.model_copy(update={"minimum_detectable_effect": 0.0}), 1.0
            ),
            r"policy.minimum_detectable_effect must be a finite number in \(0, 10.0\], got 0.0",
        ),
    ],
)
def test_bad_inputs_are_refused_naming_the_field_and_value(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AbInputError, match=message):
        build()


def test_success_counts_above_invocations_are_capped_and_reported() -> None:
    verdict = evaluate(counts(1000, 100), counts(1000, 1200), POLICY, elapsed_hours=1)
    assert verdict.statistics["data_warnings"] == ["Challenger: successes 1200 exceeds invocations 1000; capped"]


def test_weight_arithmetic() -> None:
    assert initial_weights(0.2) == {"Champion": 0.8, "Challenger": 0.2}
    assert sum(initial_weights(0.3333333).values()) == pytest.approx(1.0)
    assert final_weights("Challenger") == {"Champion": 0.0, "Challenger": 1.0}
    assert final_weights("Champion") == {"Champion": 1.0, "Challenger": 0.0}
    assert traffic_share({"Champion": 3.0, "Challenger": 1.0}) == {"Champion": 0.75, "Challenger": 0.25}
    with pytest.raises(ValueError, match="challenger_weight"):
        initial_weights(1.0)
    with pytest.raises(ValueError, match="winner"):
        final_weights("Primary")
    with pytest.raises(ValueError, match="positive"):
        traffic_share({"Champion": 0.0, "Challenger": 0.0})
