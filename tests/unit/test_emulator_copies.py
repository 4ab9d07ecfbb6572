"""The Step Functions interpreter's copies (``emulator.json_copy``), held to ``copy.deepcopy``: the same
value, and nothing mutable shared with the original."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from offline.harness import emulator

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=40,
)


def _containers(value: Any) -> list[Any]:
    """Every dict, list and set inside ``value`` (itself included)."""
    found: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list, set)):
            found.append(item)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
    return found


def _shares_nothing_mutable(original: Any, copied: Any) -> bool:
    return not {id(c) for c in _containers(original)} & {id(c) for c in _containers(copied)}


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_a_json_document_is_copied_as_deepcopy_copies_it(document: Any) -> None:
    copied = emulator.json_copy(document)
    assert copied == copy.deepcopy(document)
    assert type(copied) is type(document)
    assert _shares_nothing_mutable(document, copied)


def test_values_json_does_not_hold_are_copied_by_deepcopy_wherever_they_are() -> None:
    # Given a document holding values JSON has no type for, at the top and nested
    stamp = datetime(2026, 12, 4, tzinfo=UTC)
    document = {"when": stamp, "pair": ([1, 2], {"a": [3]}), "tags": {"x"}, "rows": [[1.5, None, True]]}
    # When it is copied
    copied = emulator.json_copy(document)
    # Then it equals deepcopy's copy and nothing mutable is shared, inside the tuple and the set too
    assert copied == copy.deepcopy(document)
    assert _shares_nothing_mutable(document, copied)
    copied["pair"][0].append(9)
    assert document["pair"][0] == [1, 2]


def test_the_interpreter_copies_with_it_only_while_installed() -> None:
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.eval import states

    modules = (states, string_expression, execute_state, result_path)
    with emulator.step_functions_json_copies():
        assert all(module.copy.deepcopy is emulator.json_copy for module in modules)
    assert all(module.copy is copy for module in modules)
