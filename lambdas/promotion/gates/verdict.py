from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class GateVerdict:
    """A gate's decision with the evidence the ledger records (inputs, thresholds, result)."""

    gate: str
    passed: bool
    reasons: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def deny(gate: str, reason: str, evidence: dict[str, Any] | None = None) -> GateVerdict:
        return GateVerdict(gate=gate, passed=False, reasons=[reason], evidence=evidence or {})


def as_finite_number(value: Any) -> float | None:
    """The value as a float when it is a real, finite number (bools and strings are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
