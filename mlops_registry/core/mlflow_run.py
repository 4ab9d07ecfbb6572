"""Reads an MLflow run into the registration contract: one reading for ``registry register --mlflow-run
RUN_ID`` and the training-side helper (``mlops_registry.training.from_mlflow``).

- parameters → hyperparameters;
- metrics → a model-quality report in the format the metrics gate reads
  (``{"mlflow_metrics": {name: {"value": x}}}``; the latest value of each metric);
- git tags → code lineage: ``mlflow.source.git.commit`` (commit), ``mlflow.source.git.repoURL``
  (repository; MLflow's older ``mlflow.gitRepoURL`` is accepted);
- dataset inputs → data lineage: the S3 URI in the source of the input whose ``mlflow.data.context``
  is ``training`` (or of the only input);
- the logged model's artifact → model data: the run's ``model.tar.gz`` (at the artifact root or in a
  logged model's artifacts);
- tag ``registry.training_job`` → the SageMaker training job, unless ``--training-job`` names it.

A run that lacks a lineage field is refused (exit 2) naming the MLflow field that is missing.

Managed MLflow is reached through the MLflow client with the ``sagemaker-mlflow`` plugin (SigV4, the
tracking URI is the server's or App's ARN); a plain http(s) URI is called as is. MLflow is imported
here, lazily, so the CLI's other commands stay light (and the Lambdas, which ship this package, never
load it: they mirror the lifecycle through ``mlops_registry.core.mlflow_rest``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from mlops_registry.core.lineage import (
    MLFLOW_EXPERIMENT_ID,
    MLFLOW_MODEL_NAME,
    MLFLOW_MODEL_VERSION,
    MLFLOW_RUN_ID,
    MLFLOW_TRACKING_URI,
    S3_URI,
    RegistrationError,
)
from mlops_registry.core.mlflow_rest import run_link, tracking_server_arn
from mlops_registry.core.names import mlflow_name

COMMIT_TAG = "mlflow.source.git.commit"
REPOSITORY_TAGS = ("mlflow.source.git.repoURL", "mlflow.gitRepoURL")
TRAINING_JOB_TAG = "registry.training_job"
DATA_CONTEXT_TAG = "mlflow.data.context"
MODEL_FILE = "model.tar.gz"
METRICS_SECTION = "mlflow_metrics"


@dataclass(frozen=True)
class RunRegistration:
    """What one MLflow run gives a registration."""

    tracking_uri: str
    experiment_id: str
    run_id: str
    hyperparameters: dict[str, Any]
    metrics: dict[str, float]
    commit: str
    repository: str
    training_data_uri: str
    model_data_url: str
    training_job: str | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def metrics_report(self) -> dict[str, Any]:
        """The model-quality report the metrics gate reads."""
        return {METRICS_SECTION: {name: {"value": value} for name, value in sorted(self.metrics.items())}}

    def customer_metadata(self, model_name: str, model_version: str) -> dict[str, str]:
        return {
            MLFLOW_TRACKING_URI: self.tracking_uri,
            MLFLOW_EXPERIMENT_ID: self.experiment_id,
            MLFLOW_RUN_ID: self.run_id,
            MLFLOW_MODEL_NAME: model_name,
            MLFLOW_MODEL_VERSION: model_version,
        }

    @property
    def link(self) -> str:
        return run_link(self.tracking_uri, self.experiment_id, self.run_id)


def tracking_uri_for(
    explicit: str | None, settings: Any, env_name: str, partition: str, region: str, account: str
) -> str:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else the environment's managed tracking server (known
    only from a config file: the deployed parameters hold the groups' policies, not the environment's)."""
    if explicit:
        return explicit
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    if settings is None:
        raise RegistrationError(
            [
                "--tracking-uri: required (no MLFLOW_TRACKING_URI; pass --config cdk.json to use the "
                "environment's managed MLflow)"
            ]
        )
    mlflow = getattr(settings, "mlflow", None)
    if mlflow is not None and mlflow.kind == "external" and mlflow.tracking_uri:
        return str(mlflow.tracking_uri)
    if mlflow is not None and mlflow.kind == "trackingServer":
        return tracking_server_arn(partition, region, account, mlflow_name(env_name))
    raise RegistrationError(
        [
            "--tracking-uri: required (no MLFLOW_TRACKING_URI, and this environment's MLflow "
            f"{'is an MLflow App whose ARN carries its id' if mlflow is not None else 'is not configured'})"
        ]
    )


