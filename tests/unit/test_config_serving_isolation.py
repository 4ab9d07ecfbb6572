"""Serving isolation keys: ``deployment.networkIsolation`` (default true) and ``deployment.vpc``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_config
from mlops_registry.core.config import ConfigError, publish, read_published

CONTEXT = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]
VPC = {"subnetIds": ["subnet-0abc12345def67890"], "securityGroupIds": ["sg-0123abcd"]}


def _with(deployment: dict[str, Any]) -> dict[str, Any]:
    context = copy.deepcopy(CONTEXT)
    context["registry"]["groups"][0]["deployment"].update(deployment)
    return context


def test_models_are_network_isolated_and_outside_a_vpc_by_default() -> None:
    deployment = load_config(CONTEXT, "dev").groups[0].deployment
    assert deployment.network_isolation is True
    assert deployment.vpc_subnet_ids == () and deployment.vpc_security_group_ids == ()


def test_a_group_opts_out_and_runs_in_a_vpc_and_the_runtime_json_round_trips() -> None:
    group = load_config(_with({"networkIsolation": False, "vpc": VPC}), "dev").groups[0]
    assert group.deployment.network_isolation is False
    assert group.deployment.vpc_subnet_ids == ("subnet-0abc12345def67890",)
    assert group.deployment.vpc_security_group_ids == ("sg-0123abcd",)
    assert read_published(publish(group)) == group


@pytest.mark.parametrize(
    ("deployment", "key", "problem"),
    [
        ({"networkIsolation": "no"}, "deployment.networkIsolation", "valid boolean"),
        ({"vpc": {"subnetIds": ["subnet-0abc12345def67890"]}}, "deployment.vpc.securityGroupIds", "Field required"),
        ({"vpc": {**VPC, "subnetIds": ["vpc-123"]}}, "deployment.vpc.subnetIds[0]", "should match pattern"),
        (
            {"vpc": {**VPC, "securityGroupIds": ["sg-0123abcd"] * 6}},
            "deployment.vpc.securityGroupIds",
            "at most 5 items",
        ),
    ],
)
def test_invalid_isolation_settings_are_rejected_naming_the_key(
    deployment: dict[str, Any], key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(_with(deployment), "dev")
    assert key in str(error.value) and problem in str(error.value)
