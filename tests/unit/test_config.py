"""Config validation: every invalid config is rejected with the key path in the message."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.config import ConfigError, GroupConfig, load_config

CONTEXT = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]


def _context() -> dict[str, Any]:
    return copy.deepcopy(CONTEXT)


def test_shipped_environments_load_with_three_groups_and_an_ab_test() -> None:
    for env in ("dev", "staging", "prod"):
        config = load_config(CONTEXT, env)
        assert len(config.groups) >= 3
        assert any(g.deployment.mode == "ab_test" for g in config.groups)
    assert load_config(CONTEXT).name == "dev"


def test_group_policy_round_trips_through_its_runtime_json() -> None:
    group = load_config(CONTEXT, "prod").groups[0]
    assert GroupConfig.from_runtime(json.loads(json.dumps(group.to_runtime()))) == group


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(ctx: dict[str, Any]) -> None:
        node = ctx["environments"]
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _duplicate_group(ctx: dict[str, Any]) -> None:
    groups = ctx["environments"]["dev"]["groups"]
    groups.append(copy.deepcopy(groups[0]))


CASES = [
    ("unknown env", None, "qa", "env"),
    ("duplicate group", _duplicate_group, "dev", "environments.dev.groups[3].name"),
    ("malformed account", _set(["dev", "account"], "12345"), "dev", "environments.dev.account"),
    (
        "malformed reader account",
        _set(["dev", "registryReaderAccounts"], ["abc"]),
        "dev",
        "environments.dev.registryReaderAccounts[0]",
    ),
    ("bad region", _set(["dev", "region"], "mars-1"), "dev", "environments.dev.region"),
    ("bad email", _set(["dev", "reviewBoardEmails"], ["not-an-email"]), "dev", "environments.dev.reviewBoardEmails[0]"),
    (
        "unknown deployment mode",
        _set(["dev", "groups", 0, "deployment", "mode"], "shadow"),
        "dev",
        "environments.dev.groups[0].deployment.mode",
    ),
    (
        "tolerance out of range",
        _set(["dev", "groups", 0, "championTolerance"], 1.5),
        "dev",
        "environments.dev.groups[0].championTolerance",
    ),
    (
        "significance out of range",
        _set(["dev", "groups", 2, "deployment", "abTest", "significanceLevel"], 0.5),
        "dev",
        "environments.dev.groups[2].deployment.abTest.significanceLevel",
    ),
    (
        "minimum detectable effect not positive",
        _set(["dev", "groups", 2, "deployment", "abTest", "minimumDetectableEffect"], 0),
        "dev",
        "environments.dev.groups[2].deployment.abTest.minimumDetectableEffect",
    ),
    (
        "weight out of range",
        _set(["dev", "groups", 2, "deployment", "abTest", "challengerWeight"], 1.0),
        "dev",
        "environments.dev.groups[2].deployment.abTest.challengerWeight",
    ),
    (
        "guardrail timeout below SageMaker range",
        _set(["dev", "groups", 0, "deployment", "blueGreen", "maximumExecutionTimeoutSeconds"], 60),
        "dev",
        "environments.dev.groups[0].deployment.blueGreen.maximumExecutionTimeoutSeconds",
    ),
    (
        "wait interval above SageMaker range",
        _set(["dev", "groups", 0, "deployment", "blueGreen", "waitIntervalSeconds"], 7200),
        "dev",
        "environments.dev.groups[0].deployment.blueGreen.waitIntervalSeconds",
    ),
    (
        "fairness min above max",
        _set(["dev", "groups", 0, "fairness", "thresholds", 0, "min"], 0.5),
        "dev",
        "environments.dev.groups[0].fairness.thresholds[0].min",
    ),
    (
        "metric direction",
        _set(["dev", "groups", 0, "metrics", 0, "direction"], "up"),
        "dev",
        "environments.dev.groups[0].metrics[0].direction",
    ),
    (
        "NaN baseline",
        _set(["dev", "groups", 0, "metrics", 0, "baseline"], float("nan")),
        "dev",
        "environments.dev.groups[0].metrics[0].baseline",
    ),
    ("group name pattern", _set(["dev", "groups", 0, "name"], "bad_name!"), "dev", "environments.dev.groups[0].name"),
    ("no groups", _set(["dev", "groups"], []), "dev", "environments.dev.groups"),
    (
        "instance type",
        _set(["dev", "groups", 0, "deployment", "instanceType"], "m5.large"),
        "dev",
        "environments.dev.groups[0].deployment.instanceType",
    ),
    (
        "psi threshold",
        _set(["dev", "groups", 0, "monitoring", "psiThreshold"], 0),
        "dev",
        "environments.dev.groups[0].monitoring.psiThreshold",
    ),
    (
        "risk rating",
        _set(["dev", "groups", 0, "riskRating"], "extreme"),
        "dev",
        "environments.dev.groups[0].riskRating",
    ),
    ("approval timeout", _set(["dev", "approvalTimeoutHours"], 0), "dev", "environments.dev.approvalTimeoutHours"),
]


@pytest.mark.parametrize(("case", "mutate", "env", "key"), CASES, ids=[c[0] for c in CASES])
def test_invalid_config_is_rejected_naming_the_key(case: str, mutate: Any, env: str, key: str) -> None:
    # Given the shipped config with one bad value
    ctx = _context()
    if mutate:
        mutate(ctx)
    # When it is loaded, Then the error names the key path
    with pytest.raises(ConfigError) as raised:
        load_config(ctx, env)
    assert raised.value.key == key
    assert f"'{key}'" in str(raised.value)


def test_minimum_detectable_effect_defaults_and_reaches_the_runtime_policy() -> None:
    from registry_core.policy import GroupPolicy

    ab_group = next(g for g in load_config(CONTEXT, "dev").groups if g.deployment.mode == "ab_test")
    assert ab_group.deployment.ab_test.minimum_detectable_effect == 0.1
    ctx = _context()
    _set(["dev", "groups", 2, "deployment", "abTest", "minimumDetectableEffect"], 0.05)(ctx)
    group = load_config(ctx, "dev").groups[2]
    policy = GroupPolicy.model_validate(group.to_runtime())
    assert policy.deployment.ab_test.minimum_detectable_effect == 0.05
