"""Pipeline fixtures: an emulated system of its own per test, over the session's synthesized app (the
worker provisions the app once; every later harness starts from a copy of that world)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from offline.harness import PipelineHarness


@pytest.fixture
def harness(synthesized: Any) -> Iterator[PipelineHarness]:
    with PipelineHarness(synthesized.outdir, synthesized.templates) as running:
        yield running


@pytest.fixture
def harness_with_short_approval(synthesized: Any) -> Iterator[PipelineHarness]:
    with PipelineHarness(synthesized.outdir, synthesized.templates, approval_timeout_seconds=1) as running:
        yield running
