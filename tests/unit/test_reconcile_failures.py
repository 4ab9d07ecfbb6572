"""The reconciler's failure sweep over in-memory ports: a promotion execution that ended FAILED,
TIMED_OUT or ABORTED within the look-back window gets one ``failed`` ledger entry and one notice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from promotion.reconcile import Reconciler, ReconcileReport

from mlops_registry.core.contracts import RECONCILER_ACTOR
from mlops_registry.core.ledger import LedgerWriter
from tests.unit.fakes import FakeExecutions, FakeLedger, FakeRegistry, FakeTopic, package_arn

GROUP = "churn-classifier"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.executions = FakeExecutions()
        self.ledger = FakeLedger()
        self.topic = FakeTopic()
        self.reconciler = Reconciler(
            registry=FakeRegistry(),  # type: ignore[arg-type]
            ledger=self.ledger,  # type: ignore[arg-type]
            writer=LedgerWriter(self.ledger, self.topic),
            executions=self.executions,
            policies=None,  # type: ignore[arg-type]  # the failure sweep reads no policy
            lookback=timedelta(hours=24),
            now=lambda: NOW,
        )

    def ended(self, name: str, version: int, status: str, stopped: datetime, **extra: Any) -> str:
        arn = self.executions.execution_arn(name)
        self.executions.executions[arn] = {
            "executionArn": arn,
            "status": status,
            "stopDate": stopped,
            "input": json.dumps({"package_arn": package_arn(GROUP, version), "group": GROUP}),
            **extra,
        }
        return arn

    def sweep(self) -> list[str]:
        report = ReconcileReport()
        self.reconciler.record_unrecorded_failures(report)
        return report.failures_recorded


def test_a_failed_execution_without_its_entry_is_recorded_and_announced_once() -> None:
    # Given an execution of v3 that failed an hour ago without writing its failure
    world = World()
    arn = world.ended(
        "v3", 3, "FAILED", NOW - timedelta(hours=1), error="States.TaskFailed", cause="lifecycle function crashed"
    )
    # When the sweep runs twice
    first, second = world.sweep(), world.sweep()
    # Then one failed entry names the execution, its error and the reconciler, and one notice tells of it
    assert (first, second) == ([arn], [])
    [entry] = world.ledger.entries
    assert (entry.decision, entry.version, entry.execution_arn, entry.actor) == ("failed", 3, arn, RECONCILER_ACTOR)
    assert "States.TaskFailed" in entry.reason and "lifecycle function crashed" in entry.reason
    [(subject, body)] = world.topic.messages
    assert subject == f"[{GROUP}] v3 promotion failed" and body["decision"] == "failed"


def test_timed_out_and_aborted_executions_are_failures_too_and_succeeded_ones_are_not() -> None:
    world = World()
    timed_out = world.ended("v1", 1, "TIMED_OUT", NOW - timedelta(hours=2))
    aborted = world.ended("v2", 2, "ABORTED", NOW - timedelta(hours=3))
    world.ended("v4", 4, "SUCCEEDED", NOW - timedelta(hours=1))
    assert sorted(world.sweep()) == sorted([timed_out, aborted])
    assert sorted(e.version for e in world.ledger.entries) == [1, 2]


def test_a_failure_outside_the_look_back_window_is_left_alone() -> None:
    world = World()
    world.ended("v3", 3, "FAILED", NOW - timedelta(hours=25))
    assert world.sweep() == [] and world.ledger.entries == [] and world.topic.messages == []


def test_a_failure_already_in_the_ledger_is_not_written_again() -> None:
    world = World()
    arn = world.ended("v3", 3, "FAILED", NOW - timedelta(hours=1))
    assert world.reconciler.record_failure_of(arn)
    assert world.sweep() == [] and len(world.ledger.entries) == 1
