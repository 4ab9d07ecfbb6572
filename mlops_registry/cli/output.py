"""Rendering: data (a table or JSON) goes to stdout, progress and warnings to stderr."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TextIO

MAX_CELL = 80


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def render_json(data: Any, stream: TextIO) -> None:
    json.dump(to_jsonable(data), stream, indent=2, default=str)
    stream.write("\n")


def render_yaml(data: Any, stream: TextIO) -> None:
    """YAML 1.1 through PyYAML's safe dumper: the same document as ``--output json``, keys in order."""
    import yaml  # only when asked for: the CLI's start-up stays light

    yaml.safe_dump(to_jsonable(data), stream, sort_keys=False, allow_unicode=True, explicit_start=True)


def _cell(value: Any, limit: int = MAX_CELL) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(value, Mapping | list):
        text = json.dumps(to_jsonable(value), separators=(",", ":"), default=str)
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], stream: TextIO) -> None:
    """``columns`` = [(key, header)]; the last column is never truncated (ARNs stay copyable)."""
    cells = [
        [
            _cell(row.get(key), limit=10_000 if index == len(columns) - 1 else MAX_CELL)
            for index, (key, _) in enumerate(columns)
        ]
        for row in rows
    ]
    headers = [header for _, header in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    stream.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for row in cells:
        stream.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def render_fields(title: str | None, fields: Sequence[tuple[str, Any]], stream: TextIO) -> None:
    if title:
        stream.write(f"{title}\n")
    width = max((len(label) for label, _ in fields), default=0)
    for label, value in fields:
        stream.write(f"  {label.ljust(width)}  {_cell(value, limit=10_000)}\n")


# How long a ``--wait`` sleeps before its next poll: quick at first (a pipeline step takes a second or
# two), backing off to every 2 s for a long wait.
POLL_SECONDS = (0.1, 0.2, 0.2, 0.3, 0.3, 0.5, 0.5, 0.5, 1.0, 1.0, 2.0)


def poll_delay(polls: int) -> float:
    """Seconds to sleep after ``polls`` polls (``POLL_SECONDS``, then its last value)."""
    return POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)]


@dataclass
class Progress:
    """Progress lines on stderr (``--quiet`` silences them); ``tick`` rate-limits repeated waits."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    enabled: bool = True
    _last_tick: float = 0.0
    _last_message: str = ""

    def step(self, message: str) -> None:
        if self.enabled:
            self.stream.write(f"registry: {message}\n")
            self.stream.flush()

    def tick(self, message: str, started: float, every_seconds: float = 10.0) -> None:
        """Report a wait: at once when ``message`` changes, then at most every ``every_seconds``."""
        now = time.monotonic()
        if message != self._last_message or now - self._last_tick >= every_seconds:
            self._last_message = message
            self._last_tick = now
            self.step(f"{message} ({now - started:.0f}s)")

    def warn(self, message: str) -> None:
        self.stream.write(f"registry: warning: {message}\n")
        self.stream.flush()
