"""Where the CLI learns the managed groups: the deployed SSM parameters by default, or ``--config``.

Given policies published as the promotion stack publishes them (``/mlops-registry-<env>/groups/<g>``,
the JSON of ``mlops_registry.core.config.publish``), in an emulated account, the CLI runs from a folder
with no ``cdk.json``; one invalid value in one group fails only what needs that group, naming it.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_registry.cli.main import main
from mlops_registry.core.config import publish
from mlops_registry.core.config_document import environment_config
from tests.conftest import cdk_context
from tests.pipeline.test_cli_support import CliResult

REGION = "eu-west-1"
BAD_GROUP = "fraud-detector"


def _cli(*args: str) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    return CliResult(main([*args, "--region", REGION], stdout=out, stderr=err), out.getvalue(), err.getvalue())


def _published(env: str = "dev") -> dict[str, dict[str, Any]]:
    config = environment_config(cdk_context(), env)
    return {group.name: publish(group) for group in config.groups}


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Given the dev policies published, one of them with a canary beyond SageMaker's 50%, ten more
    groups (so the listing takes more than one GetParametersByPath page), and a working folder
    outside the checkout with no cdk.json."""
    for variable in ("REGISTRY_CONFIG", "REGISTRY_ENV", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        policies = _published()
        policies[BAD_GROUP]["deployment"]["blueGreen"]["canaryPercent"] = 70
        template = next(p for name, p in policies.items() if name != BAD_GROUP)
        for index in range(10):
            extra = copy.deepcopy(template)
            extra["name"] = f"extra-model-{index:02d}"
            policies[extra["name"]] = extra
        for name, policy in policies.items():
            ssm.put_parameter(Name=f"/mlops-registry-dev/groups/{name}", Value=json.dumps(policy), Type="String")
        # another environment's parameters are not this one's groups
        ssm.put_parameter(Name="/mlops-registry-staging/groups/other", Value="{}", Type="String")
        boto3.client("sagemaker", region_name=REGION).create_model_package_group(ModelPackageGroupName=BAD_GROUP)
        yield policies


def test_groups_come_from_the_deployed_parameters_and_a_bad_one_is_named(account: dict[str, Any]) -> None:
    # When a user lists the groups from a folder without cdk.json
    result = _cli("groups", "--output", "json")
    # Then every published group is listed (across pages), the valid ones with their policy
    assert result.code == 0, result.err
    rows = {row["group"]: row for row in result.json()["groups"]}
    assert sorted(rows) == sorted(account)
    assert len(rows) > 10
    assert rows["churn-classifier"]["deployment"] == "blue_green"
    assert rows["recommender-ranker"]["deployment"] == "ab_test"
    assert "other" not in rows
    # and the invalid group is reported by name, key path and value, on stderr and in the row
    problem = rows[BAD_GROUP]["policy_error"]
    assert "fraud-detector" in problem and "deployment.blueGreen.canaryPercent" in problem and "70" in problem
    assert "/mlops-registry-dev/groups/fraud-detector" in problem
    assert f"registry: warning: {problem}" in result.err


def test_only_commands_that_need_the_bad_policy_fail(account: dict[str, Any]) -> None:
    # status needs only to know the group is managed: it works
    status = _cli("status", "--group", BAD_GROUP, "--output", "json")
    assert status.code == 0, status.err
    assert status.json()["versions"] == []
    # register needs the policy: exit 2, one line naming the group, the key and the value
    register = _cli("register", "--group", BAD_GROUP, "--model-data", "s3://b/model.tar.gz", "--image", "i:1")
    assert register.code == 2
    assert "group 'fraud-detector'" in register.err and "canaryPercent" in register.err and "70" in register.err
    assert "Traceback" not in register.err


def test_unknown_group_and_undeployed_environment(account: dict[str, Any]) -> None:
    unknown = _cli("status", "--group", "no-such-model")
    assert unknown.code == 3
    assert "not managed" in unknown.err and "churn-classifier" in unknown.err
    nothing = _cli("groups", "--env", "prod")
    assert nothing.code == 3
    assert "/mlops-registry-prod/groups" in nothing.err and "--config" in nothing.err


def test_a_config_file_replaces_the_deployed_parameters(
    account: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the context object alone (no cdk.json around it) with one invalid value in one group
    context = copy.deepcopy(cdk_context())
    context["registry"]["environments"]["staging"].setdefault("groups", {})[BAD_GROUP] = {
        "deployment": {"instanceCount": 0}
    }
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"registry": context["registry"]}))
    # When the groups are read from it for staging
    result = _cli("groups", "--config", str(path), "--env", "staging", "--output", "json")
    # Then its groups are listed, and the bad one names the layer that set the value
    assert result.code == 0, result.err
    rows = {row["group"]: row for row in result.json()["groups"]}
    assert sorted(rows) == sorted(_published("staging"))
    assert result.json()["environment"] == "staging"
    problem = rows[BAD_GROUP]["policy_error"]
    assert "registry.environments.staging.groups.fraud-detector.deployment.instanceCount" in problem, problem
    assert rows["churn-classifier"]["policy_error"] is None
    # and REGISTRY_CONFIG does the same as --config
    monkeypatch.setenv("REGISTRY_CONFIG", str(path))
    monkeypatch.setenv("REGISTRY_ENV", "staging")
    assert _cli("groups", "--output", "json").json()["environment"] == "staging"


def test_a_bad_config_file_is_one_line(tmp_path: Path, account: dict[str, Any]) -> None:
    path = tmp_path / "cdk.json"
    path.write_text("{not json")
    result = _cli("groups", "--config", str(path))
    assert result.code == 2
    assert "not a readable JSON document" in result.err and "Traceback" not in result.err
    missing = _cli("groups", "--config", str(tmp_path / "absent.json"))
    assert (missing.code, "no such file" in missing.err) == (2, True)
