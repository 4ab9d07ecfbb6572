"""The rehearsal's HTML report: a self-contained page a reviewer reads (no external assets, no script).

- a verdict in words, per step and overall (PASS / FAIL, coloured, never a symbol alone), with the
  environment and the date;
- the lifecycle timeline in step order: one row per stage change (ordinal, not clock time), so labels
  never overlap at any width; the stage is a coloured badge in its own column;
- the A/B test: success rate per variant with 95% Wilson intervals (SVG with an axis and values), the
  decision in words and the statistics in a table;
- drift per feature: PSI and KS each on its own chart and scale, with axis ticks, the value of every bar
  and the threshold;
- the versions registered from MLflow runs, each linked to its run, with the MLflow aliases;
- the audit ledger with full reasons and actors.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlops_registry.core.contracts import STAGE_ARCHIVED, STAGE_PRODUCTION

STAGE_COLOURS = {
    "Development": "#6c757d",
    "Staging": "#f0ad4e",
    STAGE_PRODUCTION: "#28a745",
    STAGE_ARCHIVED: "#343a40",
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
class MlflowVersionRow:
    """A version registered from an MLflow run: where its run lives and what MLflow shows for it."""

    lane: str  # e.g. "churn-classifier v5"
    run_id: str
    link: str  # the run in the MLflow UI
    model: str
    model_version: str
    metrics: dict[str, float]
    aliases: str  # the MLflow aliases after the last promotion, in words


@dataclass
class ReportData:
    title: str
    environment: str = ""
    generated: datetime | None = None
    timeline: list[TimelineMark] = field(default_factory=list)
    ab_group: str = ""
    ab_rates: list[VariantRate] = field(default_factory=list)
    ab_summary: str = ""
    ab_statistics: dict[str, Any] = field(default_factory=dict)
    drift_group: str = ""
    drift: list[FeatureDrift] = field(default_factory=list)
    psi_threshold: float = 0.2
    ks_threshold: float = 0.2
    ledger_rows: list[Sequence[str]] = field(default_factory=list)
    steps: list[tuple[str, bool, str]] = field(default_factory=list)
    mlflow_versions: list[MlflowVersionRow] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(ok for _, ok, _ in self.steps)


PASS_COLOUR, FAIL_COLOUR = "#1e7e34", "#b21f2d"


def verdict(ok: bool) -> str:
    """PASS / FAIL as a word on a coloured badge (readable without colour and without an emoji font)."""
    word, colour = ("PASS", PASS_COLOUR) if ok else ("FAIL", FAIL_COLOUR)
    return f'<span class="verdict" style="background:{colour}">{word}</span>'


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{html.escape(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" style="max-width:100%;height:auto" '
        f'font-family="sans-serif" font-size="12">{body}</svg>'
    )


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [round(i * step, 10) for i in range(count + 2) if i * step <= top + step * 0.999][: count + 2]


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def timeline_table(marks: Sequence[TimelineMark]) -> str:
    """Stage changes in the order they happened: one row each, so no label can overlap another."""
    if not marks:
        return "<p>No stage changes.</p>"
    ordered = sorted(enumerate(marks), key=lambda item: (item[1].at, item[0]))
    rows = []
    for step, (_, mark) in enumerate(ordered, start=1):
        colour = STAGE_COLOURS.get(mark.stage, "#0b5ed7")
        rows.append(
            f'<tr class="mark"><td class="num">{step}</td><td class="lane">{html.escape(mark.lane)}</td>'
            f'<td><span class="stage" style="background:{colour}">{html.escape(mark.stage)}</span></td>'
            f'<td class="label">{html.escape(mark.label)}</td></tr>'
        )
    return (
        '<table class="timeline"><thead><tr><th>#</th><th>version</th><th>stage</th><th>what happened</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def ab_chart(rates: Sequence[VariantRate]) -> str:
    """Horizontal bars: success rate per variant with its 95% interval, an axis in percent, the values."""
    if not rates:
        return "<p>No A/B test.</p>"
    top = max(v.interval()[1] for v in rates) * 1.1 or 1.0
    ticks = _ticks(top)
    top = ticks[-1]
    left, plot_w, row_h, pad = 150, 420, 36, 30
    height = pad + len(rates) * row_h + 40
    scale = plot_w / top
    body = [f'<line x1="{left}" y1="{pad - 6}" x2="{left}" y2="{pad + len(rates) * row_h}" stroke="#333"/>']
    for tick in ticks:
        x = left + tick * scale
        y = pad + len(rates) * row_h
        body.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" stroke="#333"/>')
        body.append(f'<text x="{x:.1f}" y="{y + 18}" text-anchor="middle">{tick:.0%}</text>')
    body.append(f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" fill="#444">success rate</text>')
    for index, variant in enumerate(rates):
        y = pad + index * row_h + 6
        low, high = variant.interval()
        body.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{html.escape(variant.variant)}</text>')
        body.append(f'<rect x="{left}" y="{y}" width="{variant.rate * scale:.1f}" height="20" fill="#4e79a7"/>')
        body.append(
            f'<line x1="{left + low * scale:.1f}" y1="{y + 10}" x2="{left + high * scale:.1f}" y2="{y + 10}" '
            'stroke="#000" stroke-width="2"/>'
        )
        body.append(
            f'<text x="{left + high * scale + 6:.1f}" y="{y + 14}">{variant.rate:.2%} '
            f"[{low:.2%}, {high:.2%}] ({variant.successes:,}/{variant.trials:,})</text>"
        )
    return _svg(left + plot_w + 260, height, "".join(body), "A/B success rate per variant")


def drift_chart(drift: Sequence[FeatureDrift], statistic: str, threshold: float) -> str:
    """One statistic (PSI or KS) per feature on its own scale: axis ticks, every value, the threshold."""
    if not drift:
        return "<p>No drift statistics.</p>"
    values = [(d.feature, d.psi if statistic == "PSI" else d.ks) for d in drift]
    ticks = _ticks(max([v for _, v in values] + [threshold]) * 1.05)
    top = ticks[-1]
    left, plot_w, row_h, pad = 170, 380, 24, 14
    height = pad + len(values) * row_h + 44
    scale = plot_w / top
    axis_y = pad + len(values) * row_h
    body = [f'<line x1="{left}" y1="{pad - 4}" x2="{left}" y2="{axis_y}" stroke="#333"/>']
    body.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#333"/>')
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="#333"/>')
        body.append(f'<text x="{x:.1f}" y="{axis_y + 18}" text-anchor="middle">{_number(tick)}</text>')
    body.append(f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" fill="#444">{statistic}</text>')
    for index, (feature, value) in enumerate(values):
        y = pad + index * row_h + 3
        breached = value > threshold
        colour = FAIL_COLOUR if breached else "#4e79a7"
        body.append(f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{html.escape(feature)}</text>')
        body.append(f'<rect x="{left}" y="{y}" width="{value * scale:.1f}" height="17" fill="{colour}"/>')
        note = " above threshold" if breached else ""
        body.append(f'<text x="{left + value * scale + 6:.1f}" y="{y + 13}">{value:.3f}{note}</text>')
    x = left + threshold * scale
    body.append(f'<line x1="{x:.1f}" y1="{pad - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#000" stroke-dasharray="5 3"/>')
    body.append(f'<text x="{left + plot_w + 10}" y="{pad + 8}" fill="#000">threshold {threshold:g} (dashed)</text>')
    return _svg(left + plot_w + 230, height, "".join(body), f"{statistic} per feature")


def _statistics_table(statistics: dict[str, Any]) -> str:
    if not statistics:
        return ""
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(str(key).replace('_', ' '))}</th>"
        f"<td>{html.escape(_number(value) if isinstance(value, float) else str(value))}</td></tr>"
        for key, value in statistics.items()
    )
    return f'<table class="stats"><caption>Test statistics (from the ledger)</caption>{rows}</table>'


def mlflow_table(rows: Sequence[MlflowVersionRow]) -> str:
    """Each version registered from a run, linked to its run, with what MLflow shows for it."""
    if not rows:
        return ""
    body = "".join(
        f'<tr><td class="lane">{html.escape(r.lane)}</td>'
        f'<td><a href="{html.escape(r.link, quote=True)}">run {html.escape(r.run_id)}</a></td>'
        f"<td>{html.escape(r.model)} version {html.escape(r.model_version)}</td>"
        f"<td>{html.escape(', '.join(f'{k} {v:.4f}' for k, v in r.metrics.items()))}</td>"
        f"<td>{html.escape(r.aliases)}</td></tr>"
        for r in rows
    )
    return (
        "<h2>Experiment tracking (MLflow): versions and their runs</h2>"
        "<p>Links open the run on the rehearsal's MLflow server (stopped when the rehearsal ends).</p>"
        '<table class="mlflow"><thead><tr><th>version</th><th>MLflow run</th><th>MLflow model version</th>'
        f"<th>metrics logged</th><th>MLflow aliases</th></tr></thead><tbody>{body}</tbody></table>"
    )


def render(data: ReportData) -> str:
    generated = data.generated or datetime.now(UTC)
    passed = sum(1 for _, ok, _ in data.steps if ok)
    steps = "".join(
        f"<tr><td>{verdict(ok)}</td><td>{html.escape(name)}</td><td class='detail'>{html.escape(detail)}</td></tr>"
        for name, ok, detail in data.steps
    )
    ledger = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in data.ledger_rows
    )
    overall = (
        f'<p class="overall">{verdict(data.passed)} <strong>Overall: '
        f"{'every step behaved as described' if data.passed else 'at least one step misbehaved'}</strong> "
        f"({passed} of {len(data.steps)} steps passed)</p>"
    )
    ab_title = f" ({html.escape(data.ab_group)})" if data.ab_group else ""
    drift_title = f" ({html.escape(data.drift_group)})" if data.drift_group else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(data.title)}</title>
<style>
body{{font-family:sans-serif;margin:1.5em;max-width:1200px;color:#212529}}
table{{border-collapse:collapse;font-size:13px;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left;overflow-wrap:break-word}}
th,.lane,.num{{white-space:nowrap}} .label,.detail,.ledger td,.mlflow td{{overflow-wrap:anywhere}} .mlflow th{{white-space:normal}}
h2{{margin-top:1.6em}} .meta{{color:#444}}
.verdict,.stage{{display:inline-block;color:#fff;font-weight:bold;padding:2px 8px;border-radius:3px;white-space:nowrap}}
.overall{{font-size:16px}} .num{{text-align:right}} .charts{{display:flex;flex-wrap:wrap;gap:1.5em}}
.charts figure{{margin:0;max-width:100%}} figcaption{{font-weight:bold;margin-bottom:.3em}}
</style></head>
<body><h1>{html.escape(data.title)}</h1>
<p class="meta">Environment <strong>{html.escape(data.environment or "-")}</strong> · generated {generated:%Y-%m-%d %H:%M UTC}</p>
{overall}
<h2>Steps</h2><table class="steps"><thead><tr><th>verdict</th><th>step</th><th>outcome</th></tr></thead><tbody>{steps}</tbody></table>
<h2>Lifecycle timeline, in step order</h2>{timeline_table(data.timeline)}
<h2>A/B test{ab_title}: success rate per variant (95% Wilson intervals)</h2>{ab_chart(data.ab_rates)}
<p>{html.escape(data.ab_summary)}</p>{_statistics_table(data.ab_statistics)}
<h2>Drift per feature{drift_title}</h2><div class="charts">
<figure><figcaption>Population stability index (PSI)</figcaption>{drift_chart(data.drift, "PSI", data.psi_threshold)}</figure>
<figure><figcaption>Kolmogorov-Smirnov statistic (KS)</figcaption>{drift_chart(data.drift, "KS", data.ks_threshold)}</figure></div>
{mlflow_table(data.mlflow_versions)}
<h2>Audit ledger</h2><table class="ledger"><thead><tr><th>time</th><th>group</th><th>version</th><th>from</th><th>to</th><th>decision</th><th>actor</th><th>reason</th></tr></thead><tbody>{ledger}</tbody></table>
</body></html>"""
