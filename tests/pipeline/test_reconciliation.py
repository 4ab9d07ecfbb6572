"""Nothing lost, nothing changed behind the pipeline's back: the scheduled reconciler on the harness.

- a version whose event was lost is started by the reconciler, under the name the dispatcher would
  have used (the late original event then starts nothing);
- a stage or approval status changed by hand is recorded as ``out_of_band_change`` once, notified;
- a promotion that failed without recording its failure gets its ledger entry;
- versions the pipeline handled normally are never reported (no false alarms).
"""

from __future__ import annotations

import json
from typing import Any

from mlops_registry.core.errors import RegistryError
from offline.harness import ACCOUNT, REGION, PipelineHarness, board_member
from offline.harness.emulator import set_modifying_identity
from offline.samples import churn_reports

GROUP = "churn-classifier"
ADMIN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/root-cause"


class LifecycleBroken(RegistryError):
    """The lifecycle function failing permanently (e.g. its role was changed by hand)."""


def _as_admin(harness: PipelineHarness, **update: Any) -> None:
    set_modifying_identity(ADMIN)
    try:
        harness.sm.update_model_package(**update)
    finally:
        set_modifying_identity(None)


def _promote(harness: PipelineHarness, tag: str, **values: float) -> str:
    registration, result = harness.promote(GROUP, tag, board_member("alice"), churn_reports(**values))
    assert result["status"] == "SUCCEEDED"
    return registration.package_arn


def test_a_lost_event_is_reconciled_under_the_dispatchers_execution_name(harness: PipelineHarness) -> None:
    # Given a version registered whose event never reached the dispatcher
    registration = harness.register_version(GROUP, tag="lost", **churn_reports())
    # When the reconciler runs
    report = harness.reconcile()
    # Then it started exactly that version, and nothing is reported as out of band
    assert (report["started"], report["out_of_band"]) == ([registration.package_arn], [])
    [execution] = harness.sfn.list_executions(stateMachineArn=harness.state_machine_arn)["executions"]
    # When the original event arrives late, Then it names the same execution and starts nothing
    late = harness.announce(registration)
    assert (late["action"], late["execution_arn"]) == ("duplicate", execution["executionArn"])
    # And a second reconciliation starts nothing either
    assert harness.reconcile()["started"] == []
    # And the version is promoted normally
    assert harness.pending_approval(registration.package_arn)
    harness.approve_with_cli(registration.package_arn, board_member("alice"), "reviewed")
    assert harness.wait(execution["executionArn"])["status"] == "SUCCEEDED"
    assert len(harness.sfn.list_executions(stateMachineArn=harness.state_machine_arn)["executions"]) == 1
    assert harness.reconcile() == {"started": [], "out_of_band": [], "failures_recorded": [], "checked": 1}


def test_an_out_of_band_stage_change_is_recorded_once_and_notified(harness: PipelineHarness) -> None:
    # Given v1 in Production through the pipeline
    v1 = _promote(harness, "v1")
    list(harness.notifications())
    assert harness.reconcile()["out_of_band"] == []
    # When an administrator archives it by hand in SageMaker
    _as_admin(
        harness,
        ModelPackageArn=v1,
        ModelLifeCycle={"Stage": "Archived", "StageStatus": "Retired", "StageDescription": "cleanup"},
    )
    # Then the reconciler records it, naming who changed it, with expected and observed state
    assert harness.reconcile()["out_of_band"] == [v1]
    entry = harness.ledger().history(GROUP)[-1]
    assert (entry.decision, entry.actor, entry.from_stage, entry.to_stage) == (
        "out_of_band_change",
        ADMIN,
        "Production",
        "Archived",
    )
    assert entry.evidence["expected"] == {"stage": "Production", "approval": "Approved"}
    assert entry.evidence["observed"] == {"stage": "Archived", "stage_status": "Retired", "approval": "Approved"}
    [sent] = [n for n in harness.notifications() if n["decision"] == "out_of_band_change"]
    assert (sent["package_arn"], sent["actor"]) == (v1, ADMIN)
    # And a second run does not report the same change again
    assert harness.reconcile()["out_of_band"] == []
    # And the ledger still answers who served in Production (the hand change is not a promotion)
    served = harness.ledger().in_stage_at(GROUP, "Production", entry.at)
    assert served is not None and served.package_arn == v1


def test_an_out_of_band_approval_of_an_unhandled_version_is_recorded_not_started(harness: PipelineHarness) -> None:
    # Given a version registered and, before any event was handled, approved by hand
    registration = harness.register_version(GROUP, tag="bypass", **churn_reports())
    _as_admin(harness, ModelPackageArn=registration.package_arn, ModelApprovalStatus="Approved")
    # When the reconciler runs, Then it does not evaluate it as new: it reports the bypass
    report = harness.reconcile()
    assert (report["started"], report["out_of_band"]) == ([], [registration.package_arn])
    [entry] = harness.ledger().history(GROUP)
    assert (entry.decision, entry.actor) == ("out_of_band_change", ADMIN)
    assert entry.evidence["observed"]["approval"] == "Approved"
    assert harness.sfn.list_executions(stateMachineArn=harness.state_machine_arn)["executions"] == []


