"""Register a version from an MLflow run, at the end of a training script or from a notebook.

The run is read exactly as ``registry register --mlflow-run`` reads it (``mlops_registry.core.mlflow_run``):
parameters → hyperparameters, metrics → the model-quality report the metrics gate reads, the git tags →
code lineage, the training dataset input → data lineage, the run's ``model.tar.gz`` → model data, tag
``registry.training_job`` (or ``training_job``) → the training job. A run that lacks a lineage field is
refused (``RegistrationError``) naming the MLflow field, before anything is written::

    registered = register_from_run(
        run.info.run_id,
        group="churn-classifier",
        image="111122223333.dkr.ecr.eu-west-1.amazonaws.com/churn:1.4",
        bias_report_uri=uris["bias"], explainability_report_uri=uris["explainability"],
        baseline_uri=uris["baseline"],                     # e.g. from mlops_registry.training.evidence
        artifacts_bucket="mlops-registry-dev-artifacts-111122223333-eu-west-1",
        sagemaker_session=session, risk_rating="medium",
    )

Then, as the CLI does: the run's metrics are written to ``s3://<artifacts>/<group>/mlflow/<run>/
model-quality.json``, the run's model becomes a version of the MLflow registered model (``mlflow_model``,
default the group's name), and the package records the tracking URI, experiment id, run id and MLflow
model version in its customer metadata and its model card.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from mlops_registry.core.lineage import RegistrationError
from mlops_registry.core.mlflow_run import RunRegistration, client_for, metrics_report_uri, publish_run, read_run
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.training.registration import ModelRegistration, RegisteredVersion, register_model_package

PLANNED_MODEL_VERSION = "(created at registration)"


def registration_from_run(
    run: RunRegistration,
    *,
    group: str,
    image: str,
    bias_report_uri: str,
    explainability_report_uri: str,
    baseline_uri: str,
    artifacts_bucket: str,
    mlflow_model: str | None = None,
    **options: Any,
) -> ModelRegistration:
    """The ``ModelRegistration`` a run gives (nothing is written; the MLflow model version is a placeholder
    until ``register_from_run`` creates it). ``options``: ``description``, ``content_types``, ... of
    ``ModelRegistration``."""
    return ModelRegistration(
        group=group,
        model_data_url=run.model_data_url,
        image=image,
        metrics_report_uri=metrics_report_uri(artifacts_bucket, group, run.run_id),
        bias_report_uri=bias_report_uri,
        explainability_report_uri=explainability_report_uri,
        baseline_uri=baseline_uri,
        training_data_uri=run.training_data_uri,
        repository=run.repository,
        commit_id=run.commit,
        hyperparameters=run.hyperparameters,
        training_job=str(run.training_job),
        mlflow=run.customer_metadata(mlflow_model or group, PLANNED_MODEL_VERSION),
        **options,
    )


def register_from_run(
    run_id: str,
    *,
    group: str,
    image: str,
    bias_report_uri: str,
    explainability_report_uri: str,
    baseline_uri: str,
    artifacts_bucket: str,
    sagemaker_session: Any,
    tracking_uri: str | None = None,
    mlflow_model: str | None = None,
    training_job: str | None = None,
    risk_rating: str | None = None,
    managed_groups: Sequence[str] | None = None,
    mlflow_client: Any = None,
    **options: Any,
) -> RegisteredVersion:
    """Read the run, validate the whole registration, then write the run's metrics report, create the
    MLflow model version and register the package (with its model card given ``risk_rating``).

    ``tracking_uri``: default ``MLFLOW_TRACKING_URI``; a SageMaker tracking server or App ARN goes
    through the ``sagemaker-mlflow`` plugin (SigV4), an http(s) URL is called as is."""
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise RegistrationError(["tracking_uri: required (or set MLFLOW_TRACKING_URI)"])
    client = mlflow_client or client_for(uri)
    run = read_run(client, uri, run_id, training_job)
    registration = registration_from_run(
        run,
        group=group,
        image=image,
        bias_report_uri=bias_report_uri,
        explainability_report_uri=explainability_report_uri,
        baseline_uri=baseline_uri,
        artifacts_bucket=artifacts_bucket,
        mlflow_model=mlflow_model,
        **options,
    ).validate(managed_groups)
    ModelRegistry(sagemaker_session.sagemaker_client).ensure_group(group)  # before anything is written
    metadata = publish_run(
        client,
        sagemaker_session.boto_session.client("s3"),
        run,
        str(registration.metrics_report_uri),
        mlflow_model or group,
    )
    return register_model_package(
        replace(registration, mlflow=metadata),
        sagemaker_session=sagemaker_session,
        risk_rating=risk_rating,
        managed_groups=managed_groups,
    )
