"""A/B tests through the serving stack: first champion, clear winner, clear loser, inconclusive, failure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from mlops_registry.core.errors import RegistryError
from offline.harness import PipelineHarness, board_member, ranker_reports

GROUP = "recommender-ranker"
METRIC = "Conversions"  # the group's abTest.successMetricName in cdk.json
ALICE = board_member("alice")
BOB = board_member("bob")


def _champion(harness: PipelineHarness) -> str:
    registration, result = harness.promote(GROUP, "v1", ALICE, ranker_reports())
    assert result["status"] == "SUCCEEDED", result
    return registration.package_arn


def _traffic(
    harness: PipelineHarness, looks: list[dict[str, dict[str, int]]], later: dict[int, timedelta] | None = None
) -> list[dict[str, Any]]:
    """At evaluation n, publish ``looks[n]`` (what the variants saw since the last look); ``later[n]``
    moves that evaluation's clock forward. Returns what the endpoint served at each evaluation."""
    seen: list[dict[str, Any]] = []

    def before_evaluation(payload: dict[str, Any]) -> None:
        index = len(seen)
        seen.append(harness.serving(GROUP))
        if index < len(looks):
            harness.publish_variant_metrics(GROUP, looks[index], METRIC)
        if later and index in later:
            now = datetime.fromisoformat(payload["now"].replace("Z", "+00:00"))
            payload["now"] = (now + later[index]).isoformat()

    harness.on_invoke("DeploymentFunction", "evaluate", before_evaluation)
    return seen


def test_ab_test_first_version_is_deployed_as_champion_directly(harness: PipelineHarness) -> None:
    champion = _champion(harness)
    assert harness.serving_parameters(GROUP) == {"ChampionPackageArn": champion, "ChallengerPackageArn": ""}
    served = harness.serving(GROUP)
    assert list(served) == ["Champion"] and served["Champion"]["package_arn"] == champion
    assert harness.package(champion)["ModelLifeCycle"]["Stage"] == "Production"