def test_versions_the_pipeline_handled_are_never_reported(harness: PipelineHarness) -> None:
    # Given v1 promoted, v2 promoted (v1 archived), v3 denied by the metrics gate, v4 rejected by the board
    _promote(harness, "v1")
    _promote(harness, "v2", auc=0.87)
    denied = harness.register_version(GROUP, tag="v3", **churn_reports(auc=0.5))
    assert harness.wait(harness.announce(denied)["execution_arn"])["status"] == "SUCCEEDED"
    rejected = harness.register_version(GROUP, tag="v4", **churn_reports(auc=0.88))
    execution = harness.announce(rejected)["execution_arn"]
    assert harness.pending_approval(rejected.package_arn)
    harness.approve_with_cli(rejected.package_arn, board_member("bob"), "not now", decision="Rejected")
    assert harness.wait(execution)["status"] == "SUCCEEDED"
    entries_before = len(harness.ledger().history(GROUP))
    # When the reconciler runs, Then it finds nothing to start, report or record
    assert harness.reconcile() == {"started": [], "out_of_band": [], "failures_recorded": [], "checked": 4}
    assert len(harness.ledger().history(GROUP)) == entries_before


def test_a_failed_execution_without_a_ledger_entry_gets_one(harness: PipelineHarness) -> None:
    # Given the lifecycle function broken for good: the execution fails and cannot record its failure
    lifecycle = harness.function_name("LifecycleFunction")

    def broken(function: str, payload: dict[str, Any]) -> BaseException | None:
        return LifecycleBroken("role changed by hand") if function == lifecycle else None

    harness.runner.faults.append(broken)
    registration = harness.register_version(GROUP, tag="broken", **churn_reports())
    execution = harness.announce(registration)["execution_arn"]
    result = harness.wait(execution)
    assert result["status"] == "FAILED"
    assert harness.ledger().history(GROUP) == []
    harness.runner.faults.remove(broken)
    # When Step Functions' status change event reaches the reconciler
    event = {
        "version": "0",
        "id": "offline-status-change",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "region": REGION,
        "time": "2026-12-03T08:00:00Z",
        "resources": [execution],
        "detail": {"executionArn": execution, "stateMachineArn": harness.state_machine_arn, "status": "FAILED"},
    }
    assert harness.reconcile(event) == {"failures_recorded": [execution]}
    # Then the ledger has exactly one failed entry for that execution, and neither route adds another
    [entry] = harness.ledger().history(GROUP)
    assert (entry.decision, entry.execution_arn, entry.package_arn) == ("failed", execution, registration.package_arn)
    assert "PromotionFailed" in entry.reason
    assert harness.reconcile(event) == {"failures_recorded": []}
    assert harness.reconcile()["failures_recorded"] == []
    assert len(harness.ledger().history(GROUP)) == 1


def test_the_scheduled_sweep_records_a_failure_whose_event_was_lost(harness: PipelineHarness) -> None:
    lifecycle = harness.function_name("LifecycleFunction")
    harness.runner.faults.append(lambda function, payload: LifecycleBroken("broken") if function == lifecycle else None)
    registration = harness.register_version(GROUP, tag="broken-sweep", **churn_reports())
    execution = harness.announce(registration)["execution_arn"]
    assert harness.wait(execution)["status"] == "FAILED"
    harness.runner.faults.clear()
    report = harness.reconcile()
    assert report["failures_recorded"] == [execution]
    # the version's execution exists (failed): it is neither restarted nor reported as out of band
    assert (report["started"], report["out_of_band"]) == ([], [])


def test_an_execution_event_of_another_state_machine_is_refused(harness: PipelineHarness) -> None:
    foreign = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:someone-else"
    event = {
        "version": "0",
        "id": "offline-foreign-status-change",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "region": REGION,
        "time": "2026-12-03T08:00:00Z",
        "resources": [],
        "detail": {
            "executionArn": f"{foreign.replace(':stateMachine:', ':execution:')}:x",
            "stateMachineArn": foreign,
            "status": "FAILED",
        },
    }
    response = harness.lambda_.invoke(
        FunctionName=harness.function_name("ReconcilerFunction"), Payload=json.dumps(event).encode()
    )
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "ForeignEventError" and "detail.stateMachineArn" in payload["errorMessage"]
    assert harness.ledger().history(GROUP) == []
