"""A corpus of hostile and broken events against the deployed rule and dispatcher: each one's exact
effect on executions and ledger entries.

Each event is derived from the event SageMaker emits for a real registration in the emulated account
(123456789012, eu-west-1) and changed in one way. The rule's synthesized pattern is checked first
(what EventBridge would deliver); the dispatcher is then invoked with the event regardless (a
misconfigured rule, a replay, a direct invoke) and must refuse it by name.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from offline.harness import ACCOUNT, REGION, PipelineHarness
from offline.samples import churn_reports

GROUP = "churn-classifier"
FOREIGN_ACCOUNT = "999999999999"
FOREIGN_REGION = "us-east-1"


def _arn(event: dict[str, Any]) -> str:
    return str(event["detail"]["ModelPackageArn"])


def _set_arn(event: dict[str, Any], arn: str) -> None:
    event["detail"]["ModelPackageArn"] = arn
    event["resources"] = [arn]


Mutation = Callable[[dict[str, Any]], Any]
CASES: list[tuple[str, Mutation, bool, str, str]] = [
    # (id, mutation, the rule delivers it, error type, the field the error names)
    ("foreign-account", lambda e: e.update(account=FOREIGN_ACCOUNT), False, "ForeignEventError", "account"),
    ("foreign-region", lambda e: e.update(region=FOREIGN_REGION), False, "ForeignEventError", "region"),
    (
        "foreign-account-arn",
        lambda e: _set_arn(e, _arn(e).replace(f":{ACCOUNT}:", f":{FOREIGN_ACCOUNT}:")),
        True,
        "ForeignEventError",
        "detail.ModelPackageArn",
    ),
    (
        "foreign-region-arn",
        lambda e: _set_arn(e, _arn(e).replace(f":{REGION}:", f":{FOREIGN_REGION}:")),
        True,
        "ForeignEventError",
        "detail.ModelPackageArn",
    ),
    (
        "wrong-partition",
        lambda e: _set_arn(e, _arn(e).replace("arn:aws:", "arn:aws-cn:")),
        True,
        "ForeignEventError",
        "detail.ModelPackageArn",
    ),
    (
        "resources-name-another-package",
        lambda e: e.update(resources=[_arn(e).replace(f":{ACCOUNT}:", f":{FOREIGN_ACCOUNT}:")]),
        True,
        "ForeignEventError",
        "resources",
    ),
    (
        "version-not-a-number",
        lambda e: e["detail"].update(ModelPackageVersion="three"),
        True,
        "InvalidEventError",
        "detail.ModelPackageVersion",
    ),
    (
        "unknown-approval-status",
        lambda e: e["detail"].update(ModelApprovalStatus="Maybe"),
        True,
        "InvalidEventError",
        "detail.ModelApprovalStatus",
    ),
    (
        "version-disagrees-with-arn",
        lambda e: e["detail"].update(ModelPackageVersion=7),
        True,
        "InvalidEventError",
        "detail.ModelPackageArn",
    ),
    (
        "arn-not-a-package",
        lambda e: _set_arn(e, "arn:aws:s3:::churn-classifier/1"),
        True,
        "InvalidEventError",
        "detail.ModelPackageArn",
    ),
    ("detail-missing-arn", lambda e: e["detail"].pop("ModelPackageArn"), True, "InvalidEventError", "ModelPackageArn"),
    ("wrong-source", lambda e: e.update(source="aws.s3"), False, "InvalidEventError", "source"),
    ("not-an-object", lambda e: ["not", "an", "event"], True, "InvalidEventError", "event"),
]


def _executions(harness: PipelineHarness) -> list[dict[str, Any]]:
    return list(harness.sfn.list_executions(stateMachineArn=harness.state_machine_arn)["executions"])


def _ledger_items(harness: PipelineHarness, expected: int | None = None, timeout: float = 10) -> int:
    """The ledger's entries (not chain heads). With ``expected``: waits up to ``timeout`` for that many,
    since the approval task stores the pending request a moment before it appends the ledger entry
    (and ``pending_approval`` returns as soon as the request is stored)."""
    deadline = time.monotonic() + timeout
    while True:
        items = harness.ddb.scan(TableName=harness.table("-audit-ledger"))["Items"]
        count = sum(not item["group_name"]["S"].startswith("chain-head#") for item in items)
        if expected is None or count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


@pytest.fixture
def registered(harness: PipelineHarness) -> dict[str, Any]:
    registration = harness.register_version(GROUP, tag="hostile", **churn_reports())
    return harness.state_change_event(registration.package_arn)


@pytest.mark.parametrize(("case", "mutate", "delivered", "error", "field"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_event_starts_nothing_and_writes_nothing(
    harness: PipelineHarness,
    registered: dict[str, Any],
    case: str,
    mutate: Mutation,
    delivered: bool,
    error: str,
    field: str,
) -> None:
    # Given the genuine event of a registration, changed in one way
    event = copy.deepcopy(registered)
    replaced = mutate(event)
    hostile = replaced if isinstance(replaced, list) else event
    # Then the rule's pattern delivers it or not, as expected
    if isinstance(hostile, dict):
        assert harness.rule_matches(hostile) is delivered
    # When the dispatcher receives it anyway, Then it refuses it by type, naming the field
    payload, error_type = harness.invoke_dispatcher(hostile)
    assert error_type == error, payload
    assert field in payload["errorMessage"]
    # And exactly nothing happened: no execution, no ledger entry
    assert _executions(harness) == []
    assert _ledger_items(harness) == 0
    # And the genuine event still starts exactly one execution (nothing was claimed by the hostile one)
    assert harness.deliver(registered)["action"] == "started"
    assert len(_executions(harness)) == 1


def test_duplicates_five_times_start_one_execution_and_one_set_of_entries(
    harness: PipelineHarness, registered: dict[str, Any]
) -> None:
    outcomes = [harness.deliver(copy.deepcopy(registered))["action"] for _ in range(5)]
    assert outcomes == ["started"] + ["duplicate"] * 4
    assert len(_executions(harness)) == 1
    assert harness.pending_approval(_arn(registered))
    assert _ledger_items(harness, expected=3) == 3  # Development, Staging, approval requested: once each


def test_concurrent_duplicates_start_one_execution(harness: PipelineHarness, registered: dict[str, Any]) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(harness.deliver(copy.deepcopy(registered))["action"])

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["duplicate"] * 4 + ["started"]
    assert len(_executions(harness)) == 1
    assert harness.pending_approval(_arn(registered))
    assert _ledger_items(harness, expected=3) == 3
