"""The state-machine coverage line merges every pytest-xdist worker's totals."""

from __future__ import annotations

import json
from pathlib import Path

from offline.harness import coverage


def test_the_line_is_the_union_of_every_workers_totals(tmp_path: Path) -> None:
    # Given two workers that saw different parts of one four-state graph (A -> B -> C, A -> D)
    graph = {"states": ["A", "B", "C", "D"], "edges": [["A", "B"], ["B", "C"], ["A", "D"]]}
    (tmp_path / "coverage-gw0.json").write_text(
        json.dumps({**graph, "seen_states": ["A", "B"], "seen_edges": [["A", "B"]]})
    )
    (tmp_path / "coverage-gw1.json").write_text(
        json.dumps({**graph, "seen_states": ["A", "D"], "seen_edges": [["A", "D"]]})
    )
    # Then the run covered 3 of 4 states and 2 of 3 transitions, and B -> C is the one missing
    assert coverage.summary(tmp_path) == (3, 4, 2, 3)
    assert coverage.missing(tmp_path) == ({"C"}, {("B", "C")})
    assert coverage.line(tmp_path) == "state-machine coverage: states 3/4 (75%), transitions 2/3 (67%)"
