"""The pipeline's trigger: only SageMaker's model package state changes are accepted, as EventBridge delivers them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from promotion.state_change import parse_state_change

from mlops_registry.core.errors import InvalidEventError

EVENTS = Path(__file__).resolve().parents[1] / "integration" / "events"


def _event() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / "model_package_registered.json").read_text())
    return document


def test_the_documented_registration_event_is_accepted() -> None:
    parsed = parse_state_change(_event())
    assert (parsed.source, parsed.detail_type) == ("aws.sagemaker", "SageMaker Model Package State Change")


@pytest.mark.parametrize(
    ("field", "value"),
    [("source", "aws.s3"), ("detail-type", "SageMaker Model Building Pipeline Execution Status Change")],
)
def test_another_source_or_detail_type_is_refused_naming_the_field_and_value(field: str, value: str) -> None:
    event = {**_event(), field: value}
    with pytest.raises(InvalidEventError, match=f"{field}.*{value}"):
        parse_state_change(event)
