"""The CLI end to end on the offline harness: groups, status, approve/reject, history, describe, rollback.

One emulated registry is operated for the whole module (so the read-only commands see real pipeline
state without re-running it per test): v1 registered with the CLI and approved with the CLI, v2
approved by --group/--version (v1 archived), v3 rejected with the CLI, v4 left awaiting the board,
and the group's endpoint serving v2 (as the serving stack would deploy it).
"""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlops_registry.cli.main import main
from mlops_registry.core import names
from mlops_registry.core import rollback as rollback_service
from mlops_registry.core.approvals import ApprovalStore
from mlops_registry.core.ledger import now_iso
from mlops_registry.core.rollback import RollbackPorts
from offline.harness import PipelineHarness, board_member
from tests.pipeline.test_cli_support import (
    BOARD_PROFILE,
    COMMIT,
    GROUP,
    HYPERPARAMETERS,
    CliResult,
    announce_cli_registration,
    board_credentials_file,
    register_args,
    run_cli,
    upload_inputs,
)

CALLER = board_member("cli-reviewer")  # the identity SageMaker records for the CLI's decisions
OPERATOR = "arn:aws:sts::123456789012:user/moto"  # moto's STS identity: the CLI's default credentials


@dataclass
class Operated:
    harness: PipelineHarness
    arns: dict[str, str] = field(default_factory=dict)
    results: dict[str, CliResult] = field(default_factory=dict)
    moments: dict[str, str] = field(default_factory=dict)


def _cli(*args: str) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    return CliResult(main(list(args), stdout=out, stderr=err), out.getvalue(), err.getvalue())


def _register(state: Operated, tag: str, **reports: Any) -> str:
    from offline.samples import churn_reports

    result = _cli(*register_args(upload_inputs(state.harness, tag, churn_reports(**reports))))
    assert result.code == 0, result.err
    arn = str(result.json()["package_arn"])
    announce_cli_registration(state.harness, arn)
    assert state.harness.pending_approval(arn)
    state.arns[tag] = arn
    return arn


def _serve(harness: PipelineHarness, package_arn: str) -> None:
    """What the serving stack deploys: the group's endpoint running the package (unless it already does)."""
    endpoint = names.endpoint_name("dev", GROUP)
    try:
        harness.sm.describe_endpoint(EndpointName=endpoint)
        return  # the pipeline's deployment created it
    except ClientError:
        pass
    harness.sm.create_model(
        ModelName="churn-serving-model",
        PrimaryContainer={"ModelPackageName": package_arn},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/serving",
    )
    harness.sm.create_endpoint_config(
        EndpointConfigName="churn-serving-config",
        ProductionVariants=[
            {
                "VariantName": "Primary",
                "ModelName": "churn-serving-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "InitialVariantWeight": 1.0,
            }
        ],
    )
    harness.sm.create_endpoint(EndpointName=endpoint, EndpointConfigName="churn-serving-config")


