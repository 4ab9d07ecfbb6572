"""Deployment logic on in-memory fakes: waits without busy polling, outcomes, idempotent starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from serving import deployment, timing
from serving.ab_test import VariantCounts
from serving.deployment import DeploymentService
from serving.models import parse_task

from mlops_registry.core.config import GroupPolicy
from mlops_registry.core.errors import DeploymentError, DeploymentTimeoutError
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.stacks import StackView

ACCOUNT = "123456789012"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def arn(group: str, version: int) -> str:
    return f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/{group}/{version}"


def policy(mode: str = "blue_green", **blue_green: Any) -> dict[str, Any]:
    group = "churn" if mode == "blue_green" else "ranker"
    return GroupPolicy.model_validate(
        {
            "name": group,
            "features": ["a"],
            "metrics": [{"name": "auc", "baseline": 0.5, "direction": "higher_is_better"}],
            "champion_tolerance": 0.0,
            "fairness": {"protected_attributes": ["g"], "thresholds": [{"metric": "DI", "min": 0.8, "max": 1.25}]},
            "deployment": {
                "mode": mode,
                "instance_type": "ml.m5.large",
                "instance_count": 2,
                "max_instance_count": 4,
                "blue_green": {"traffic_routing": "canary", "wait_interval_seconds": 300, **blue_green},
                "ab_test": {"min_samples_per_variant": 500, "evaluation_interval_minutes": 60},
            },
            "validation": {"holdout": {"key": f"holdout/{group}.csv", "label_column": "y"}},
        }
    ).model_dump(mode="json")


class FakeStacks:
    def __init__(self, parameters: dict[str, str]) -> None:
        self.view = StackView("stack", "UPDATE_COMPLETE", dict(parameters))
        self.deploys: list[dict[str, str]] = []

    def describe(self, stack_name: str) -> StackView:
        return self.view

    def deploy(self, stack_name: str, target: dict[str, str], role_arn: str) -> bool:
        assert role_arn.endswith("-deploy")
        if self.view.serves(target):
            return False
        self.deploys.append(target)
        self.view = StackView("stack", "UPDATE_IN_PROGRESS", {**self.view.parameters, **target})
        return True

    def settle(self, status: str, parameters: dict[str, str] | None = None) -> None:
        self.view = StackView("stack", status, parameters if parameters is not None else self.view.parameters)

    def failure(self, stack_name: str, since: datetime) -> dict[str, Any]:
        return {"resource": "EndpointEndpoint", "reason": "alarm in ALARM"}


class FakeRegistry:
    def __init__(self, production: str | None = None) -> None:
        self.production = production
        self.lifecycle: list[tuple[str, str, str, str | None]] = []

    def describe(self, package_arn: str) -> PackageView:
        group, version = package_arn.rsplit("/", 2)[-2:]
        return PackageView(package_arn, group, int(version), "PendingManualApproval", "Staging", "InProgress", None)

    def current_production(self, group: str, exclude: str | None = None) -> PackageView | None:
        return self.describe(self.production) if self.production else None

    def set_lifecycle(
        self,
        package_arn: str,
        stage: str,
        status: str,
        description: str,
        approval_status: str | None = None,
        approval_description: str | None = None,
    ) -> None:
        self.lifecycle.append((package_arn, stage, status, approval_status))


class FakeTraffic:
    def __init__(self) -> None:
        self.weights: list[dict[str, float]] = []
        self.state = "InService"

    def status(self, endpoint: str) -> str:
        return self.state

    def set_weights(self, endpoint: str, weights: dict[str, float]) -> None:
        self.weights.append(weights)


class FakeMetrics:
    def __init__(self) -> None:
        self.values = {"Champion": VariantCounts(0, 0, 0), "Challenger": VariantCounts(0, 0, 0)}

    def counts(
        self, endpoint: str, variants: list[str], success_metric: str, start: datetime, end: datetime
    ) -> dict[str, VariantCounts]:
        assert end > start
        return self.values


class FakeLock:
    def __init__(self) -> None:
        self.ttls: list[int] = []

    def refresh(self, group: str, owner: str, package_arn: str, ttl_seconds: int) -> None:
        self.ttls.append(ttl_seconds)


def make(stacks: FakeStacks, registry: FakeRegistry | None = None) -> tuple[DeploymentService, dict[str, Any]]:
    parts = {
        "stacks": stacks,
        "traffic": FakeTraffic(),
        "metrics": FakeMetrics(),
        "registry": registry or FakeRegistry(),
        "lock": FakeLock(),
    }
    service = DeploymentService(env_name="dev", deploy_role_arn_prefix=f"arn:aws:iam::{ACCOUNT}:role/", **parts)  # type: ignore[arg-type]
    return service, parts


def task(action: str, state: dict[str, Any], now: datetime) -> Any:
    return parse_task(
        {"action": action, "state": state, "execution_arn": "arn:aws:states:x:1:execution:m:e", "now": now.isoformat()}
    )


def state_for(
    group: str, version: int, mode: str = "blue_green", deployment_record: dict[str, Any] | None = None, **bg: Any
) -> dict[str, Any]:
    return {
        "package_arn": arn(group, version),
        "group": group,
        "version": version,
        "policy": policy(mode, **bg),
        "approval": {"actor": "alice", "reason": "ok"},
        "deployment": deployment_record,
    }


def test_blue_green_wait_schedule_is_exponential_and_starts_when_a_deployment_could_be_done() -> None:
    canary = GroupPolicy.model_validate(policy()).deployment
    linear = GroupPolicy.model_validate(policy(traffic_routing="linear", linear_step_percent=25)).deployment
    assert deployment.first_wait_seconds(canary, "blue_green") == 600 + 300 + 300
    assert deployment.first_wait_seconds(linear, "blue_green") == 600 + 4 * 300 + 300
    assert [deployment.poll_wait_seconds(n) for n in range(6)] == [60, 120, 240, 480, 900, 900]
    assert deployment.deadline_seconds(canary) == 2 * (3600 + 300) + 600 + 1800


def test_the_bake_time_follows_the_traffic_routing_each_kind_of_endpoint_uses() -> None:
    # Given linear steps of 30 % with a 120 s baking period and a 600 s termination wait
    linear = GroupPolicy.model_validate(
        policy(
            traffic_routing="linear", linear_step_percent=30, wait_interval_seconds=120, termination_wait_seconds=600
        )
    ).deployment
    # Then a blue/green update bakes four times (SageMaker shifts 30, 30, 30, then the last 10 %)
    assert linear.blue_green.waiting_seconds == 4 * 120 + 600
    assert timing.bake_seconds(linear, "blue_green") == 4 * 120 + 600
    # And an A/B endpoint, updated all at once, bakes once whatever the blue/green routing says
    assert timing.bake_seconds(linear, "ab_start") == 120 + 600
    assert timing.first_wait_seconds(linear, "ab_conclude") == 600 + 120 + 600
    # And a canary bakes once: on the canary, before the rest of the fleet
    canary = GroupPolicy.model_validate(policy(wait_interval_seconds=120, termination_wait_seconds=600)).deployment
    assert timing.bake_seconds(canary, "blue_green") == 120 + 600


def test_blue_green_start_approves_updates_the_stack_and_waits() -> None:
    stacks = FakeStacks({"ModelPackageArn": arn("churn", 1)})
    service, parts = make(stacks)
    record = service.start(task("start", state_for("churn", 2), T0))
    assert stacks.deploys == [{"ModelPackageArn": arn("churn", 2)}]
    assert parts["registry"].lifecycle == [(arn("churn", 2), "Staging", "Deploying", "Approved")]
    assert (record.next, record.wait_seconds, record.previous) == (
        "wait_stack",
        1200,
        {"ModelPackageArn": arn("churn", 1)},
    )
    assert parts["lock"].ttls[0] >= record.wait_seconds + deployment.deadline_seconds(
        GroupPolicy.model_validate(policy()).deployment
    )


def test_blue_green_start_is_idempotent_when_the_stack_already_serves_the_candidate() -> None:
    stacks = FakeStacks({"ModelPackageArn": arn("churn", 2)})
    service, _ = make(stacks)
    record = service.start(task("start", state_for("churn", 2), T0))
    assert stacks.deploys == [] and record.wait_seconds == 0


def test_blue_green_start_that_cannot_update_restores_the_approval() -> None:
    class Refusing(FakeStacks):
        def deploy(self, stack_name: str, target: dict[str, str], role_arn: str) -> bool:
            raise DeploymentError("denied")

    service, parts = make(Refusing({"ModelPackageArn": ""}))
    with pytest.raises(DeploymentError):
        service.start(task("start", state_for("churn", 1), T0))
    assert [entry[3] for entry in parts["registry"].lifecycle] == ["Approved", "PendingManualApproval"]


def test_blue_green_check_outcomes() -> None:
    stacks = FakeStacks({"ModelPackageArn": arn("churn", 1)})
    service, _ = make(stacks)
    started = service.start(task("start", state_for("churn", 2), T0)).model_dump(mode="json")
    # still updating: back off
    waiting = service.check(task("check", state_for("churn", 2, deployment_record=started), T0 + timedelta(minutes=20)))
    assert (waiting.next, waiting.wait_seconds, waiting.checks) == ("wait_stack", 60, 1)
    # past the deadline: a typed timeout
    with pytest.raises(DeploymentTimeoutError):
        service.check(task("check", state_for("churn", 2, deployment_record=started), T0 + timedelta(hours=3)))
    # success
    stacks.settle("UPDATE_COMPLETE")
    done = service.check(task("check", state_for("churn", 2, deployment_record=started), T0 + timedelta(minutes=25)))
    assert (done.next, done.outcome, done.status) == ("promote", "deployed", "succeeded")
    # guardrail rollback: the previous parameters are back
    stacks.settle("UPDATE_ROLLBACK_COMPLETE", {"ModelPackageArn": arn("churn", 1)})
    rolled = service.check(task("check", state_for("churn", 2, deployment_record=started), T0 + timedelta(minutes=25)))
    assert (rolled.next, rolled.outcome) == ("reject", "rolled_back")
    assert rolled.rollback == {
        "resource": "EndpointEndpoint",
        "reason": "alarm in ALARM",
        "serving": {"ModelPackageArn": arn("churn", 1)},
    }
    # a stack that already serves the candidate is a success, whatever operation got it there
    stacks.settle("UPDATE_ROLLBACK_COMPLETE", {"ModelPackageArn": arn("churn", 2)})
    assert service.check(task("check", state_for("churn", 2, deployment_record=started), T0)).next == "promote"
    # a stack that cannot settle needs an operator
    stacks.settle("UPDATE_ROLLBACK_FAILED")
    with pytest.raises(DeploymentError, match="needs an operator"):
        service.check(task("check", state_for("churn", 2, deployment_record=started), T0))
    # another update won the race
    stacks.settle("UPDATE_COMPLETE", {"ModelPackageArn": arn("churn", 3)})
    with pytest.raises(DeploymentError, match="another update intervened"):
        service.check(task("check", state_for("churn", 2, deployment_record=started), T0))


def test_ab_test_phases_from_challenger_to_winner() -> None:
    stacks = FakeStacks({"ChampionPackageArn": arn("ranker", 1), "ChallengerPackageArn": ""})
    service, parts = make(stacks, FakeRegistry(production=arn("ranker", 1)))
    record = service.start(task("start", state_for("ranker", 2, "ab_test"), T0))
    assert record.phase == "ab_start" and stacks.deploys[-1] == {
        "ChampionPackageArn": arn("ranker", 1),
        "ChallengerPackageArn": arn("ranker", 2),
    }
    stacks.settle("UPDATE_COMPLETE")
    running = service.check(
        task("check", state_for("ranker", 2, "ab_test", record.model_dump(mode="json")), T0 + timedelta(minutes=30))
    )
    assert (running.next, running.wait_seconds) == ("wait_evaluation", 3600)
    # not enough samples yet
    look = service.evaluate(
        task("evaluate", state_for("ranker", 2, "ab_test", running.model_dump(mode="json")), T0 + timedelta(hours=2))
    )
    assert (look.next, look.evaluations) == ("wait_evaluation", 1)
    parts["metrics"].values = {"Champion": VariantCounts(4000, 400, 0), "Challenger": VariantCounts(1000, 160, 0)}
    concluded = service.evaluate(
        task("evaluate", state_for("ranker", 2, "ab_test", look.model_dump(mode="json")), T0 + timedelta(hours=3))
    )
    assert (concluded.phase, concluded.outcome, concluded.next) == ("ab_shift", "challenger_won", "wait_stack")
    assert parts["traffic"].weights == [{"Champion": 0.0, "Challenger": 1.0}]
    # the endpoint is still applying the weights: wait; then the stack is updated to the winner alone
    parts["traffic"].state = "Updating"
    shifting = service.check(
        task(
            "check",
            state_for("ranker", 2, "ab_test", concluded.model_dump(mode="json")),
            T0 + timedelta(hours=3, minutes=1),
        )
    )
    assert shifting.phase == "ab_shift" and shifting.next == "wait_stack"
    parts["traffic"].state = "InService"
    permanent = service.check(
        task(
            "check",
            state_for("ranker", 2, "ab_test", concluded.model_dump(mode="json")),
            T0 + timedelta(hours=3, minutes=2),
        )
    )
    assert permanent.phase == "ab_conclude" and stacks.deploys[-1] == {
        "ChampionPackageArn": arn("ranker", 2),
        "ChallengerPackageArn": "",
    }
    stacks.settle("UPDATE_COMPLETE")
    final = service.check(
        task("check", state_for("ranker", 2, "ab_test", permanent.model_dump(mode="json")), T0 + timedelta(hours=4))
    )
    assert final.next == "promote"
    # a conclusion the stack then rolls back is an error: traffic and IaC disagree
    stacks.settle(
        "UPDATE_ROLLBACK_COMPLETE", {"ChampionPackageArn": arn("ranker", 1), "ChallengerPackageArn": arn("ranker", 2)}
    )
    with pytest.raises(DeploymentError, match="rolled back"):
        service.check(
            task("check", state_for("ranker", 2, "ab_test", permanent.model_dump(mode="json")), T0 + timedelta(hours=4))
        )


def test_ab_test_without_a_champion_deploys_the_first_version_as_champion() -> None:
    stacks = FakeStacks({"ChampionPackageArn": "", "ChallengerPackageArn": ""})
    service, _ = make(stacks)
    record = service.start(task("start", state_for("ranker", 1, "ab_test"), T0))
    assert record.phase == "champion" and stacks.deploys == [
        {"ChampionPackageArn": arn("ranker", 1), "ChallengerPackageArn": ""}
    ]
    stacks.settle("UPDATE_COMPLETE")
    assert (
        service.check(task("check", state_for("ranker", 1, "ab_test", record.model_dump(mode="json")), T0)).next
        == "promote"
    )


def test_evaluation_interval_stretches_to_fit_the_execution_history() -> None:
    ab = GroupPolicy.model_validate(policy("ab_test")).deployment
    assert deployment.evaluation_wait_seconds(ab) == 3600
    long_test = ab.model_copy(
        update={"ab_test": ab.ab_test.model_copy(update={"max_duration_hours": 2160, "evaluation_interval_minutes": 1})}
    )
    assert deployment.evaluation_wait_seconds(long_test) == 2160 * 3600 // timing.MAX_EVALUATIONS


def test_malformed_tasks_name_the_field() -> None:
    with pytest.raises(Exception, match="state.deployment: required for action 'check'"):
        task("check", state_for("churn", 1), T0)
    with pytest.raises(Exception, match="now"):
        parse_task({"action": "start", "state": state_for("churn", 1), "execution_arn": "x", "now": "yesterday"})
    with pytest.raises(Exception, match="action"):
        parse_task({"action": "deploy", "state": state_for("churn", 1), "execution_arn": "x", "now": T0.isoformat()})
