"""The rehearsal's HTML report: a self-contained page with inline SVG charts (no external assets).

Charts: the lifecycle timeline (one lane per version, a mark per stage change), the A/B test's
success rates with 95% confidence intervals, and drift per feature (PSI and KS against thresholds).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

STAGE_COLOURS = {
    "Development": "#6c757d",
    "Staging": "#f0ad4e",
    "Production": "#28a745",
    "Archived": "#343a40",
    "RolledBack": "#dc3545",
    "Rejected": "#dc3545",
    "Failed": "#dc3545",
}


@dataclass(frozen=True)
class TimelineMark:
    at: datetime
    lane: str  # e.g. "churn-classifier v1"
    stage: str
    label: str


@dataclass(frozen=True)
class VariantRate:
    variant: str
    successes: int
    trials: int

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    def interval(self, z: float = 1.959964) -> tuple[float, float]:
        """Wilson score interval (well-behaved near 0 and 1)."""
        if not self.trials:
            return 0.0, 0.0
        n, p = self.trials, self.rate
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    ks: float


@dataclass
class ReportData:
    title: str
    timeline: list[TimelineMark] = field(default_factory=list)
    ab_rates: list[VariantRate] = field(default_factory=list)
    ab_summary: str = ""
    drift: list[FeatureDrift] = field(default_factory=list)
    psi_threshold: float = 0.2
    ks_threshold: float = 0.2
    ledger_rows: list[Sequence[str]] = field(default_factory=list)
    steps: list[tuple[str, bool, str]] = field(default_factory=list)


def _svg(width: int, height: int, body: str) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">{body}</svg>'


def timeline_chart(marks: Sequence[TimelineMark]) -> str:
    if not marks:
        return "<p>No stage changes.</p>"
    lanes = list(dict.fromkeys(m.lane for m in marks))
    start, end = min(m.at for m in marks), max(m.at for m in marks)
    span = max((end - start).total_seconds(), 1e-3)
    left, width, lane_h = 170, 900, 34
    body = []
    for index, lane in enumerate(lanes):
        y = 20 + index * lane_h
        body.append(f'<text x="5" y="{y + 4}">{html.escape(lane)}</text>')
        body.append(f'<line x1="{left}" y1="{y}" x2="{left + width}" y2="{y}" stroke="#ddd"/>')
        for mark in (m for m in marks if m.lane == lane):
            x = left + width * (mark.at - start).total_seconds() / span
            colour = STAGE_COLOURS.get(mark.stage, "#007bff")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y}" r="6" fill="{colour}"><title>{html.escape(mark.label)} '
                f"at {mark.at.isoformat()}</title></circle>"
            )
            body.append(f'<text x="{x + 8:.1f}" y="{y - 8}" fill="{colour}">{html.escape(mark.stage)}</text>')
    height = 30 + len(lanes) * lane_h
    body.append(f'<text x="{left}" y="{height - 2}" fill="#666">{start:%H:%M:%S.%f}</text>')
    body.append(f'<text x="{left + width - 120}" y="{height - 2}" fill="#666">{end:%H:%M:%S.%f}</text>')
    return _svg(left + width + 40, height + 5, "".join(body))


def ab_chart(rates: Sequence[VariantRate]) -> str:
    if not rates:
        return "<p>No A/B test.</p>"
    top = max(v.interval()[1] for v in rates) * 1.15 or 1.0
    height, bar_w, gap, base = 220, 120, 80, 190
    body = []
    for index, variant in enumerate(rates):
        x = 60 + index * (bar_w + gap)
        h = (base - 20) * variant.rate / top
        low, high = variant.interval()
        y_low, y_high = base - (base - 20) * low / top, base - (base - 20) * high / top
        body.append(f'<rect x="{x}" y="{base - h:.1f}" width="{bar_w}" height="{h:.1f}" fill="#4e79a7"/>')
        body.append(
            f'<line x1="{x + bar_w / 2}" y1="{y_low:.1f}" x2="{x + bar_w / 2}" y2="{y_high:.1f}" stroke="#000" stroke-width="2"/>'
        )
        for y in (y_low, y_high):
            body.append(
                f'<line x1="{x + bar_w / 2 - 10}" y1="{y:.1f}" x2="{x + bar_w / 2 + 10}" y2="{y:.1f}" stroke="#000" stroke-width="2"/>'
            )
        body.append(
            f'<text x="{x}" y="{base + 15}">{html.escape(variant.variant)}: {variant.rate:.2%} ({variant.successes}/{variant.trials})</text>'
        )
        body.append(f'<text x="{x}" y="{y_high - 5:.1f}">95% CI {low:.2%} – {high:.2%}</text>')
    return _svg(60 + len(rates) * (bar_w + gap), height, "".join(body))


def drift_chart(drift: Sequence[FeatureDrift], psi_threshold: float, ks_threshold: float) -> str:
    if not drift:
        return "<p>No drift statistics.</p>"
    top = max([d.psi for d in drift] + [d.ks for d in drift] + [psi_threshold, ks_threshold]) * 1.15
    left, bar_w, group_w, base, height = 50, 22, 90, 200, 240
    body = []
    for index, item in enumerate(drift):
        x = left + index * group_w
        for offset, (value, colour, threshold) in enumerate(
            ((item.psi, "#e15759", psi_threshold), (item.ks, "#76b7b2", ks_threshold))
        ):
            h = (base - 20) * value / top
            breached = " stroke='#000' stroke-width='2'" if value > threshold else ""
            body.append(
                f'<rect x="{x + offset * bar_w}" y="{base - h:.1f}" width="{bar_w - 2}" height="{h:.1f}" fill="{colour}"{breached}/>'
            )
        body.append(f'<text x="{x}" y="{base + 14}" font-size="9">{html.escape(item.feature[:14])}</text>')
    for threshold, colour, name in ((psi_threshold, "#e15759", "PSI"), (ks_threshold, "#76b7b2", "KS")):
        y = base - (base - 20) * threshold / top
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + len(drift) * group_w}" y2="{y:.1f}" stroke="{colour}" stroke-dasharray="4 3"/>'
        )
        body.append(
            f'<text x="{left + len(drift) * group_w + 4}" y="{y + 4:.1f}" fill="{colour}">{name} threshold {threshold:g}</text>'
        )
    return _svg(left + len(drift) * group_w + 150, height, "".join(body))


def render(data: ReportData) -> str:
    steps = "".join(
        f"<tr><td>{'✅' if ok else '❌'}</td><td>{html.escape(name)}</td><td>{html.escape(detail)}</td></tr>"
        for name, ok, detail in data.steps
    )
    ledger = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in data.ledger_rows
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(data.title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:3px 6px;vertical-align:top}} h2{{margin-top:1.6em}}</style></head>
<body><h1>{html.escape(data.title)}</h1>
<h2>Steps</h2><table><tr><th></th><th>step</th><th>outcome</th></tr>{steps}</table>
<h2>Lifecycle timeline</h2>{timeline_chart(data.timeline)}
<h2>A/B test: success rate per variant (95% Wilson intervals)</h2>{ab_chart(data.ab_rates)}<p>{html.escape(data.ab_summary)}</p>
<h2>Drift per feature (PSI, KS)</h2>{drift_chart(data.drift, data.psi_threshold, data.ks_threshold)}
<h2>Audit ledger</h2><table><tr><th>time</th><th>group</th><th>version</th><th>from</th><th>to</th><th>decision</th><th>actor</th><th>reason</th></tr>{ledger}</table>
</body></html>"""