@pytest.fixture(scope="module")
def operated(synthesized: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operated]:
    # Decisions reach the dispatcher as SageMaker's events do (the CLI only sets the approval status).
    with (
        PipelineHarness(synthesized.outdir, synthesized.templates, emit_events=True) as harness,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv(
            "AWS_SHARED_CREDENTIALS_FILE",
            board_credentials_file(harness, tmp_path_factory.mktemp("aws"), "cli-reviewer"),
        )
        state = Operated(harness)
        state.moments["before"] = now_iso()
        time.sleep(0.01)
        v1 = _register(state, "v1")
        state.results["approve-v1"] = _cli(
            "approve", "--arn", v1, "--reason", "v1 reviewed", "--wait", "--timeout", "30", "--output", "json",
            "--profile", BOARD_PROFILE,
        )  # fmt: skip
        state.moments["after-v1"] = now_iso()
        time.sleep(0.01)
        _register(state, "v2", auc=0.87)
        state.results["approve-v2"] = _cli(
            "approve", "--group", GROUP, "--version", "2", "--reason", "v2 reviewed", "--wait", "--timeout", "30",
            "--profile", BOARD_PROFILE,
        )  # fmt: skip
        state.moments["after-v2"] = now_iso()
        v3 = _register(state, "v3", auc=0.88)
        state.results["reject-v3"] = _cli(
            "reject", "--arn", v3, "--reason", "bias review failed", "--wait", "--timeout", "30", "--output", "json",
            "--profile", BOARD_PROFILE,
        )  # fmt: skip
        _register(state, "v4", auc=0.88)
        _serve(harness, state.arns["v2"])
        yield state


# --- approve / reject ------------------------------------------------------------------------------
def test_cli_approve_resumes_the_waiting_pipeline(operated: Operated) -> None:
    result = operated.results["approve-v1"]
    assert result.code == 0, result.err
    data = result.json()
    assert data["decision"] == "Approved"
    assert data["actor"] == CALLER
    assert data["reason"] == "v1 reviewed"
    assert data["execution_status"] == "SUCCEEDED"
    assert data["stage"] == "Production"
    assert "waiting for the promotion execution" in result.err or "promotion execution succeeded" in result.err
    table = operated.results["approve-v2"]
    assert table.code == 0, table.err
    assert "Approved churn-classifier v2" in table.out
    package = operated.harness.package(operated.arns["v1"])
    assert package["ModelLifeCycle"]["Stage"] == "Archived"


def test_cli_reject_resumes_the_waiting_pipeline(operated: Operated) -> None:
    result = operated.results["reject-v3"]
    assert result.code == 0, result.err
    data = result.json()
    assert (data["decision"], data["stage"], data["stage_status"]) == ("Rejected", "Archived", "Rejected")
    last = [e for e in operated.harness.ledger().history(GROUP) if e.version == 3][-1]
    assert last.decision == "rejected"
    assert last.actor == CALLER
    assert "bias review failed" in last.reason


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (
            ["approve", "--group", GROUP, "--version", "1", "--reason", "again"],
            3,
            "no review-board approval is pending",
        ),
        (["approve", "--group", GROUP, "--version", "99", "--reason", "x"], 3, "has no version 99"),
        (["reject", "--group", "unknown-group", "--version", "1", "--reason", "x"], 3, "not managed"),
        (["approve", "--arn", "not-an-arn", "--reason", "x"], 2, "not a versioned model package ARN"),
        (
            [
                "approve",
                "--arn",
                "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/77",
                "--reason",
                "x",
            ],
            3,
            "does not exist",
        ),
        (
            [
                "approve",
                "--arn",
                "arn:aws:sagemaker:eu-west-1:123456789012:model-package/other-group/1",
                "--reason",
                "x",
            ],
            3,
            "not managed",
        ),
        (["reject", "--group", GROUP, "--version", "4"], 2, "--reason"),
        (["reject", "--group", GROUP, "--version", "4", "--reason", "   "], 2, "must not be empty"),
        (["approve", "--reason", "no target"], 2, "--arn"),
    ],
    ids=[
        "nothing-pending",
        "unknown-version",
        "unknown-group",
        "malformed-arn",
        "unknown-arn",
        "unmanaged-arn",
        "reason-missing",
        "reason-empty",
        "no-target",
    ],
)
def test_cli_approve_and_reject_errors(
    operated: Operated, capsys: pytest.CaptureFixture[str], args: list[str], code: int, fragment: str
) -> None:
    result = run_cli(capsys, *args)
    assert result.code == code, (result.out, result.err)
    assert fragment in result.err
    assert result.out == ""
    # v4 still waits for the board: no failed call resumed anything
    store = ApprovalStore(operated.harness.table("-approvals"), dynamodb=operated.harness.ddb)
    assert store.get(operated.arns["v4"]) is not None


# --- groups / status -------------------------------------------------------------------------------
def test_cli_groups_shows_each_managed_group_and_its_production_version(
    operated: Operated, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "groups", "--output", "json")
    assert result.code == 0, result.err
    groups = {g["group"]: g for g in result.json()["groups"]}
    assert set(groups) == {"churn-classifier", "fraud-detector", "recommender-ranker"}
    churn = groups[GROUP]
    assert (churn["production_version"], churn["production_arn"], churn["versions"]) == (2, operated.arns["v2"], 4)
    assert churn["production_since"] is not None
    assert groups["fraud-detector"]["production_version"] is None
    assert "reading group churn-classifier" in result.err  # progress goes to stderr
    table = run_cli(capsys, "groups")
    assert table.code == 0
    assert table.out.splitlines()[1].split()[:3] == ["GROUP", "DEPLOYMENT", "RISK"]
    assert any(line.startswith("churn-classifier") and " v2 " in line for line in table.out.splitlines())


