"""Coverage of the state machine definition over a whole test run.

A state is covered when an execution entered it; a transition is an edge of the definition's graph
(``Next``, ``Default``, each Choice branch, each Catch target) and is covered when an execution
entered its target right after its source.

Under pytest-xdist each worker keeps its own totals; with ``IAM_PROOF_TOTALS_DIR`` set (one directory
per run, tests/conftest.py), each worker also writes them there and ``line`` merges every worker's.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOTALS_DIR_VARIABLE = "IAM_PROOF_TOTALS_DIR"  # the run's shared totals directory (also the IAM proof's)


@dataclass
class Graph:
    states: set[str]
    edges: set[tuple[str, str]]


@dataclass
class _Totals:
    states: set[str] = field(default_factory=set)
    edges: set[tuple[str, str]] = field(default_factory=set)
    seen_states: set[str] = field(default_factory=set)
    seen_edges: set[tuple[str, str]] = field(default_factory=set)


_lock = threading.Lock()
_totals = _Totals()


def graph_of(definition: dict[str, Any]) -> Graph:
    states: set[str] = set()
    edges: set[tuple[str, str]] = set()

    def visit(machine: dict[str, Any]) -> None:
        for name, state in machine["States"].items():
            states.add(name)
            targets = []
            if "Next" in state:
                targets.append(state["Next"])
            if "Default" in state:
                targets.append(state["Default"])
            targets.extend(choice["Next"] for choice in state.get("Choices", []))
            targets.extend(catch["Next"] for catch in state.get("Catch", []))
            edges.update((name, target) for target in targets)
            for branch in state.get("Branches", []):
                visit(branch)
            for key in ("Iterator", "ItemProcessor"):
                if key in state:
                    visit(state[key])

    visit(definition)
    return Graph(states, edges)


def register_definition(graph: Graph) -> None:
    with _lock:
        _totals.states |= graph.states
        _totals.edges |= graph.edges
    _write_totals()


def record(graph: Graph, entered: list[str]) -> None:
    with _lock:
        _totals.seen_states |= set(entered) & graph.states
        _totals.seen_edges |= {pair for pair in zip(entered, entered[1:], strict=False) if pair in graph.edges}
    _write_totals()


def _write_totals() -> None:
    directory = os.environ.get(TOTALS_DIR_VARIABLE)
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    with _lock:
        data = {
            "states": sorted(_totals.states),
            "edges": sorted(map(list, _totals.edges)),
            "seen_states": sorted(_totals.seen_states),
            "seen_edges": sorted(map(list, _totals.seen_edges)),
        }
    # one file per process (a worker's subprocesses inherit its environment and must not overwrite it)
    target = Path(directory) / f"coverage-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(target)


def _merged(directory: Path | None) -> _Totals:
    if directory is None or not directory.is_dir():
        with _lock:
            return _Totals(set(_totals.states), set(_totals.edges), set(_totals.seen_states), set(_totals.seen_edges))
    merged = _Totals()
    for path in sorted(directory.glob("coverage-*.json")):
        data = json.loads(path.read_text())
        merged.states |= set(data["states"])
        merged.edges |= {(a, b) for a, b in data["edges"]}
        merged.seen_states |= set(data["seen_states"])
        merged.seen_edges |= {(a, b) for a, b in data["seen_edges"]}
    return merged


def summary(directory: Path | None = None) -> tuple[int, int, int, int]:
    totals = _merged(directory)
    return len(totals.seen_states), len(totals.states), len(totals.seen_edges), len(totals.edges)


def missing(directory: Path | None = None) -> tuple[set[str], set[tuple[str, str]]]:
    totals = _merged(directory)
    return totals.states - totals.seen_states, totals.edges - totals.seen_edges


def line(directory: Path | None = None) -> str | None:
    """The run's state-machine coverage (every worker's, when ``directory`` holds their totals)."""
    states_seen, states, edges_seen, edges = summary(directory)
    if not states:
        return None
    return (
        f"state-machine coverage: states {states_seen}/{states} ({100 * states_seen / states:.0f}%), "
        f"transitions {edges_seen}/{edges} ({100 * edges_seen / edges:.0f}%)"
    )
