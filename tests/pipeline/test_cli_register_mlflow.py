"""``registry register --mlflow-run``: a real run on a real MLflow server (offline/mlflow_server.py) whose
artifacts live in the emulated artifacts bucket, registered as a version; every lineage field traced
back to the run; a run without a git commit refused naming the tag."""

from __future__ import annotations

import json
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_registry.core.lineage import Lineage
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.reports import flatten_metrics
from offline.harness import PipelineHarness
from offline.samples import churn_reports
from tests.pipeline.test_cli_register_evidence import NUMERIC, _holdout
from tests.pipeline.test_cli_support import COMMIT, GROUP, IMAGE, feature_baseline, run_cli

pytestmark = pytest.mark.mlflow  # imports the MLflow library: one worker runs these (tests/conftest.py)

REPOSITORY = "https://github.com/example/churn-model"
METRICS = {"auc": 0.91, "f1": 0.72, "log_loss": 0.31}
PARAMS = {"max_depth": "6", "eta": "0.2", "num_round": "200"}


@pytest.fixture(scope="module")
def harness(synthesized: Any) -> Iterator[PipelineHarness]:
    with PipelineHarness(synthesized.outdir, synthesized.templates) as running:
        yield running


def _run(harness: PipelineHarness, url: str, tmp_path: Path, *, commit: str | None = COMMIT) -> tuple[str, str, str]:
    """A training run as a data scientist logs it: params, metrics, git tags, a training dataset
    input and a model.tar.gz artifact (uploaded by the MLflow client to the artifacts bucket)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    name = f"churn-{uuid.uuid4().hex[:8]}"
    experiment = client.create_experiment(name, artifact_location=f"s3://{harness.artifacts_bucket}/mlflow/{name}")
    run = client.create_run(experiment)
    run_id = run.info.run_id
    for key, value in PARAMS.items():
        client.log_param(run_id, key, value)
    for key, value in METRICS.items():
        client.log_metric(run_id, key, value)
    if commit:
        client.set_tag(run_id, "mlflow.source.git.commit", commit)
    client.set_tag(run_id, "mlflow.source.git.repoURL", REPOSITORY)
    client.set_tag(run_id, "registry.training_job", "churn-train-mlflow")
    training_data = f"s3://{harness.artifacts_bucket}/datasets/{name}/train.csv"
    client.log_inputs(
        run_id,
        datasets=[
            DatasetInput(
                Dataset(name="train", digest="abc123", source_type="s3", source=json.dumps({"uri": training_data})),
                tags=[InputTag("mlflow.data.context", "training")],
            )
        ],
    )
    model = tmp_path / "model.tar.gz"
    with tarfile.open(model, "w:gz") as archive:
        payload = tmp_path / "model.bin"
        payload.write_bytes(b"weights")
        archive.add(payload, arcname="model.bin")
    client.log_artifact(run_id, str(model))
    client.set_terminated(run_id)
    return run_id, experiment, training_data


def _reports(harness: PipelineHarness, tag: str) -> list[str]:
    reports = churn_reports()
    return [
        "--image",
        IMAGE.format(tag=tag),
        "--bias-report",
        harness.put_json(f"{GROUP}/{tag}/bias.json", reports["bias"]),
        "--explainability-report",
        harness.put_json(f"{GROUP}/{tag}/explainability.json", reports["explainability"]),
        "--baseline",
        harness.put_json(f"{GROUP}/{tag}/feature-baseline.json", feature_baseline()),
    ]


def test_register_from_a_run_traces_every_lineage_field_to_it(
    harness: PipelineHarness, mlflow_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow.tracking import MlflowClient

    # Given a real MLflow run
    run_id, experiment, training_data = _run(harness, mlflow_url, tmp_path)
    # When it is registered
    result = run_cli(
        capsys,
        "register", "--group", GROUP, "--mlflow-run", run_id, "--tracking-uri", mlflow_url,
        *_reports(harness, "mlflow-v1"), "--output", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    data = result.json()
    view = PackageView.from_description(harness.package(data["package_arn"]))
    client = MlflowClient(tracking_uri=mlflow_url)
    run = client.get_run(run_id)
    # Then params → hyperparameters, git tags → code lineage, dataset → data lineage, job tag → job
    lineage = Lineage.from_package(view.metadata_properties, view.customer_metadata)
    assert lineage.hyperparameters == run.data.params == PARAMS
    assert (lineage.commit_id, lineage.repository) == (COMMIT, REPOSITORY)
    assert lineage.training_data_uri == training_data
    assert lineage.training_job == "churn-train-mlflow"
    # And the logged model's artifact → model data
    assert view.model_data_url == f"{run.info.artifact_uri}/model.tar.gz"
    # And metrics → a model-quality report the metrics gate reads with the run's values
    bucket, key = view.metrics_report_uri.removeprefix("s3://").split("/", 1)
    report = json.loads(harness.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert flatten_metrics(report) == dict(run.data.metrics) == METRICS
    # And the package records where the run lives and the MLflow model version made from it
    version = client.get_model_version(GROUP, view.customer_metadata["MlflowModelVersion"])
    assert version.run_id == run_id
    assert version.source == run.info.artifact_uri
    assert {k: v for k, v in view.customer_metadata.items() if k.startswith("Mlflow")} == {
        "MlflowTrackingUri": mlflow_url,
        "MlflowExperimentId": experiment,
        "MlflowRunId": run_id,
        "MlflowModelName": GROUP,
        "MlflowModelVersion": str(version.version),
    }
    # And the model card shows them
    card_name = view.customer_metadata["ModelCardName"]
    content = json.loads(harness.sm.describe_model_card(ModelCardName=card_name)["Content"])
    details = content["additional_information"]["custom_details"]
    assert (details["mlflow_run_id"], details["mlflow_experiment_id"]) == (run_id, experiment)
    assert (details["mlflow_tracking_uri"], details["mlflow_model_version"]) == (mlflow_url, str(version.version))
    # And describe prints a link to the run
    described = run_cli(capsys, "describe", "--arn", data["package_arn"])
    assert described.code == 0, described.err
    assert f"{mlflow_url}/#/experiments/{experiment}/runs/{run_id}" in described.out


def test_a_run_without_a_git_commit_is_refused_naming_the_tag(
    harness: PipelineHarness, mlflow_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, _, _ = _run(harness, mlflow_url, tmp_path, commit=None)
    before = len(harness.sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"])
    result = run_cli(
        capsys,
        "register", "--group", GROUP, "--mlflow-run", run_id, "--tracking-uri", mlflow_url,
        *_reports(harness, "mlflow-nocommit"), "--output", "json",
    )  # fmt: skip
    assert result.code == 2
    assert "mlflow.source.git.commit" in result.err and "git commit" in result.err and run_id in result.err
    assert len(harness.sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == before


def test_lineage_flags_clash_with_a_run(harness: PipelineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(
        capsys, "register", "--group", GROUP, "--mlflow-run", "0" * 32, "--commit", COMMIT,
        *_reports(harness, "clash"),
    )  # fmt: skip
    assert result.code == 2
    assert "--commit: comes from the MLflow run" in result.err


def test_without_a_run_the_lineage_flags_are_required(
    harness: PipelineHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "register", "--group", GROUP, *_reports(harness, "noflags"))
    assert result.code == 2
    for flag in ("--model-data", "--metrics-report", "--training-data", "--commit", "--training-job"):
        assert f"{flag}: required" in result.err


def test_a_run_with_evidence_from_a_data_set_metrics_from_the_run_the_rest_computed(
    harness: PipelineHarness, mlflow_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow.tracking import MlflowClient

    # Given a real run and a labelled data set with the model's scores and facets
    run_id, _, training_data = _run(harness, mlflow_url, tmp_path)
    data, model = _holdout(tmp_path)
    # When both are given
    result = run_cli(
        capsys,
        "register", "--group", GROUP, "--mlflow-run", run_id, "--tracking-uri", mlflow_url,
        "--image", IMAGE.format(tag="mlflow-evidence"),
        "--evidence-from", str(data), "--label", "churned", "--score", "score",
        "--model-file", str(model), "--model-features", ",".join(NUMERIC), "--output", "json",
    )  # fmt: skip
    # Then the data set gave the bias report, the explanations and the baseline
    assert result.code == 0, result.err
    out = result.json()
    assert out["evidence_computed"] == ["baseline", "bias", "explainability"]
    view = PackageView.from_description(harness.package(out["package_arn"]))
    assert "/evidence/churn-classifier/sha256-" in str(view.bias_report_uri)
    assert "/evidence/churn-classifier/sha256-" in str(view.explainability_report_uri)
    assert "/baselines/churn-classifier/sha256-" in str(view.baseline_uri)
    # And the run gave the lineage and the model-quality report: its logged metrics, not the data set's
    assert view.customer_metadata["TrainingDataUri"] == training_data
    bucket, key = view.metrics_report_uri.removeprefix("s3://").split("/", 1)
    assert key == f"{GROUP}/mlflow/{run_id}/model-quality.json"
    report = json.loads(harness.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert flatten_metrics(report) == dict(MlflowClient(tracking_uri=mlflow_url).get_run(run_id).data.metrics)


def test_a_metrics_report_still_clashes_with_a_run_and_evidence(
    harness: PipelineHarness, mlflow_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = _holdout(tmp_path)
    result = run_cli(
        capsys,
        "register", "--group", GROUP, "--mlflow-run", "0" * 32, "--tracking-uri", mlflow_url,
        "--image", IMAGE.format(tag="clash2"), "--metrics-report", f"s3://{harness.artifacts_bucket}/m.json",
        "--evidence-from", str(data), "--label", "churned", "--score", "score",
    )  # fmt: skip
    assert result.code == 2
    assert "--metrics-report: comes from the MLflow run" in result.err