def test_cli_status_shows_stage_approval_and_what_serves(
    operated: Operated, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "status", "--group", GROUP, "--output", "json")
    assert result.code == 0, result.err
    data = result.json()
    rows = {row["version"]: row for row in data["versions"]}
    assert [row["version"] for row in data["versions"]] == [4, 3, 2, 1]
    assert (rows[4]["stage"], rows[4]["stage_status"], rows[4]["awaiting_board"]) == (
        "Staging",
        "PendingApproval",
        True,
    )
    assert (rows[3]["stage"], rows[3]["stage_status"], rows[3]["approval_status"]) == (
        "Archived",
        "Rejected",
        "Rejected",
    )
    assert (rows[2]["stage"], rows[2]["approval_status"], rows[2]["serving"]) == (
        "Production",
        "Approved",
        "Primary 100%",
    )
    assert (rows[1]["stage"], rows[1]["stage_status"], rows[1]["serving"]) == ("Archived", "Replaced", None)
    assert data["endpoint"]["status"] == "InService"
    assert data["endpoint"]["variants"][0]["package_arn"] == operated.arns["v2"]
    table = run_cli(capsys, "status", "--group", GROUP, "--limit", "2")
    assert table.code == 0
    lines = table.out.splitlines()
    assert "endpoint mlops-registry-dev-churn-classifier: InService" in lines[0]
    assert lines[1].split()[:2] == ["VERSION", "STAGE"]
    assert len(lines) == 4 and "(board asked" in lines[2]


# --- history ---------------------------------------------------------------------------------------
def test_cli_history_lists_the_audit_ledger(operated: Operated, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "history", "--group", GROUP, "--output", "json")
    assert result.code == 0, result.err
    entries = result.json()["entries"]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    production = [e for e in entries if e["to_stage"] == "Production" and e["decision"] == "entered"]
    assert [(e["version"], e["actor"]) for e in production] == [(1, CALLER), (2, CALLER)]
    only_v3 = run_cli(capsys, "history", "--group", GROUP, "--version", "3")
    assert only_v3.code == 0
    assert "rejected" in only_v3.out and "bias review failed" in only_v3.out
    assert all(" 3 " in line for line in only_v3.out.splitlines()[1:])


