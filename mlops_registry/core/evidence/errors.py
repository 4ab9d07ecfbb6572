"""Typed errors of the evidence library: each names the field (column, option) and the value at fault."""

from __future__ import annotations

from typing import Any


class EvidenceError(ValueError):
    """The data or an option cannot produce the requested evidence."""

    def __init__(self, field: str, value: Any, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"evidence: '{field}' ({value!r}): {problem}")
