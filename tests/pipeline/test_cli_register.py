"""``registry register`` end to end on the emulated registry: the package contract, the model card, the
lineage, the baseline upload, and every way a registration is refused before SageMaker is called.

Registration runs no pipeline, so one emulated registry serves the module; each refusal checks that
nothing new was created.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_registry.core.baseline import read_feature_baseline
from mlops_registry.core.lineage import Lineage
from mlops_registry.core.model_registry import PackageView
from offline.harness import PipelineHarness
from tests.pipeline.test_cli_support import (
    COMMIT,
    GROUP,
    HYPERPARAMETERS,
    REPO_ROOT,
    feature_baseline,
    register_args,
    run_cli,
    upload_inputs,
)

CALLER = "arn:aws:sts::123456789012:user/moto"


@pytest.fixture(scope="module")
def module_harness(synthesized: Any) -> Iterator[PipelineHarness]:
    with PipelineHarness(synthesized.outdir, synthesized.templates) as running:
        yield running


@pytest.fixture
def harness(module_harness: PipelineHarness) -> Iterator[PipelineHarness]:
    """The module's registry; on exit, a refused registration must have created nothing."""
    yield module_harness


def _created(harness: PipelineHarness) -> tuple[int, int]:
    packages = harness.sm.list_model_packages(ModelPackageGroupName=GROUP, MaxResults=100)["ModelPackageSummaryList"]
    cards = harness.sm.list_model_cards(MaxResults=100)["ModelCardSummaries"]
    return len(packages), len(cards)


@pytest.fixture
def nothing_created(harness: PipelineHarness) -> Iterator[None]:
    before = _created(harness)
    yield
    assert _created(harness) == before, "a refused registration created a package or a model card"


