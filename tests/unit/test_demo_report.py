"""The rehearsal report's statistics and rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import binomtest

from demo.report import FeatureDrift, ReportData, TimelineMark, VariantRate, render


def test_wilson_interval_matches_scipy() -> None:
    variant = VariantRate("Challenger", successes=130, trials=1000)
    expected = binomtest(130, 1000).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = variant.interval()
    assert low == pytest.approx(expected.low, abs=1e-6) and high == pytest.approx(expected.high, abs=1e-6)
    assert VariantRate("x", 0, 0).interval() == (0.0, 0.0)


def test_render_contains_every_section_and_escapes_text() -> None:
    start = datetime(2026, 11, 26, tzinfo=UTC)
    data = ReportData(
        title="Rehearsal <1>",
        timeline=[
            TimelineMark(start, "g v1", "Development", "registered"),
            TimelineMark(start + timedelta(seconds=2), "g v1", "Production", "approved"),
        ],
        ab_rates=[VariantRate("Champion", 100, 1000), VariantRate("Challenger", 140, 1000)],
        drift=[FeatureDrift("amount", 0.4, 0.3), FeatureDrift("hour", 0.01, 0.02)],
        ledger_rows=[("t", "g", "1", "-", "Development", "entered", "alice", "<script>")],
        steps=[("v1 to Production", True, "ok")],
    )
    page = render(data)
    assert "Rehearsal &lt;1&gt;" in page and "&lt;script&gt;" in page and "<script>" not in page
    assert page.count("<svg") == 3
    assert "PSI threshold 0.2" in page and "Challenger: 14.00%" in page
