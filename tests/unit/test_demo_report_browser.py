"""The report laid out by a real headless browser (Debian's Chromium): no overlapping chart text, nothing
sticking out of the page, timeline rows apart, verdicts visible, at a desktop and a phone width.

CI installs Chromium (``.ci/run``); elsewhere the tests skip when no browser is installed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from demo import layout_check
from demo.report import FeatureDrift, render
from tests.unit.test_demo_report import sample

try:
    layout_check.browser()
    HAVE_BROWSER = True
except layout_check.BrowserUnavailable:
    HAVE_BROWSER = False

needs_browser = pytest.mark.skipif(
    not HAVE_BROWSER and not os.environ.get("CI"), reason="no Chromium here (apt-get install chromium)"
)


@needs_browser
@pytest.mark.parametrize("width", [1280, 420])
def test_the_report_lays_out_without_overlaps(tmp_path: Path, width: int) -> None:
    # Given a report with long labels and many features
    data = sample()
    data.drift = [FeatureDrift(f"feature_with_a_long_name_{i}", 0.05 * i, 0.02 * i) for i in range(12)]
    page = tmp_path / "report.html"
    page.write_text(render(data))
    # When the browser lays it out
    measured = layout_check.measure(page, width)
    # Then nothing overlaps or overflows, and both verdicts (step, overall) are visible
    assert measured["problems"] == [], measured["problems"]
    assert measured["charts"] == 3 and measured["verdicts"] == 2


@needs_browser
def test_the_check_finds_overlapping_labels_and_overflow(tmp_path: Path) -> None:
    # Given a page with two labels drawn on top of each other and a fixed-width table wider than the window
    page = tmp_path / "broken.html"
    page.write_text(
        '<html><body><svg aria-label="clock timeline" width="300" height="50">'
        '<text x="10" y="20">Staging</text><text x="14" y="22">Production</text></svg>'
        '<table style="width:2000px"><tr><td>wide</td></tr></table></body></html>'
    )
    # Then the check reports both
    problems = layout_check.measure(page, 800)["problems"]
    assert any("'Staging' overlaps 'Production'" in p for p in problems), problems
    assert any("sticks out of the page" in p for p in problems), problems
