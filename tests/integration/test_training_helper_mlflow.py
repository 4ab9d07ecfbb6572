"""The training-side helper registers from an MLflow run: a real scikit-learn run logged to a real MLflow
server (offline/mlflow_server.py, offline/training_run.py), its model in the emulated artifacts bucket;
every lineage field is traced back to the run as the MLflow client reads it."""

from __future__ import annotations

import json
import tarfile
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import joblib
import pytest
from moto import mock_aws

from mlops_registry.core.lineage import Lineage, RegistrationError
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.reports import flatten_metrics
from offline.harness.emulator import sagemaker_extensions
from offline.samples import CHURN_FEATURES, churn_reports
from offline.training_run import LoggedRun, log_training_run

pytestmark = pytest.mark.mlflow  # imports the MLflow library: one worker runs these (tests/conftest.py)

REGION = "eu-west-1"
GROUP = "churn-classifier"
BUCKET = "mlops-registry-dev-artifacts-123456789012-eu-west-1"
COMMIT = "9f1c2b3a4d5e6f708192a3b4c5d6e7f809a1b2c3"
REPOSITORY = "https://github.com/example/churn-model"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with mock_aws(), sagemaker_extensions():
        session = boto3.session.Session(region_name=REGION)
        session.client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        for name, document in churn_reports().items():
            s3.put_object(Bucket=BUCKET, Key=f"churn/{name}.json", Body=json.dumps(document).encode())
        yield session


def _logged(session: Any, url: str, commit: str | None = COMMIT) -> LoggedRun:
    return log_training_run(
        url,
        session.client("s3"),
        BUCKET,
        experiment=f"churn-{uuid.uuid4().hex[:8]}",
        features=CHURN_FEATURES,
        commit=commit,
        repository=REPOSITORY,
        training_job="churn-train-42",
    )


def _register(session: Any, url: str, run_id: str, **options: Any) -> Any:
    from sagemaker.core.helper.session_helper import Session

    from mlops_registry.training import register_from_run

    return register_from_run(
        run_id,
        group=GROUP,
        image=IMAGE,
        bias_report_uri=f"s3://{BUCKET}/churn/bias.json",
        explainability_report_uri=f"s3://{BUCKET}/churn/explainability.json",
        baseline_uri=f"s3://{BUCKET}/baselines/churn/feature-baseline.json",
        artifacts_bucket=BUCKET,
        sagemaker_session=Session(boto_session=session, sagemaker_client=session.client("sagemaker")),
        tracking_uri=url,
        **options,
    )


def test_training_helper_registers_from_a_run_every_lineage_field_traced(aws: Any, mlflow_url: str) -> None:
    from mlflow.tracking import MlflowClient

    # Given a real training run in MLflow
    logged = _logged(aws, mlflow_url)
    # When the training script registers from it
    registered = _register(aws, mlflow_url, logged.run_id, risk_rating="medium", mlflow_model="churn-sk")
    sm, s3 = aws.client("sagemaker"), aws.client("s3")
    package = sm.describe_model_package(ModelPackageName=registered.package_arn)
    view = PackageView.from_description(package)
    client = MlflowClient(tracking_uri=mlflow_url)
    run = client.get_run(logged.run_id)
    # Then params → hyperparameters, git tags → code lineage, dataset input → data lineage, tag → job
    lineage = Lineage.from_package(package["MetadataProperties"], package["CustomerMetadataProperties"])
    assert lineage.hyperparameters == run.data.params == logged.params
    assert lineage.commit_id == run.data.tags["mlflow.source.git.commit"] == COMMIT
    assert lineage.repository == run.data.tags["mlflow.source.git.repoURL"] == REPOSITORY
    assert lineage.training_data_uri == json.loads(run.inputs.dataset_inputs[0].dataset.source)["uri"]
    assert lineage.training_job == run.data.tags["registry.training_job"] == "churn-train-42"
    # And the run's model.tar.gz → model data: the scikit-learn model, loadable from it
    assert view.model_data_url == f"{run.info.artifact_uri}/model.tar.gz"
    bucket, key = view.model_data_url.removeprefix("s3://").split("/", 1)
    with tarfile.open(fileobj=s3.get_object(Bucket=bucket, Key=key)["Body"], mode="r|gz") as archive:
        member = next(iter(archive))
        assert member.name == "model.joblib"
        model = joblib.load(archive.extractfile(member))  # type: ignore[arg-type]
    assert model.n_features_in_ == len(CHURN_FEATURES)
    # And metrics → the model-quality report the metrics gate reads, with the run's values
    bucket, key = view.metrics_report_uri.removeprefix("s3://").split("/", 1)
    assert key == f"{GROUP}/mlflow/{logged.run_id}/model-quality.json"
    report = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert flatten_metrics(report) == dict(run.data.metrics) == pytest.approx(logged.metrics)
    # And the customer metadata records where the run lives and the MLflow model version made from it
    version = client.get_model_version("churn-sk", view.customer_metadata["MlflowModelVersion"])
    assert (version.run_id, version.source) == (logged.run_id, run.info.artifact_uri)
    assert {k: v for k, v in view.customer_metadata.items() if k.startswith("Mlflow")} == {
        "MlflowTrackingUri": mlflow_url,
        "MlflowExperimentId": run.info.experiment_id,
        "MlflowRunId": logged.run_id,
        "MlflowModelName": "churn-sk",
        "MlflowModelVersion": str(version.version),
    }
    assert view.customer_metadata["RegisteredWith"] == "registry-training"
    # And the model card shows them
    content = json.loads(sm.describe_model_card(ModelCardName=view.customer_metadata["ModelCardName"])["Content"])
    details = content["additional_information"]["custom_details"]
    assert (details["mlflow_run_id"], details["mlflow_model_version"]) == (logged.run_id, str(version.version))
    assert details["mlflow_experiment_id"] == run.info.experiment_id


def test_training_helper_refuses_a_run_without_a_git_commit_naming_the_tag(aws: Any, mlflow_url: str) -> None:
    from mlflow.tracking import MlflowClient

    # Given a run logged without the git commit tag
    logged = _logged(aws, mlflow_url, commit=None)
    # When the training script registers from it, Then it is refused naming the MLflow tag
    with pytest.raises(RegistrationError) as refused:
        _register(aws, mlflow_url, logged.run_id)
    message = str(refused.value)
    assert "mlflow.source.git.commit" in message and "git commit" in message and logged.run_id in message
    # And nothing was written: no package, no MLflow model, no metrics report
    sm, s3 = aws.client("sagemaker"), aws.client("s3")
    assert sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"] == []
    client = MlflowClient(tracking_uri=mlflow_url)  # the suite shares one server: look for this run's versions
    assert client.search_model_versions(filter_string=f"run_id = '{logged.run_id}'") == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{GROUP}/mlflow/")
