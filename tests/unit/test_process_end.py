"""``freeze_the_survivors`` (offline/environment.py), run in a process of its own: what was garbage is
collected (its finalizers' errors reported), what is alive leaves the collector's generations."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT

SCRIPT = textwrap.dedent(
    """
    import gc, json, sys
    from offline.environment import freeze_the_survivors

    reported, finalized = [], []
    sys.unraisablehook = lambda unraisable: reported.append(str(unraisable.exc_value))

    class Cycle:
        def __init__(self, name, fails=False):
            self.name, self.fails, self.me = name, fails, self
        def __del__(self):
            finalized.append(self.name)
            if self.fails:
                raise RuntimeError("finalizer of " + self.name)

    gc.disable()  # nothing is collected before the call but by the call
    survivors = [[index] for index in range(100_000)]  # alive: a world the process still holds
    Cycle("garbage"), Cycle("failing garbage", fails=True)
    tracked_before = len(gc.get_objects())
    freeze_the_survivors()
    after_call = {"finalized": sorted(finalized), "reported": reported}
    Cycle("garbage made after the call")
    gc.collect()
    print(json.dumps({
        **after_call,
        "finalized_later": sorted(set(finalized) - set(after_call["finalized"])),
        "tracked_before": tracked_before,
        "tracked_after": len(gc.get_objects()),
        "frozen": gc.get_freeze_count(),
        "survivors": len(survivors),
    }))
    """
)


def test_garbage_is_collected_and_reported_and_the_survivors_are_frozen() -> None:
    # When a process with garbage cycles and a large live structure calls freeze_the_survivors
    ran = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(ran.stdout)
    # Then the garbage was collected by the call, and its finalizer's error reported as unraisable
    assert seen["finalized"] == ["failing garbage", "garbage"], seen
    assert seen["reported"] == ["finalizer of failing garbage"], seen
    # and garbage made afterwards is still collected by a later collection
    assert seen["finalized_later"] == ["garbage made after the call"], seen
    # and the live objects left the generations a collection walks (the gc module's own accounting)
    assert seen["tracked_before"] > 100_000 and seen["frozen"] > 100_000, seen
    assert seen["tracked_after"] < 1_000, seen
    assert seen["survivors"] == 100_000
