"""Duplicates, throttling, permanent failures and races."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from mlops_registry.core.errors import RegistryError
from offline.harness import PipelineHarness, board_member
from offline.samples import churn_reports

GROUP = "churn-classifier"


class LambdaThrottled(RegistryError):
    """Lambda refusing the invocation with its throttling error."""

    error_type = "Lambda.TooManyRequestsException"


def test_the_same_event_delivered_five_times_starts_one_execution(harness: PipelineHarness) -> None:
    registration = harness.register_version(GROUP, tag="dup", **churn_reports())
    event = harness.state_change_event(registration.package_arn)
    outcomes = [harness.deliver(event) for _ in range(5)]
    assert [o["action"] for o in outcomes] == ["started", "duplicate", "duplicate", "duplicate", "duplicate"]
    assert len({o["execution_arn"] for o in outcomes}) == 1
    executions = harness.sfn.list_executions(stateMachineArn=harness.state_machine_arn)["executions"]
    assert len(executions) == 1
    assert harness.pending_approval(registration.package_arn)
    for _ in range(5):  # the pipeline's own Staging write re-emits events; duplicates of those too
        assert harness.deliver(harness.state_change_event(registration.package_arn))["action"] == "ignored"
    harness.approve_with_cli(registration.package_arn, board_member("alice"), "ok")
    harness.wait(outcomes[0]["execution_arn"])
    for _ in range(5):  # the Production write re-emits too: nothing new starts
        assert harness.deliver(harness.state_change_event(registration.package_arn))["action"] == "ignored"
    transitions = [(e.to_stage, e.decision) for e in harness.ledger().history(GROUP)]
    assert transitions == [
        ("Development", "entered"),
        ("Staging", "entered"),
        ("Staging", "requested"),
        ("Production", "entered"),
    ]


def test_a_throttled_task_is_retried_and_succeeds(harness: PipelineHarness) -> None:
    calls: dict[str, int] = {}
    gate = harness.function_name("MetricsGate")

    def throttle_twice(function: str, payload: dict[str, Any]) -> BaseException | None:
        if function != gate:
            return None
        calls[function] = calls.get(function, 0) + 1
        return LambdaThrottled("Rate exceeded") if calls[function] <= 2 else None

    harness.runner.faults.append(throttle_twice)
    registration = harness.register_version(GROUP, tag="throttled", **churn_reports())
    outcome = harness.announce(registration)
    assert harness.pending_approval(registration.package_arn)
    harness.approve_with_cli(registration.package_arn, board_member("alice"), "ok")
    result = harness.wait(outcome["execution_arn"])
    assert result["status"] == "SUCCEEDED"
    assert calls[gate] == 3
    entered = harness.states_entered(result["executionArn"])
    assert "RecordFailure" not in entered and "Promoted" in entered


FAILING_TASKS = [
    # (state that fails, function fragment, lifecycle action or None, needs approval, bad metrics)
    ("EnterDevelopment", "Lifecycle", "enter_development", False, False),
    ("MetricsGate", "MetricsGate", None, False, False),
    ("EnterStaging", "Lifecycle", "enter_staging", False, False),
    ("BiasGate", "BiasGate", None, False, False),
    ("ExplainabilityGate", "ExplainabilityGate", None, False, False),
    ("RequestApproval", "RequestApproval", None, False, False),
    ("AcquireProductionLock", "Lifecycle", "acquire_lock", True, False),
    ("PromoteToProduction", "Lifecycle", "promote", True, False),
    ("RejectVersion", "Lifecycle", "reject", False, True),
]


@pytest.mark.parametrize(
    ("state", "fragment", "action", "approve", "bad_metrics"), FAILING_TASKS, ids=[t[0] for t in FAILING_TASKS]
)
def test_a_permanent_failure_is_recorded_notified_and_fails(
    harness: PipelineHarness, state: str, fragment: str, action: str | None, approve: bool, bad_metrics: bool
) -> None:
    function = harness.function_name(fragment)

    def always_broken(name: str, payload: dict[str, Any]) -> BaseException | None:
        if name == function and (action is None or payload.get("action") == action):
            return ValueError(f"{state} dependency is corrupt")
        return None

    harness.runner.faults.append(always_broken)
    reports = churn_reports(auc=0.5) if bad_metrics else churn_reports()
    registration = harness.register_version(GROUP, tag=f"broken-{state}", **reports)
    outcome = harness.announce(registration)
    if approve:
        assert harness.pending_approval(registration.package_arn)
        harness.approve_with_cli(registration.package_arn, board_member("alice"), "ok")
    result = harness.wait(outcome["execution_arn"])
    assert result["status"] == "FAILED"
    assert result.get("error") == "PromotionFailed"
    entered = harness.states_entered(result["executionArn"])
    assert entered[-3:] == [state, "RecordFailure", "PromotionFailed"]
    last = harness.ledger().history(GROUP)[-1]
    assert last.decision == "failed" and "ValueError" in last.reason and "corrupt" in last.reason
    package = harness.package(registration.package_arn)
    assert package["ModelLifeCycle"]["StageStatus"] == "Failed"
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert any(n.get("decision") == "failed" for n in harness.notifications())
    lock = harness.ddb.get_item(TableName=harness.table("-promotion-locks"), Key={"group_name": {"S": GROUP}})
    assert "Item" not in lock, "a failed promotion must not keep the group's lock"


def test_an_older_version_approved_after_a_newer_one_is_superseded(harness: PipelineHarness) -> None:
    older = harness.register_version(GROUP, tag="old", **churn_reports())
    newer = harness.register_version(GROUP, tag="new", **churn_reports(auc=0.88))
    runs = {r.version: harness.announce(r) for r in (older, newer)}
    assert harness.pending_approval(older.package_arn) and harness.pending_approval(newer.package_arn)
    harness.approve_with_cli(newer.package_arn, board_member("alice"), "newer first")
    assert harness.wait(runs[newer.version]["execution_arn"])["status"] == "SUCCEEDED"
    harness.approve_with_cli(older.package_arn, board_member("alice"), "late approval")
    result = harness.wait(runs[older.version]["execution_arn"])
    assert "NotSuperseded?" in harness.states_entered(result["executionArn"])
    assert harness.package(newer.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    assert harness.package(older.package_arn)["ModelLifeCycle"]["StageStatus"] == "Rejected"
    assert "superseded: version 2" in harness.ledger().history(GROUP)[-1].reason


def test_two_versions_racing_to_production_one_wins(harness: PipelineHarness) -> None:
    first = harness.register_version(GROUP, tag="race-a", **churn_reports())
    second = harness.register_version(GROUP, tag="race-b", **churn_reports(auc=0.87))
    runs = [harness.announce(first), harness.announce(second)]
    assert harness.pending_approval(first.package_arn) and harness.pending_approval(second.package_arn)
    approvers = [
        threading.Thread(target=harness.approve_with_cli, args=(r.package_arn, board_member("alice"), "race"))
        for r in (first, second)
    ]
    for thread in approvers:
        thread.start()
    for thread in approvers:
        thread.join()
    results = [harness.wait(run["execution_arn"], timeout=60) for run in runs]
    stages = {r.version: harness.package(r.package_arn)["ModelLifeCycle"]["Stage"] for r in (first, second)}
    assert list(stages.values()).count("Production") == 1, stages
    assert sorted(stages.values()) == ["Archived", "Production"]
    # the newest version ends up serving, whichever order the two were serialized in
    assert stages[second.version] == "Production"
    assert all(r["status"] in ("SUCCEEDED", "FAILED") for r in results)
    entered = [e for e in harness.ledger().history(GROUP) if e.to_stage == "Production" and e.decision == "entered"]
    assert len({e.version for e in entered}) <= 2
    assert harness.ledger().in_stage_at(GROUP, "Production", entered[-1].at).version == second.version