def client_for(tracking_uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def read_run(client: Any, tracking_uri: str, run_id: str, training_job: str | None = None) -> RunRegistration:
    """The run's lineage; ``RegistrationError`` naming every missing field."""
    try:
        run = client.get_run(run_id)
    except Exception as error:  # MlflowException: RESOURCE_DOES_NOT_EXIST, unreachable server, ...
        raise RegistrationError([f"--mlflow-run {run_id!r}: cannot be read from {tracking_uri} ({error})"]) from error
    tags = dict(run.data.tags)
    problems: list[str] = []
    commit = tags.get(COMMIT_TAG)
    if not commit:
        problems.append(f"MLflow run {run_id}: tag {COMMIT_TAG} (code lineage: git commit) is missing")
    repository = next((tags[t] for t in REPOSITORY_TAGS if tags.get(t)), None)
    if not repository:
        problems.append(f"MLflow run {run_id}: tag {REPOSITORY_TAGS[0]} (code lineage: repository) is missing")
    training_data = _training_data(run, run_id, problems)
    model_data = _model_data(client, run, run_id, problems)
    if not run.data.metrics:
        problems.append(f"MLflow run {run_id}: no metrics (the model-quality report)")
    job = training_job or tags.get(TRAINING_JOB_TAG)
    if not job:
        problems.append(
            f"MLflow run {run_id}: tag {TRAINING_JOB_TAG} (training job) is missing; or pass --training-job"
        )
    if problems:
        raise RegistrationError(problems)
    return RunRegistration(
        tracking_uri=tracking_uri,
        experiment_id=str(run.info.experiment_id),
        run_id=run.info.run_id,
        hyperparameters=dict(run.data.params),
        metrics={k: float(v) for k, v in run.data.metrics.items()},
        commit=str(commit),
        repository=str(repository),
        training_data_uri=str(training_data),
        model_data_url=str(model_data),
        training_job=job,
        sources={"commit": COMMIT_TAG, "repository": next(t for t in REPOSITORY_TAGS if tags.get(t))},
    )


def _training_data(run: Any, run_id: str, problems: list[str]) -> str | None:
    inputs = list(getattr(getattr(run, "inputs", None), "dataset_inputs", None) or [])
    if not inputs:
        problems.append(f"MLflow run {run_id}: no dataset input (data lineage: training data)")
        return None
    training = [i for i in inputs if any(t.key == DATA_CONTEXT_TAG and t.value == "training" for t in i.tags)]
    chosen = training[0] if training else inputs[0] if len(inputs) == 1 else None
    if chosen is None:
        problems.append(
            f"MLflow run {run_id}: {len(inputs)} dataset inputs and none tagged {DATA_CONTEXT_TAG}=training "
            "(data lineage: training data)"
        )
        return None
    uri = _source_uri(chosen.dataset.source)
    if not uri or not S3_URI.match(uri):
        problems.append(
            f"MLflow run {run_id}: dataset {chosen.dataset.name!r} source {chosen.dataset.source!r} is not an "
            "s3:// URI (data lineage: training data)"
        )
        return None
    return uri


def _source_uri(source: str) -> str | None:
    try:
        document = json.loads(source)
    except (TypeError, ValueError):
        return source or None
    if isinstance(document, dict):
        for key in ("uri", "url", "path"):
            if isinstance(document.get(key), str):
                return str(document[key])
    return None


def _model_data(client: Any, run: Any, run_id: str, problems: list[str]) -> str | None:
    root = run.info.artifact_uri.rstrip("/")
    candidates = [root]
    for output in getattr(getattr(run, "outputs", None), "model_outputs", None) or []:
        try:
            candidates.append(client.get_logged_model(output.model_id).artifact_location.rstrip("/"))
        except Exception:  # an unreadable logged model is reported as no model below
            continue
    for location in candidates:
        names = _artifact_names(client, run_id, location, root)
        if MODEL_FILE in names:
            uri = f"{location}/{MODEL_FILE}"
            if not S3_URI.match(uri):
                problems.append(f"MLflow run {run_id}: model artifact {uri} is not in S3 (model data)")
                return None
            return uri
    problems.append(f"MLflow run {run_id}: no logged {MODEL_FILE} artifact (model data)")
    return None


def _artifact_names(client: Any, run_id: str, location: str, root: str) -> set[str]:
    try:
        if location == root:
            return {a.path for a in client.list_artifacts(run_id)}
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        return {a.path for a in get_artifact_repository(location).list_artifacts()}
    except Exception:
        return set()


def metrics_report_uri(bucket: str, group: str, run_id: str) -> str:
    """Where a registration writes the run's model-quality report (the artifacts bucket)."""
    return f"s3://{bucket}/{group}/mlflow/{run_id}/model-quality.json"


def publish_run(client: Any, s3: Any, run: RunRegistration, metrics_report: str, model_name: str) -> dict[str, str]:
    """After every check passed: write the run's model-quality report to ``metrics_report`` (an
    ``s3://`` URI), register the run's model as a version of MLflow model ``model_name``, and return
    the customer metadata the package records (tracking URI, experiment, run, MLflow model version)."""
    match = S3_URI.match(metrics_report)
    if match is None:
        raise RegistrationError([f"metrics report: {metrics_report!r} is not an s3://bucket/key URI"])
    s3.put_object(
        Bucket=match.group("bucket"),
        Key=match.group("key"),
        Body=json.dumps(run.metrics_report(), sort_keys=True).encode(),
        ContentType="application/json",
    )
    return run.customer_metadata(model_name, register_model_version(client, model_name, run))


def register_model_version(client: Any, name: str, run: RunRegistration) -> str:
    """The MLflow registered-model version of the run's model (created; the model too if new)."""
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if getattr(error, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise
    source = run.model_data_url.rsplit("/", 1)[0]
    version = client.create_model_version(
        name, source, run_id=run.run_id, tags={"registry.model_data": run.model_data_url}
    )
    return str(version.version)