def test_cli_register_creates_a_package_that_follows_the_contract(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the artifact, reports, baseline and lineage of a trained model
    inputs = upload_inputs(harness, "v1")
    # When the data scientist registers it
    result = run_cli(capsys, *register_args(inputs))
    # Then the package carries exactly what the gates, the drift check and describe read
    assert result.code == 0, result.err
    data = result.json()
    assert (data["group"], data["stage"], data["stage_status"]) == (GROUP, "Development", "Registered")
    assert data["package_arn"].endswith(f"/{GROUP}/{data['version']}")
    package = harness.package(data["package_arn"])
    view = PackageView.from_description(package)
    assert view.metrics_report_uri == inputs["--metrics-report"]
    assert view.bias_report_uri == inputs["--bias-report"]
    assert view.explainability_report_uri == inputs["--explainability-report"]
    assert view.baseline_uri == inputs["--baseline"]
    assert (view.model_data_url, view.image) == (inputs["--model-data"], inputs["--image"])
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["ModelLifeCycle"]["Stage"] == "Development"
    assert package["ModelLifeCycle"]["StageStatus"] == "Registered"
    # and the lineage: MetadataProperties + CustomerMetadataProperties
    assert package["MetadataProperties"] == {
        "Repository": "https://github.com/example/churn-model",
        "CommitId": COMMIT,
        "GeneratedBy": "churn-train-v1",
    }
    custom = package["CustomerMetadataProperties"]
    assert custom["TrainingDataUri"] == inputs["--training-data"]
    assert custom["TrainingJobName"] == "churn-train-v1"
    assert json.loads(custom["Hyperparameters"]) == HYPERPARAMETERS
    assert custom["RegisteredBy"] == CALLER
    lineage = Lineage.from_package(package["MetadataProperties"], custom)
    assert lineage.complete
    # and the dispatcher starts the promotion for it (the EventBridge rule matches the state change)
    assert harness.rule_matches(harness.state_change_event(data["package_arn"]))
    assert "creating model card" in result.err and "creating the model package" in result.err


def test_model_card_created_at_registration_and_linked(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, *register_args(upload_inputs(harness, "v1"), "--owner", "churn-team"))
    assert result.code == 0, result.err
    data = result.json()
    custom = harness.package(data["package_arn"])["CustomerMetadataProperties"]
    assert custom["ModelCardArn"] == data["model_card_arn"]
    card = harness.sm.describe_model_card(ModelCardName=custom["ModelCardName"])
    assert card["ModelCardStatus"] == "Draft"
    assert card["ModelCardArn"] == data["model_card_arn"]
    content = json.loads(card["Content"])
    assert content["intended_uses"]["risk_rating"] == "Medium"  # cdk.json: churn-classifier riskRating medium
    assert content["model_overview"]["model_name"] == GROUP
    assert content["model_overview"]["model_version"] == data["version"]
    assert content["model_overview"]["model_owner"] == "churn-team"
    assert content["model_overview"]["model_creator"] == CALLER
    assert content["model_package_details"] == {
        "model_package_arn": data["package_arn"],
        "model_package_group_name": GROUP,
        "model_package_version": data["version"],
    }
    job = content["training_details"]["training_job_details"]
    assert job["training_arn"] == "arn:aws:sagemaker:eu-west-1:123456789012:training-job/churn-train-v1"
    assert job["training_datasets"] == [custom["TrainingDataUri"]]
    assert {p["name"]: p["value"] for p in job["user_provided_hyper_parameters"]}["max_depth"] == "6"
    metrics = {m["name"]: m["value"] for m in content["evaluation_details"][0]["metric_groups"][0]["metric_data"]}
    assert metrics == {"auc": 0.86, "f1": 0.66, "log_loss": 0.39}
    assert content["additional_information"]["custom_details"]["model_package_arn"] == data["package_arn"]


def test_lineage_long_hyperparameters_survive_the_metadata_limit(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    hyperparameters = {f"layer_{i}_units": 128 + i for i in range(40)} | {"optimizer": "adam"}
    inputs = upload_inputs(harness, "v1") | {"--hyperparameters": json.dumps(hyperparameters)}
    result = run_cli(capsys, *register_args(inputs))
    assert result.code == 0, result.err
    package = harness.package(result.json()["package_arn"])
    custom = package["CustomerMetadataProperties"]
    assert "Hyperparameters" not in custom and int(custom["HyperparametersParts"]) > 1
    assert all(len(value) <= 256 for value in custom.values())
    assert Lineage.from_package(package["MetadataProperties"], custom).hyperparameters == hyperparameters
    described = run_cli(capsys, "describe", "--arn", result.json()["package_arn"], "--output", "json")
    assert described.json()["lineage"]["hyperparameters"] == hyperparameters


def test_cli_register_uploads_a_local_baseline_file(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    baseline_file = tmp_path / "feature-baseline.json"
    baseline_file.write_text(json.dumps(feature_baseline()))
    inputs = upload_inputs(harness, "v1")
    inputs.pop("--baseline")
    result = run_cli(capsys, *register_args(inputs, "--baseline-file", str(baseline_file)))
    assert result.code == 0, result.err
    uri = result.json()["feature_baseline"]
    assert uri.startswith(f"s3://{harness.artifacts_bucket}/baselines/{GROUP}/sha256-")
    assert PackageView.from_description(harness.package(result.json()["package_arn"])).baseline_uri == uri
    key = uri.split("/", 3)[3]
    stored = harness.s3.get_object(Bucket=harness.artifacts_bucket, Key=key)["Body"].read()
    assert set(read_feature_baseline(stored).features) == set(feature_baseline()["features"])


@pytest.mark.usefixtures("nothing_created")
def test_cli_register_dry_run_creates_nothing(harness: PipelineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, *register_args(upload_inputs(harness, "v1"), "--dry-run"))
    assert result.code == 0, result.err
    request = result.json()["create_model_package"]
    assert request["ModelLifeCycle"]["Stage"] == "Development"
    assert request["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"].endswith("feature-baseline.json")


@pytest.mark.usefixtures("nothing_created")
def test_cli_register_refuses_invalid_input_before_calling_sagemaker(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = upload_inputs(harness, "v1") | {
        "--image": "12345678901.dkr.ecr.eu-west-1.amazonaws.com/churn:1",
        "--commit": "not-a-commit",
        "--hyperparameters": "[1, 2]",
        "--metrics-report": "https://example.com/metrics.json",
        "--training-data": "s3://x/data.csv",
        "--training-job": "bad_job_name!",
    }
    result = run_cli(capsys, *register_args(inputs))
    assert result.code == 2
    for fragment in (
        "12-digit account",
        "commit: 'not-a-commit' is not a git commit hash",
        "hyperparameters: must be a JSON object",
        "metrics report: 'https://example.com/metrics.json' is not an s3://bucket/key URI",
        "training data: 's3://x/data.csv' is not an s3://bucket/key URI",
        "training job: 'bad_job_name!'",
    ):
        assert fragment in result.err, fragment
    assert result.out == ""


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda h, i: i.update({"--hyperparameters": "{not json"}), "hyperparameters: not valid JSON"),
        (lambda h, i: i.update({"--bias-report": i["--bias-report"] + ".missing"}), "bias report s3://"),
        (lambda h, i: i.update({"--model-data": i["--model-data"] + ".missing"}), "model artifact s3://"),
        (
            lambda h, i: i.update({"--baseline": h.put_json("bad/baseline.json", {"schema": "other"})}),
            "invalid feature baseline at 'schema'",
        ),
        (
            lambda h, i: i.update(
                {
                    "--baseline": h.put_json(
                        "partial/baseline.json", feature_baseline(["tenure_months", "support_calls"])
                    )
                }
            ),
            "no entry for the group's feature(s) monthly_charges",
        ),
        (
            lambda h, i: i.update({"--metrics-report": h.put_json("list/metrics.json", [1, 2])}),
            "expected a JSON object",
        ),
    ],
    ids=[
        "hyperparameters-not-json",
        "missing-report",
        "missing-artifact",
        "invalid-baseline",
        "partial-baseline",
        "report-not-object",
    ],
)
def test_cli_register_refuses_what_the_pipeline_could_not_use(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str], change: Any, fragment: str
) -> None:
    inputs = upload_inputs(harness, "v1")
    change(harness, inputs)
    result = run_cli(capsys, *register_args(inputs))
    assert result.code == 2, result.err
    assert fragment in result.err