def test_cli_history_at_a_time_names_the_version_and_its_approver(
    operated: Operated, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_cli(capsys, "history", "--group", GROUP, "--at", operated.moments["after-v1"], "--output", "json")
    assert first.code == 0, first.err
    assert (first.json()["version"], first.json()["approved_by"]) == (1, CALLER)
    assert first.json()["package_arn"] == operated.arns["v1"]
    second = run_cli(capsys, "history", "--group", GROUP, "--at", operated.moments["after-v2"])
    assert second.code == 0
    assert second.out.startswith(f"{GROUP} at ")
    fields = dict(line.strip().split(None, 1) for line in second.out.splitlines()[1:] if line.strip())
    assert fields["version"] == "v2"
    assert fields["package"] == operated.arns["v2"]


@pytest.mark.parametrize(
    ("at", "code", "fragment"),
    [("2001-01-01T00:00:00Z", 3, "was in Production"), ("yesterday", 2, "not an ISO-8601 time")],
)
def test_cli_history_at_errors(
    operated: Operated, capsys: pytest.CaptureFixture[str], at: str, code: int, fragment: str
) -> None:
    result = run_cli(capsys, "history", "--group", GROUP, "--at", at)
    assert result.code == code
    assert fragment in result.err


# --- describe --------------------------------------------------------------------------------------
def test_cli_describe_shows_the_lineage_from_data_to_endpoint(
    operated: Operated, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = operated.arns["v2"]
    result = run_cli(capsys, "describe", "--arn", arn, "--output", "json")
    assert result.code == 0, result.err
    data = result.json()
    lineage = data["lineage"]
    assert lineage["missing"] == []
    assert lineage["hyperparameters"] == HYPERPARAMETERS
    assert (lineage["commit_id"], lineage["training_job"]) == (COMMIT, "churn-train-v2")
    assert lineage["training_job_details"]["found"] is False
    chain = {step["step"]: step["value"] for step in data["lineage_chain"]}
    assert list(chain) == ["data", "code", "params", "training-job", "package", "endpoint"]
    assert chain["data"].endswith("/datasets/churn-classifier/v2/train.csv")
    assert chain["code"] == f"https://github.com/example/churn-model@{COMMIT}"
    assert json.loads(chain["params"]) == HYPERPARAMETERS
    assert (chain["package"], chain["endpoint"]) == (arn, "mlops-registry-dev-churn-classifier")
    assert data["model_card"]["risk_rating"] == "Medium"
    assert data["model_card"]["evaluation"][0]["metric_groups"][0]["metric_data"]
    assert data["serving"]["this_version"]["variant"] == "Primary"
    assert [e["to_stage"] for e in data["ledger"]][-1] == "Production"
    assert data["reports"]["feature_baseline"].endswith("/v2/feature-baseline.json")
    table = run_cli(capsys, "describe", "--group", GROUP, "--version", "2")
    assert table.code == 0, table.err
    assert "lineage  data: s3://" in table.out
    assert "→  training-job: churn-train-v2  →  package: " in table.out
    assert "this version serves on Primary" in table.out


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (
            ["describe", "--arn", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/42"],
            3,
            "does not exist",
        ),
        (["describe", "--group", GROUP, "--version", "42"], 3, "has no version 42"),
        (
            ["describe", "--arn", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier"],
            2,
            "not a versioned",
        ),
        (["describe", "--group", "no-such-group", "--version", "1"], 3, "not managed"),
        (["status", "--group", "no-such-group"], 3, "not managed"),
        (["history", "--group", "no-such-group"], 3, "not managed"),
    ],
    ids=[
        "unknown-arn",
        "unknown-version",
        "malformed-arn",
        "unknown-group",
        "status-unknown-group",
        "history-unknown-group",
    ],
)
def test_cli_not_found_errors(
    operated: Operated, capsys: pytest.CaptureFixture[str], args: list[str], code: int, fragment: str
) -> None:
    result = run_cli(capsys, *args)
    assert result.code == code, result.err
    assert fragment in result.err
    assert result.err.startswith("registry: ") and "Traceback" not in result.err


# --- rollback --------------------------------------------------------------------------------------
def test_cli_rollback_calls_the_serving_rollback(
    operated: Operated, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []

    def rollback_group(group: str, actor: str, reason: str, *, sleep: Any, ports: RollbackPorts) -> dict[str, Any]:
        calls.append((group, actor, reason, ports.env_name, ports.role_arn("r")))
        sleep(0)  # the rollback waits for its stack update: the CLI reports progress meanwhile
        return {"group": group, "restored_version": 1, "replaced_version": 2}

    monkeypatch.setattr(rollback_service, "rollback_group", rollback_group)
    result = run_cli(capsys, "rollback", "--group", GROUP, "--reason", "latency regression", "--output", "json")
    assert result.code == 0, result.err
    assert calls == [(GROUP, OPERATOR, "latency regression", "dev", "arn:aws:iam::123456789012:role/r")]
    assert result.json()["restored_version"] == 1
    assert "rolling back churn-classifier" in result.err
    assert "waiting for the serving stack of churn-classifier to settle" in result.err


def test_cli_rollback_with_nothing_to_roll_back_to(operated: Operated, capsys: pytest.CaptureFixture[str]) -> None:
    # fraud-detector has never had a Production version: the real serving rollback finds nothing
    result = run_cli(capsys, "rollback", "--group", "fraud-detector", "--reason", "nothing to go back to")
    assert result.code == 3, result.err
    assert "registry: error: " in result.err and "Traceback" not in result.err


def test_cli_rollback_errors(
    operated: Operated, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = run_cli(capsys, "rollback", "--group", "no-such-group", "--reason", "x")
    assert (unknown.code, "not managed" in unknown.err) == (3, True)
    blank = run_cli(capsys, "rollback", "--group", GROUP, "--reason", "  ")
    assert (blank.code, "--reason must not be empty" in blank.err) == (2, True)


# --- an unreachable endpoint -------------------------------------------------------------------------
def _closed_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [
        ["groups"],
        ["status", "--group", GROUP],
        ["history", "--group", GROUP],
        ["describe", "--group", GROUP, "--version", "1"],
        ["approve", "--group", GROUP, "--version", "4", "--reason", "x"],
    ],
    ids=lambda c: c[0],
)
def test_cli_unreachable_endpoint_exits_4(
    operated: Operated, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    endpoint = f"http://127.0.0.1:{_closed_loopback_port()}"
    result = run_cli(capsys, *command, "--endpoint-url", endpoint, "--region", "eu-west-1")
    assert result.code == 4, result.err
    assert f"cannot reach {endpoint}" in result.err
    assert result.out == ""
