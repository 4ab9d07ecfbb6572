"""Every way a version can fail to reach Production ends Archived/Rejected, recorded and notified."""

from __future__ import annotations

from typing import Any

import pytest

from offline.harness import PipelineHarness, board_member
from offline.samples import churn_reports

GROUP = "churn-classifier"


def _run_to_end(harness: PipelineHarness, reports: dict[str, Any], tag: str) -> tuple[str, dict[str, Any]]:
    registration = harness.register_version(GROUP, tag=tag, **reports)
    outcome = harness.announce(registration)
    assert outcome.get("action") == "started", outcome
    return registration.package_arn, harness.wait(outcome["execution_arn"])


def _assert_rejected(harness: PipelineHarness, arn: str, reason_fragment: str) -> None:
    package = harness.package(arn)
    assert package["ModelLifeCycle"]["Stage"] == "Archived"
    assert package["ModelLifeCycle"]["StageStatus"] == "Rejected"
    assert package["ModelApprovalStatus"] == "Rejected"
    last = harness.ledger().history(GROUP)[-1]
    assert (last.to_stage, last.decision) == ("Archived", "rejected")
    assert reason_fragment in last.reason, last.reason
    assert any(n.get("decision") == "rejected" and reason_fragment in n["reason"] for n in harness.notifications())


@pytest.mark.parametrize(
    ("case", "mutate", "fragment"),
    [
        ("metric below baseline", lambda r: r.update(churn_reports(auc=0.79)), "metrics gate denied: auc"),
        ("metric missing", lambda r: r["metrics"]["binary_classification_metrics"].pop("f1"), "f1: missing"),
        (
            "metric NaN",
            lambda r: r["metrics"]["binary_classification_metrics"]["auc"].update(value=float("nan")),
            "auc: nan",
        ),
        ("no metrics report", lambda r: r.update(metrics=None), "metrics report: the package references none"),
        # The bias the platform computes on the holdout set, for a model that learned a proxy of gender.
        ("bias out of bounds", lambda r: r.update(model="proxy"), "bias gate denied: gender="),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_failing_gate_rejects_the_version(harness: PipelineHarness, case: str, mutate: Any, fragment: str) -> None:
    reports = churn_reports()
    mutate(reports)
    arn, result = _run_to_end(harness, reports, tag=case.replace(" ", "-"))
    assert result["status"] == "SUCCEEDED"
    assert "VersionRejected" in harness.states_entered(result["executionArn"])
    _assert_rejected(harness, arn, fragment)


@pytest.mark.parametrize(
    ("case", "mutate", "fragment"),
    [
        (
            "bias attribute absent",
            lambda r: r["bias"]["post_training_bias_metrics"]["facets"].pop("age_band"),
            "age_band: protected attribute absent",
        ),
        ("no bias report", lambda r: r.update(bias=None), "bias report: the package references none"),
        (
            "explainability missing feature",
            lambda r: r["explainability"]["explanations"]["kernel_shap"]["label0"]["global_shap_values"].pop(
                "tenure_months"
            ),
            "tenure_months: no attribution",
        ),
        (
            "explainability degenerate",
            lambda r: r["explainability"]["explanations"]["kernel_shap"]["label0"].update(
                global_shap_values={
                    f: 0.0 for f in r["explainability"]["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
                }
            ),
            "degenerate",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_the_registrants_own_bias_and_explainability_reports_are_not_what_is_judged(
    harness: PipelineHarness, case: str, mutate: Any, fragment: str
) -> None:
    # Given registrant reports that the gates would once have denied (the fragment they gave)
    reports = churn_reports()
    mutate(reports)
    registration = harness.register_version(GROUP, tag=case.replace(" ", "-"), **reports)
    harness.announce(registration)
    # Then the gates judge the platform's evidence on the holdout set (what ``fragment`` once denied no
    # longer does): the version passes them and waits for the board
    assert harness.pending_approval(registration.package_arn)
    assert not any(fragment in e.reason for e in harness.ledger().history(GROUP))


def test_the_board_rejects_in_studio(harness: PipelineHarness) -> None:
    registration = harness.register_version(GROUP, tag="studio-reject", **churn_reports())
    outcome = harness.announce(registration)
    assert harness.pending_approval(registration.package_arn)
    resumed = harness.decide_in_studio(
        registration.package_arn, board_member("carol"), "Rejected", "calibration drift on Q3 data"
    )
    assert resumed["action"] == "resumed"
    assert harness.wait(outcome["execution_arn"])["status"] == "SUCCEEDED"
    _assert_rejected(harness, registration.package_arn, "calibration drift on Q3 data")
    assert harness.ledger().history(GROUP)[-1].actor == board_member("carol")


def test_the_board_approves_in_studio(harness: PipelineHarness) -> None:
    registration = harness.register_version(GROUP, tag="studio-approve", **churn_reports())
    outcome = harness.announce(registration)
    assert harness.pending_approval(registration.package_arn)
    harness.decide_in_studio(registration.package_arn, board_member("dave"), "Approved", "looks good")
    assert harness.wait(outcome["execution_arn"])["status"] == "SUCCEEDED"
    assert harness.package(registration.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    assert harness.ledger().history(GROUP)[-1].actor == board_member("dave")


def test_the_board_rejects_with_the_cli(harness: PipelineHarness) -> None:
    registration = harness.register_version(GROUP, tag="cli-reject", **churn_reports())
    outcome = harness.announce(registration)
    assert harness.pending_approval(registration.package_arn)
    harness.approve_with_cli(registration.package_arn, board_member("erin"), "not this quarter", decision="Rejected")
    assert harness.wait(outcome["execution_arn"])["status"] == "SUCCEEDED"
    _assert_rejected(harness, registration.package_arn, "not this quarter")


def test_an_approval_that_times_out_rejects(harness_with_short_approval: PipelineHarness) -> None:
    harness = harness_with_short_approval
    registration = harness.register_version(GROUP, tag="timeout", **churn_reports())
    outcome = harness.announce(registration)
    result = harness.wait(outcome["execution_arn"], timeout=30)
    assert result["status"] == "SUCCEEDED"
    assert "ApprovalTimedOut" in harness.states_entered(result["executionArn"])
    _assert_rejected(harness, registration.package_arn, "approval timed out")