@pytest.mark.usefixtures("nothing_created")
def test_cli_register_unknown_or_undeployed_group(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inputs = upload_inputs(harness, "v1")
    unknown = run_cli(capsys, *register_args(inputs, group="unmanaged-model"))
    assert unknown.code == 3
    assert "group 'unmanaged-model' is not managed" in unknown.err
    assert "managed groups: churn-classifier, fraud-detector, recommender-ranker" in unknown.err
    # a group in config that was never deployed (no model package group in the account)
    context = json.loads((REPO_ROOT / "cdk.json").read_text())
    ghost = dict(context["context"]["registry"]["groups"][0], name="ghost-model")
    context["context"]["registry"]["groups"].append(ghost)
    config = tmp_path / "cdk.json"
    config.write_text(json.dumps(context))
    undeployed = run_cli(capsys, *register_args(inputs, "--config", str(config), group="ghost-model"))
    assert undeployed.code == 3
    assert "model package group 'ghost-model' does not exist" in undeployed.err


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize(
    ("extra", "code", "fragment"),
    [
        (["--config", "/nonexistent/cdk.json"], 2, "no such file"),
        (["--config", str(REPO_ROOT / "cdk.json"), "--env", "qa"], 2, "unknown environment"),
        # without --config the groups come from the deployment: nothing is published for qa
        (["--env", "qa"], 3, "no managed groups are published under /mlops-registry-qa/groups/"),
    ],
)
def test_cli_register_bad_configuration(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str], extra: list[str], code: int, fragment: str
) -> None:
    result = run_cli(capsys, *register_args(upload_inputs(harness, "v1"), *extra))
    assert result.code == code, result.err
    assert fragment in result.err


def test_cli_register_table_output(harness: PipelineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    args = register_args(upload_inputs(harness, "v1"))[:-2]  # without --output json
    result = run_cli(capsys, *args)
    assert result.code == 0, result.err
    assert result.out.startswith("registered churn-classifier v")
    assert "; the promotion pipeline evaluates it next" in result.out.splitlines()[0]
    assert "model_card_status  Draft" in result.out
