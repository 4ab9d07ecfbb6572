"""The rehearsal report's statistics and rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import binomtest

from demo.report import FeatureDrift, MlflowVersionRow, ReportData, TimelineMark, VariantRate, render

START = datetime(2026, 11, 26, tzinfo=UTC)
LONG_REASON = "bias gate denied: " + "; ".join(f"gender=F{i} DPPL: 0.18 outside [-0.1, 0.1]" for i in range(12))


def sample(steps: list[tuple[str, bool, str]] | None = None) -> ReportData:
    return ReportData(
        title="Rehearsal <1>",
        environment="dev",
        generated=START,
        timeline=[
            TimelineMark(START + timedelta(seconds=2), "g v1", "Production", "approved by bob"),
            TimelineMark(START, "g v1", "Development", "registered"),
            TimelineMark(START + timedelta(milliseconds=2001), "g v2", "Archived", LONG_REASON),
        ],
        ab_group="ranker",
        ab_rates=[VariantRate("Champion", 100, 1000), VariantRate("Challenger", 140, 1000)],
        ab_summary="The challenger (v2) won.",
        ab_statistics={"p_value": 0.000286, "boundary": 25, "crossed": True},
        drift=[FeatureDrift("amount", 6.4, 0.3), FeatureDrift("hour", 0.01, 0.02)],
        psi_threshold=0.2,
        ks_threshold=0.15,
        ledger_rows=[("t", "g", "2", "Staging", "Archived", "rejected", "arn:aws:iam::1:user/bob", LONG_REASON)],
        steps=steps if steps is not None else [("v1 to Production", True, "ok")],
        mlflow_versions=[
            MlflowVersionRow(
                "recommender-ranker v12",
                RUN_ID,
                f"http://127.0.0.1:5000/#/experiments/3/runs/{RUN_ID}?a=1&b=<2>",
                "recommender-ranker",
                "7",
                {"ndcg_at_10": 0.9921, "rmse": 0.4234},
                "none (Archived when version 8 took over)",
            )
        ],
    )


RUN_ID = "39e06dd8ff624fa5942daa64c99e912a"


def test_the_mlflow_table_links_each_version_to_its_run_escaped() -> None:
    page = render(sample())
    assert f'<a href="http://127.0.0.1:5000/#/experiments/3/runs/{RUN_ID}?a=1&amp;b=&lt;2&gt;">run {RUN_ID}</a>' in page
    assert "recommender-ranker version 7" in page and "ndcg_at_10 0.9921, rmse 0.4234" in page
    assert "Experiment tracking (MLflow)" not in render(ReportData(title="t"))


def test_wilson_interval_matches_scipy() -> None:
    variant = VariantRate("Challenger", successes=130, trials=1000)
    expected = binomtest(130, 1000).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = variant.interval()
    assert low == pytest.approx(expected.low, abs=1e-6) and high == pytest.approx(expected.high, abs=1e-6)
    assert VariantRate("x", 0, 0).interval() == (0.0, 0.0)


def test_render_escapes_text_and_has_every_section() -> None:
    page = render(sample())
    assert "Rehearsal &lt;1&gt;" in page and "<script>" not in page
    assert page.count("<svg") == 3  # A/B, PSI, KS
    assert "Environment <strong>dev</strong>" in page and "generated 2026-11-26 00:00 UTC" in page


def test_verdicts_are_words_per_step_and_overall() -> None:
    # Given one passing and one failing step
    page = render(sample([("v1 to Production", True, "ok"), ("drift", False, "StepFailed: no alarm")]))
    # Then each step and the whole run carry PASS / FAIL as words (no emoji), and the overall verdict is FAIL
    assert re.findall(r'class="verdict"[^>]*>(PASS|FAIL)<', page) == ["FAIL", "PASS", "FAIL"]
    assert "Overall: at least one step misbehaved" in page and "(1 of 2 steps passed)" in page
    assert "✅" not in page and "❌" not in page
    assert "Overall: every step behaved as described" in render(sample())


def test_timeline_is_in_step_order_with_full_labels() -> None:
    page = render(sample())
    rows = re.findall(r'<tr class="mark"><td class="num">(\d+)</td><td class="lane">([^<]*)</td>.*?>(\w+)</span>', page)
    assert rows == [("1", "g v1", "Development"), ("2", "g v1", "Production"), ("3", "g v2", "Archived")]
    assert page.count(LONG_REASON) == 2  # the timeline and the ledger, untruncated


def test_drift_charts_have_their_own_scales_axes_and_values() -> None:
    page = render(sample())
    psi, ks = re.findall(r'<svg[^>]*aria-label="(?:PSI|KS) per feature".*?</svg>', page, re.S)
    # PSI's axis reaches its largest value; KS's axis stays on its own, much smaller scale
    assert ">6.400 above threshold<" in psi and "threshold 0.2" in psi and ">8<" in psi
    assert ">0.300 above threshold<" in ks and "threshold 0.15" in ks and ">6.4" not in ks
    assert max(float(t) for t in re.findall(r'text-anchor="middle">([\d.]+)</text>', ks)) < 1


def test_ab_statistics_are_a_table_not_json() -> None:
    page = render(sample())
    assert "<th scope='row'>p value</th><td>0.000286</td>" in page
    assert "<th scope='row'>crossed</th><td>True</td>" in page
    assert '{"p_value"' not in page and "Challenger: 14.00%" not in page and "14.00% [" in page
