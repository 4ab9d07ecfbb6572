"""Coverage of the state machine definition over a whole test run.

A state is covered when an execution entered it; a transition is an edge of the definition's graph
(``Next``, ``Default``, each Choice branch, each Catch target) and is covered when an execution
entered its target right after its source.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


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


def record(graph: Graph, entered: list[str]) -> None:
    with _lock:
        _totals.seen_states |= set(entered) & graph.states
        _totals.seen_edges |= {pair for pair in zip(entered, entered[1:], strict=False) if pair in graph.edges}


def summary() -> tuple[int, int, int, int]:
    with _lock:
        return len(_totals.seen_states), len(_totals.states), len(_totals.seen_edges), len(_totals.edges)


def missing() -> tuple[set[str], set[tuple[str, str]]]:
    with _lock:
        return _totals.states - _totals.seen_states, _totals.edges - _totals.seen_edges


def line() -> str | None:
    states_seen, states, edges_seen, edges = summary()
    if not states:
        return None
    return (
        f"state-machine coverage: states {states_seen}/{states} ({100 * states_seen / states:.0f}%), "
        f"transitions {edges_seen}/{edges} ({100 * edges_seen / edges:.0f}%)"
    )