def test_ab_test_clear_winner_takes_all_traffic_and_production(harness: PipelineHarness) -> None:
    champion = _champion(harness)
    seen = _traffic(
        harness,
        [{"Champion": {"invocations": 4000, "successes": 400}, "Challenger": {"invocations": 1000, "successes": 160}}],
    )
    shifted: list[dict[str, Any]] = []
    harness.on_invoke(
        "DeploymentFunction",
        "check",
        lambda p: shifted.append(harness.serving(GROUP)) if p["state"]["deployment"]["phase"] == "ab_shift" else None,
    )
    registration, result = harness.promote(GROUP, "v2", BOB, ranker_reports(ndcg=0.37))
    assert result["status"] == "SUCCEEDED", result
    # During the test both variants served, with the configured weights
    assert {v: s["weight"] for v, s in seen[0].items()} == {"Champion": 0.8, "Challenger": 0.2}
    assert seen[0]["Challenger"]["package_arn"] == registration.package_arn
    # The conclusion shifted all traffic to the challenger before the stack made it permanent
    assert {v: s["weight"] for v, s in shifted[0].items()} == {"Champion": 0.0, "Challenger": 1.0}
    assert harness.serving_parameters(GROUP) == {
        "ChampionPackageArn": registration.package_arn,
        "ChallengerPackageArn": "",
    }
    assert {v: s["package_arn"] for v, s in harness.serving(GROUP).items()} == {"Champion": registration.package_arn}
    assert harness.package(registration.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
    assert harness.package(champion)["ModelLifeCycle"]["Stage"] == "Archived"
    entry = [e for e in harness.ledger().history(GROUP) if e.version == 2 and e.to_stage == "Production"][-1]
    ab = entry.evidence["deployment"]["ab"]
    assert ab["decision"] == "challenger"
    assert ab["variants"]["Challenger"]["invocations"] == 1000 and ab["variants"]["Challenger"]["successes"] == 160
    assert ab["success"]["effect"] == pytest.approx(0.06) and ab["success_p_value"] <= 0.05
    assert ab["success"]["sequential"]["boundary"] == pytest.approx(
        1 / (0.8 * 0.05)
    )  # 80% of alpha: the guardrail has the rest


def test_ab_test_clear_loser_is_archived_and_the_champion_stays(harness: PipelineHarness) -> None:
    champion = _champion(harness)
    _traffic(
        harness,
        [{"Champion": {"invocations": 4000, "successes": 480}, "Challenger": {"invocations": 1000, "successes": 60}}],
    )
    registration, result = harness.promote(GROUP, "v2", BOB, ranker_reports(ndcg=0.37))
    assert harness.states_entered(result["executionArn"])[-3:] == [
        "DeploymentNextStep?",
        "RejectVersion",
        "VersionRejected",
    ]
    assert harness.serving_parameters(GROUP) == {"ChampionPackageArn": champion, "ChallengerPackageArn": ""}
    assert {v: s["package_arn"] for v, s in harness.serving(GROUP).items()} == {"Champion": champion}
    loser = harness.package(registration.package_arn)
    assert (loser["ModelLifeCycle"]["Stage"], loser["ModelLifeCycle"]["StageStatus"]) == ("Archived", "LostAbTest")
    assert loser["ModelApprovalStatus"] == "Rejected"
    assert harness.package(champion)["ModelLifeCycle"]["Stage"] == "Production"
    last = harness.ledger().history(GROUP)[-1]
    assert (last.version, last.decision, last.to_stage) == (2, "rejected", "Archived")
    assert last.evidence["deployment"]["ab"]["decision"] == "champion"
    assert "lost the A/B test" in last.reason


def test_ab_test_inconclusive_at_the_maximum_duration_keeps_the_champion(harness: PipelineHarness) -> None:
    champion = _champion(harness)
    even = {"Champion": {"invocations": 2400, "successes": 240}, "Challenger": {"invocations": 600, "successes": 61}}
    _traffic(harness, [even], later={1: timedelta(hours=169)})
    registration, result = harness.promote(GROUP, "v2", BOB, ranker_reports(ndcg=0.37))
    entered = harness.states_entered(result["executionArn"])
    assert entered.count("EvaluateAbTest") == 2 and entered.count("WaitForEvaluation") == 2
    assert entered[-2:] == ["RejectVersion", "VersionRejected"]
    assert {v: s["package_arn"] for v, s in harness.serving(GROUP).items()} == {"Champion": champion}
    loser = harness.package(registration.package_arn)
    assert loser["ModelLifeCycle"]["StageStatus"] == "AbTestInconclusive"
    last = harness.ledger().history(GROUP)[-1]
    ab = last.evidence["deployment"]["ab"]
    assert ab["decision"] == "inconclusive" and ab["looks"] == 2 and ab["success_p_value"] > 0.05
    assert "inconclusive" in last.reason


class MetricsUnavailable(RegistryError):
    """CloudWatch refusing GetMetricData permanently (e.g. a missing permission)."""


class StillUpdating(RegistryError):
    """The serving stack still updating past the deployment's deadline."""

    error_type = "DeploymentTimeoutError"


@pytest.mark.parametrize(
    ("action", "phase", "fault", "error_type"),
    [
        ("evaluate", "ab_start", MetricsUnavailable("AccessDenied: cloudwatch:GetMetricData"), "MetricsUnavailable"),
        ("check", "ab_start", StillUpdating("stack still updating after the deadline"), "DeploymentTimeoutError"),
    ],
    ids=["evaluation-fails", "deployment-times-out"],
)
def test_a_failed_or_timed_out_ab_test_restores_the_champion_and_records_it(
    harness: PipelineHarness, action: str, phase: str, fault: BaseException, error_type: str
) -> None:
    champion = _champion(harness)
    function = harness.function_name("DeploymentFunction")
    served_before_failure: list[dict[str, Any]] = []

    def fail(name: str, payload: dict[str, Any]) -> BaseException | None:
        if name == function and payload.get("action") == action:
            served_before_failure.append(harness.serving(GROUP))
            return fault
        return None

    harness.runner.faults.append(fail)
    registration, result = harness.promote(GROUP, "v2", BOB, ranker_reports(ndcg=0.37))
    assert result["status"] == "FAILED"
    entered = harness.states_entered(result["executionArn"])
    assert entered[-3:] == ["RestoreChampion", "RecordFailure", "PromotionFailed"]
    # the challenger was serving when the test failed ...
    assert {v: s["package_arn"] for v, s in served_before_failure[0].items()} == {
        "Champion": champion,
        "Challenger": registration.package_arn,
    }
    # ... and afterwards the champion alone serves, as the serving stack says
    assert harness.serving_parameters(GROUP) == {"ChampionPackageArn": champion, "ChallengerPackageArn": ""}
    assert {v: s["package_arn"] for v, s in harness.serving(GROUP).items()} == {"Champion": champion}
    weights = [params for _, params, _ in harness.stack_outcomes.updates]
    assert weights[-1] == {"ChampionPackageArn": champion, "ChallengerPackageArn": ""}
    entries = harness.ledger().history(GROUP)
    restored, failed = entries[-2], entries[-1]
    assert (restored.version, restored.decision, restored.transition) == (2, "rolled_back", "ab-champion-restored")
    assert "champion v1 restored to all traffic" in restored.reason and error_type in restored.reason
    assert restored.evidence["weights"] == {"Champion": 1.0, "Challenger": 0.0}
    assert restored.evidence["champion"] == champion
    assert failed.decision == "failed" and error_type in failed.reason
    assert failed.evidence["deployment"]["phase"] == phase
    # the restore is announced like every other decision: one notice carrying its ledger entry
    notes = [n for n in harness.notifications() if n.get("decision") == "rolled_back"]
    assert [(n["version"], n["evidence"]["champion"]) for n in notes] == [(2, champion)]
    assert "champion v1 restored to all traffic" in notes[0]["reason"]
    assert harness.package(registration.package_arn)["ModelApprovalStatus"] == "PendingManualApproval"
    assert harness.package(champion)["ModelLifeCycle"]["Stage"] == "Production"
    assert harness.ledger().verify(GROUP).intact


def test_a_failed_blue_green_deployment_restores_nothing_itself(harness: PipelineHarness) -> None:
    """Blue/green keeps the previous version through CloudFormation's rollback; restore only reports it."""
    from offline.samples import churn_reports

    function = harness.function_name("DeploymentFunction")
    harness.runner.faults.append(
        lambda name, payload: StillUpdating("stuck") if name == function and payload.get("action") == "check" else None
    )
    _, result = harness.promote("churn-classifier", "bg", ALICE, churn_reports())
    assert result["status"] == "FAILED"
    assert harness.states_entered(result["executionArn"])[-3:] == [
        "RestoreChampion",
        "RecordFailure",
        "PromotionFailed",
    ]
    assert [e.decision for e in harness.ledger().history("churn-classifier")][-1] == "failed"
    assert "rolled_back" not in [e.decision for e in harness.ledger().history("churn-classifier")]
