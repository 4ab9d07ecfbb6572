"""``--output yaml``, ``status --watch`` and ``registry completion``, on an emulated account.

YAML is read back with PyYAML and must equal the JSON document; the bash completion script is
executed by bash itself.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from mlops_registry.cli.commands import status as status_command
from mlops_registry.cli.main import main
from mlops_registry.core.config import publish
from mlops_registry.core.config_document import environment_config
from offline.harness.emulator import sagemaker_extensions
from tests.conftest import cdk_context
from tests.pipeline.test_cli_support import CliResult

REGION = "eu-west-1"
GROUP = "churn-classifier"


def _cli(*args: str) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    return CliResult(main([*args, "--region", REGION], stdout=out, stderr=err), out.getvalue(), err.getvalue())


def _script(shell: str) -> str:
    out = io.StringIO()
    assert main(["completion", shell], stdout=out, stderr=io.StringIO()) == 0
    return out.getvalue()


def _set_stage(sm: Any, arn: str, stage: str, status: str) -> None:
    sm.update_model_package(ModelPackageArn=arn, ModelLifeCycle={"Stage": stage, "StageStatus": status})


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """Given the dev policies published and one version of the group in Staging, still evaluated."""
    for variable in ("REGISTRY_CONFIG", "REGISTRY_ENV", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    with mock_aws(), sagemaker_extensions():  # ModelLifeCycle, as SageMaker keeps it
        ssm = boto3.client("ssm", region_name=REGION)
        for group in environment_config(cdk_context(), "dev").groups:
            ssm.put_parameter(
                Name=f"/mlops-registry-dev/groups/{group.name}", Value=json.dumps(publish(group)), Type="String"
            )
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="mlops-registry-dev-approvals",
            KeySchema=[{"AttributeName": "package_arn", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "package_arn", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sm = boto3.client("sagemaker", region_name=REGION)
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        arn = sm.create_model_package(
            ModelPackageGroupName=GROUP,
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        _set_stage(sm, arn, "Staging", "InProgress")
        yield sm, arn


def test_yaml_is_the_json_document(account: tuple[Any, str]) -> None:
    as_json = _cli("status", "--group", GROUP, "--output", "json").json()
    result = _cli("status", "--group", GROUP, "--output", "yaml")
    assert result.code == 0, result.err
    assert yaml.safe_load(result.out) == as_json
    groups = _cli("groups", "-o", "yaml")
    assert yaml.safe_load(groups.out)["environment"] == "dev"


def test_watch_refreshes_until_every_version_is_terminal(
    account: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sm, arn = account
    moves = iter([("Staging", "PendingApproval"), ("Production", "Deployed")])
    pauses: list[float] = []

    def the_pipeline_moves(seconds: float) -> None:  # between refreshes the version advances
        pauses.append(seconds)
        _set_stage(sm, arn, *next(moves))

    monkeypatch.setattr(status_command.time, "sleep", the_pipeline_moves)
    result = _cli("status", "--group", GROUP, "--watch", "--interval", "0.5", "--output", "json")
    assert result.code == 0, result.err
    refreshes = [json.loads(line) for line in result.out.splitlines()]
    assert [(r["versions"][0]["stage"], r["versions"][0]["stage_status"]) for r in refreshes] == [
        ("Staging", "InProgress"),
        ("Staging", "PendingApproval"),
        ("Production", "Deployed"),
    ]
    assert pauses == [0.5, 0.5]
    assert "terminal stage; stopped watching" in result.err


def test_watch_stops_on_ctrl_c_and_rejects_a_bad_interval(
    account: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def ctrl_c(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(status_command.time, "sleep", ctrl_c)
    result = _cli("status", "--group", GROUP, "--watch")
    assert result.code == 0, result.err
    assert result.out.count("VERSION") == 1 and "Ctrl-C stops" in result.out
    assert "stopped watching" in result.err
    bad = _cli("status", "--group", GROUP, "--watch", "--interval", "0")
    assert (bad.code, "--interval" in bad.err) == (2, True)


def _complete(script: str, words: list[str]) -> list[str]:
    """What bash offers after ``words`` (the last one is being typed), with the generated script loaded."""
    program = (
        script
        + "\nCOMP_WORDS=("
        + " ".join(f"'{w}'" for w in words)
        + f")\nCOMP_CWORD={len(words) - 1}\n_registry_complete\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True, timeout=30)
    return done.stdout.split()


def test_bash_completion_runs_in_bash() -> None:
    script = _script("bash")
    assert "complete -o default -F _registry_complete registry" in script
    assert _complete(script, ["registry", "st"]) == ["status"]
    assert _complete(script, ["registry", "status", "--wa"]) == ["--watch"]
    assert _complete(script, ["registry", "status", "--output", ""]) == ["table", "json", "yaml"]
    assert _complete(script, ["registry", "rollback", "--re"]) == ["--reason", "--region"]
    assert _complete(script, ["registry", "completion", "f"]) == ["fish"]


def test_zsh_and_fish_scripts_cover_every_command() -> None:
    zsh, fish = _script("zsh"), _script("fish")
    assert zsh.startswith("#compdef registry") and "bashcompinit" in zsh and "_registry_complete" in zsh
    for command in ("groups", "register", "status", "approve", "reject", "history", "rollback", "describe"):
        assert f"-n __fish_use_subcommand -a {command} " in fish
    assert "-n '__fish_seen_subcommand_from status' -l watch -s w" in fish
    assert "-l output -s o -r -a 'table json yaml'" in fish


@pytest.mark.parametrize(
    ("until", "stops_at"), [("board", ("Staging", "PendingApproval")), ("final", ("Production", "Deployed"))]
)
def test_register_wait_reports_every_stage_until_it_stops(
    account: tuple[Any, str], monkeypatch: pytest.MonkeyPatch, until: str, stops_at: tuple[str, str]
) -> None:
    import argparse

    from mlops_registry.cli.commands import register as register_command
    from mlops_registry.cli.context import CliContext

    sm, arn = account
    moves = iter([("Staging", "PendingApproval"), ("Staging", "PendingApproval"), ("Production", "Deployed")])
    monkeypatch.setattr(register_command.time, "sleep", lambda seconds: _set_stage(sm, arn, *next(moves)))
    err = io.StringIO()
    args = argparse.Namespace(region=REGION, profile=None, endpoint_url=None, config=None, env=None, quiet=False)
    ctx = CliContext(args=args, stdout=io.StringIO(), stderr=err)
    result = register_command._wait_for_pipeline(ctx, arn, 60.0, final_only=until == "final")
    assert result == (*stops_at, True)
    progress = err.getvalue()
    assert "waiting for the pipeline (Staging / InProgress)" in progress
    assert f"version 1: {stops_at[0]} / {stops_at[1]}" in progress
    if until == "final":
        assert "waiting for the pipeline (Staging / PendingApproval)" in progress
