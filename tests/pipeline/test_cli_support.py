"""Helpers shared by the CLI and model-card pipeline tests, plus the CLI's own packaging checks."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops_registry.cli.main import main
from offline.harness import PipelineHarness
from offline.people import credentials_file, role_session
from offline.samples import CHURN_FEATURES, churn_reports, sample_model

GROUP = "churn-classifier"
REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-classifier:{tag}"
COMMIT = "9f9123c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f901"
HYPERPARAMETERS = {"max_depth": 6, "eta": 0.2, "objective": "binary:logistic", "num_round": 200}


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Call the console script's entry point in-process (moto is active) and capture its streams."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def feature_baseline(features: list[str] = CHURN_FEATURES) -> dict[str, Any]:
    return copy.deepcopy(_feature_baseline(tuple(features)))


@functools.lru_cache(maxsize=8)
def _feature_baseline(features: tuple[str, ...]) -> dict[str, Any]:
    from mlops_registry.core.baseline import build_feature_baseline

    rows = 200
    columns: dict[str, list[Any]] = {}
    for index, feature in enumerate(features):
        if feature in ("contract_type", "payment_method"):
            columns[feature] = [("monthly", "yearly", "two-year")[(i + index) % 3] for i in range(rows)]
        else:
            columns[feature] = [float((i * (index + 3)) % 97) for i in range(rows)]
    return build_feature_baseline(columns, categorical=("contract_type", "payment_method"))


def upload_inputs(harness: PipelineHarness, tag: str, reports: dict[str, Any] | None = None) -> dict[str, str]:
    """Put a version's artifact, reports and baseline in the artifacts bucket; the CLI arguments naming them."""
    reports = reports or churn_reports()
    bucket = harness.artifacts_bucket
    prefix = f"{GROUP}/{tag}"
    # A real model (Staging scores it on the holdout set), in the shareable models bucket.
    archive = sample_model(harness.policies[GROUP]).archive
    harness.s3.put_object(Bucket=harness.models_bucket, Key=f"{prefix}/model.tar.gz", Body=archive)
    return {
        "--model-data": f"s3://{harness.models_bucket}/{prefix}/model.tar.gz",
        "--image": IMAGE.format(tag=tag),
        "--metrics-report": harness.put_json(f"{prefix}/metrics.json", reports["metrics"]),
        "--bias-report": harness.put_json(f"{prefix}/bias.json", reports["bias"]),
        "--explainability-report": harness.put_json(f"{prefix}/explainability.json", reports["explainability"]),
        "--baseline": harness.put_json(f"{prefix}/feature-baseline.json", feature_baseline()),
        "--training-data": f"s3://{bucket}/datasets/{GROUP}/{tag}/train.csv",
        "--repository": "https://github.com/example/churn-model",
        "--commit": COMMIT,
        "--hyperparameters": json.dumps(HYPERPARAMETERS),
        "--training-job": f"churn-train-{tag}",
    }


def register_args(inputs: dict[str, str], *extra: str, group: str = GROUP) -> list[str]:
    args = ["register", "--group", group]
    for option, value in inputs.items():
        args += [option, value]
    return [*args, *extra, "--output", "json"]


def register_with_cli(
    capsys: pytest.CaptureFixture[str], harness: PipelineHarness, tag: str, **report_values: float
) -> dict[str, Any]:
    result = run_cli(capsys, *register_args(upload_inputs(harness, tag, churn_reports(**report_values))))
    assert result.code == 0, result.err
    return dict(result.json())


BOARD_PROFILE = "review-board"  # a board member's session of the board role, as a named profile


def board_credentials_file(harness: PipelineHarness, directory: Path, session: str) -> str:
    """A credentials file whose ``BOARD_PROFILE`` is a session of the board role (moto's STS), as a board
    member would configure it; the CLI runs with ``--profile`` so the functions keep their credentials.
    SageMaker then records ``board_member(session)`` for the CLI's decisions."""
    from offline.harness import board_member

    role_arn = board_member(session).replace(":sts::", ":iam::").replace(":assumed-role/", ":role/").rsplit("/", 1)[0]
    path = directory / "credentials"
    path.write_text(credentials_file({BOARD_PROFILE: role_session(harness.session, role_arn, session)}))
    return str(path)


def announce_cli_registration(harness: PipelineHarness, package_arn: str) -> dict[str, Any]:
    """What EventBridge does after the CLI registered: deliver the state change to the dispatcher."""
    outcome = harness.deliver(harness.state_change_event(package_arn))
    assert outcome.get("action") == "started", outcome
    return outcome


# --- the CLI's packaging --------------------------------------------------------------------------
def test_cli_import_path_stays_light() -> None:
    # Given a fresh interpreter, When the CLI's entry point is imported
    probe = (
        "import sys, mlops_registry.cli.main, mlops_registry.cli.commands.register, mlops_registry.cli.commands.describe;"
        "heavy = [m for m in ('sagemaker', 'aws_cdk', 'mlops_registry.training', 'numpy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, check=True, timeout=60
    )
    # Then neither the SageMaker SDK nor the CDK (nor NumPy) is loaded
    assert completed.stdout.strip() == ""


def test_cli_console_script_is_declared() -> None:
    import tomllib

    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["registry"] == "mlops_registry.cli.main:main"


def test_cli_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "--help").code == 0
    result = run_cli(capsys, "status")  # --group missing
    assert result.code == 2
    assert "--group" in result.err
    result = run_cli(capsys, "status", "--group", GROUP, "--output", "xml")
    assert result.code == 2
    assert "invalid choice" in result.err
    for command in ("groups", "register", "status", "approve", "reject", "history", "rollback", "describe"):
        result = run_cli(capsys, command, "--help")
        assert result.code == 0
        for option in ("--output", "--region", "--profile", "--endpoint-url"):
            assert option in result.out, (command, option)
