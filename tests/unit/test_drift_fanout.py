"""Fan-out partials merge into exactly the statistics of a single pass (same data, any split)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
from monitoring.fanout import FanOutRun, compute_partial, execution_name, fan_out_input, parse_run, reduce_partials
from monitoring.service import run_drift_check

from mlops_registry.core.errors import InvalidEventError
from tests.unit.test_drift_service import (
    END,
    SERVING,
    FakeBaselines,
    Recorder,
    _lines,
    _ports,
    _request,
)


class MemoryObjects:
    def __init__(self, objects: Mapping[str, list[str]]) -> None:
        self.objects = objects

    def object_lines(self, key: str) -> Iterator[bytes]:
        for line in self.objects[key]:
            yield line.encode()


class MemoryPartials:
    def __init__(self) -> None:
        self.items: dict[str, str] = {}
        self.deleted: list[str] = []

    def put(self, key: str, partial: Mapping[str, Any]) -> None:
        self.items[key] = json.dumps(partial)  # what S3 would hold: JSON, not Python objects

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.items if k.startswith(prefix))

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        return [json.loads(self.items[key]) for key in keys]

    def delete(self, keys: Sequence[str]) -> None:
        self.deleted += keys


def _run(request: Any) -> FanOutRun:
    start, end = request.window()
    payload = fan_out_input(
        request,
        SERVING,
        start,
        end,
        bucket="artifacts",
        prefixes=[{"variant": v, "prefix": f"datacapture/e/{v}/"} for v in request.variants],
        partials_prefix="drift-partials",
        run_id=execution_name(request, end),
        size=1,
    )
    return parse_run(json.loads(json.dumps(payload)))


@pytest.mark.parametrize("objects_per_worker", [1, 3, 7])
def test_merged_partials_equal_a_single_pass(objects_per_worker: int) -> None:
    # Given a two-variant window with drift, bad lines and lines outside the window, split into objects
    request = _request(variants=["Champion", "Challenger"])
    lines = {
        "Champion": _lines(400, seed=1) + ["{not json"] + _lines(30, seed=2, at=END + timedelta(minutes=5)),
        "Challenger": _lines(300, shift=4.0, seed=5),
    }
    single_recorder = Recorder()
    single = run_drift_check(request, _ports(lines, single_recorder))
    # When workers compute partials over batches of objects and the reducer merges them
    run = _run(request)
    store = MemoryPartials()
    baseline = FakeBaselines(_ports(lines, Recorder()).baselines.document).load(run.baseline_uri)  # type: ignore[attr-defined]
    for variant, variant_lines in lines.items():
        objects = {
            f"{variant}/{index:03d}.jsonl": variant_lines[index : index + 9]
            for index in range(0, len(variant_lines), 9)
        }
        keys = sorted(objects)
        for offset in range(0, len(keys), objects_per_worker):
            compute_partial(
                run, variant, keys[offset : offset + objects_per_worker], baseline, MemoryObjects(objects), store
            )
    fanned_recorder = Recorder()
    ports = _ports(lines, fanned_recorder)
    merged = reduce_partials(run, ports, ports.baselines, store)
    # Then every statistic and counter equals the single pass's (to 1e-12), and so do the published metrics
    assert [v.variant for v in merged.variants] == ["Champion", "Challenger"]
    for one, many in zip(single.variants, merged.variants, strict=True):
        assert (one.records, one.rows, one.corrupt_records, one.malformed_rows, one.unexpected_values) == (
            many.records,
            many.rows,
            many.corrupt_records,
            many.malformed_rows,
            many.unexpected_values,
        )
        for a, b in zip(one.features, many.features, strict=True):
            assert (a.feature, a.samples, a.missing, a.non_numeric) == (b.feature, b.samples, b.missing, b.non_numeric)
            for x, y in ((a.psi, b.psi), (a.ks, b.ks)):
                assert (x is None and y is None) or abs(x - y) <= 1e-12  # type: ignore[operator]
    assert [b.__dict__ for b in merged.breaches] == [b.__dict__ for b in single.breaches] != []
    assert sorted((d.name, d.dimensions, d.value) for d in fanned_recorder.data) == sorted(
        (d.name, d.dimensions, d.value) for d in single_recorder.data
    )
    assert store.deleted == sorted(store.items)


def test_a_window_above_the_threshold_is_handed_to_the_fan_out() -> None:
    request = _request()
    started: list[tuple[Any, ...]] = []

    class Captures:
        def lines(self, *args: Any) -> list[str]:
            raise AssertionError("a fanned-out window is not read by the scheduled function")

        def window_bytes(self, endpoint: str, variant: str, start: Any, end: Any) -> int:
            return 5_000

    class FanOut:
        threshold_bytes = 4_999

        def start(self, *args: Any) -> str:
            started.append(args)
            return "arn:execution"

    ports = _ports({}, Recorder())
    ports = type(ports)(**{**ports.__dict__, "captures": Captures()})
    result = run_drift_check(request, ports, fan_out=FanOut())
    assert result.status == "fanned_out" and result.fan_out_execution == "arn:execution" and len(started) == 1


def test_fan_out_input_errors_name_the_field() -> None:
    with pytest.raises(InvalidEventError, match="missing field 'baselineUri'"):
        parse_run({"request": {}})
    run = _run(_request())
    with pytest.raises(InvalidEventError, match="variant: 'Shadow' is not one of"):
        compute_partial(run, "Shadow", [], None, MemoryObjects({}), MemoryPartials())  # type: ignore[arg-type]
    name = execution_name(_request(endpointName="x" * 63), END)
    assert len(name) <= 80 and name == execution_name(_request(endpointName="x" * 63), END)
