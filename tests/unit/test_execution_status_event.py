"""The reconciler's event: Step Functions' execution status change, as EventBridge delivers it (the
fixture is the example event of the Step Functions developer guide); a malformed one is refused by name."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from promotion.state_change import is_execution_status_change, parse_execution_status_change

from mlops_registry.core.errors import InvalidEventError

EVENT = json.loads(
    (
        Path(__file__).resolve().parents[1] / "integration" / "events" / "step_functions_execution_failed.json"
    ).read_text()
)


def _event() -> dict[str, Any]:
    return copy.deepcopy(EVENT)


def test_the_documented_status_change_is_accepted() -> None:
    assert is_execution_status_change(_event())
    change = parse_execution_status_change(_event())
    assert change.detail.executionArn == (
        "arn:aws:states:us-east-1:123456789012:execution:state-machine-name:execution-name"
    )
    assert change.detail.stateMachineArn == "arn:aws:states:us-east-1:123456789012:stateMachine:state-machine"
    assert (change.detail.status, change.account, change.region) == ("FAILED", "123456789012", "us-east-1")


def test_a_scheduled_invocation_is_not_a_status_change() -> None:
    scheduled = {**_event(), "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    assert not is_execution_status_change(scheduled)


@pytest.mark.parametrize("field", ["executionArn", "stateMachineArn", "status"])
def test_a_missing_detail_field_is_named(field: str) -> None:
    event = _event()
    del event["detail"][field]
    with pytest.raises(InvalidEventError, match=rf"detail\.{field}: Field required"):
        parse_execution_status_change(event)


def test_an_execution_arn_that_is_no_execution_arn_is_named_with_its_value() -> None:
    event = _event()
    event["detail"]["executionArn"] = "arn:aws:states:us-east-1:123456789012:stateMachine:state-machine"
    with pytest.raises(InvalidEventError, match=r"detail\.executionArn: .*stateMachine:state-machine"):
        parse_execution_status_change(event)


@pytest.mark.parametrize(("field", "value"), [("source", "aws.sagemaker"), ("detail-type", "Scheduled Event")])
def test_another_source_or_detail_type_is_refused_naming_the_field(field: str, value: str) -> None:
    event = {**_event(), field: value}
    with pytest.raises(InvalidEventError, match=f"{field}.*{value}"):
        parse_execution_status_change(event)


def test_an_envelope_without_its_account_is_refused() -> None:
    event = _event()
    del event["account"]
    with pytest.raises(InvalidEventError, match=r"account: Field required"):
        parse_execution_status_change(event)


def test_a_non_object_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="event: expected a JSON object"):
        parse_execution_status_change(["not", "an", "event"])
