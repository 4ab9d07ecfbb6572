"""A real training run logged to MLflow, as a data scientist's script logs it (the demo and the tests).

A scikit-learn model (a logistic regression, or a ridge regression of relevance grades for ranking) is
trained on generated data over a group's features (each feature drawn as the rehearsal's baselines draw
it, the label from a known rule), evaluated on a held-out split with ``sklearn.metrics``, and logged with the MLflow client: parameters, metrics, the git
commit and repository tags, the training data set as an input whose source is its S3 URI (the CSV is
uploaded there), and the model as ``model.tar.gz`` holding ``model.joblib`` (the serving format).
The experiment's artifact location is in S3, so the MLflow client uploads the model there itself.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What each kind of model's evaluation gives; a group whose required metrics are all in one can be trained.
CLASSIFICATION_METRICS = ("auc", "f1", "log_loss", "accuracy", "precision", "recall", "false_positive_rate")
RANKING_METRICS = ("ndcg_at_10", "rmse", "mae", "r2")
LABEL = "label"
QUERY_SIZE = 20  # items ranked per query for NDCG@10


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    experiment_id: str
    training_data_uri: str
    model_data_uri: str
    params: dict[str, str]
    metrics: dict[str, float]
    columns: dict[str, list[float]]  # the training features, for a feature baseline


def model_kind(metric_names: list[str]) -> str | None:
    """``classification`` (a logistic regression), ``ranking`` (a ridge regression of relevance), or None."""
    for kind, known in (("classification", CLASSIFICATION_METRICS), ("ranking", RANKING_METRICS)):
        if metric_names and all(name in known for name in metric_names):
            return kind
    return None


def log_training_run(
    tracking_uri: str,
    s3: Any,
    bucket: str,
    *,
    experiment: str,
    features: list[str],
    commit: str | None,
    repository: str,
    training_job: str | None,
    seed: int = 7,
    rows: int = 3000,
    regularization: float = 1.0,
    kind: str = "classification",
    population: Any = None,
) -> LoggedRun:
    """Train, evaluate and log one run; ``commit=None`` logs a run without the git commit tag.

    ``kind``: ``classification`` (a binary label from a logistic rule over the features) or ``ranking``
    (a relevance grade 0-4 from a linear rule, NDCG@10 over queries of 20 items)."""
    import joblib
    import numpy as np
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.tracking import MlflowClient
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        log_loss,
        mean_absolute_error,
        mean_squared_error,
        ndcg_score,
        precision_score,
        r2_score,
        recall_score,
        roc_auc_score,
    )
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    drawn: dict[str, Any] | None = None
    if population is not None:  # the group's population, which its governed holdout set is drawn from
        from offline.samples import generate_rows

        drawn = generate_rows(population, rows, seed)
        x = np.column_stack([drawn[name] for name in features])
        signal = np.zeros(rows)
    else:
        x = np.column_stack([rng.normal(50 + 10 * i, 10, rows) for i in range(len(features))])
        weights = np.array([(-1.0) ** i * (1.0 + 0.25 * (i % 3)) for i in range(len(features))])
        signal = ((x - x.mean(axis=0)) / 10.0) @ weights
    params: dict[str, Any] = {"C" if kind == "classification" else "alpha": regularization, "seed": seed}
    if kind == "classification":
        y = (
            (drawn[population.validation.holdout.label_column] == population.validation.holdout.positive_label)
            if drawn is not None
            else rng.uniform(size=rows) < 1.0 / (1.0 + np.exp(-15.0 * signal))
        ).astype(float)
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
        params.update(model="LogisticRegression", max_iter=500)
        model: Any = LogisticRegression(C=regularization, max_iter=500).fit(x_train, y_train)
        scores = model.predict_proba(x_test)[:, 1]
        predicted = (scores >= 0.5).astype(int)
        metrics = {
            "auc": float(roc_auc_score(y_test, scores)),
            "f1": float(f1_score(y_test, predicted)),
            "log_loss": float(log_loss(y_test, scores)),
            "accuracy": float(accuracy_score(y_test, predicted)),
            "precision": float(precision_score(y_test, predicted)),
            "recall": float(recall_score(y_test, predicted)),
            "false_positive_rate": float(predicted[y_test == 0].mean()),
        }
    elif kind == "ranking":
        y = (
            np.asarray(drawn[population.validation.holdout.label_column], dtype=float)
            if drawn is not None
            else np.clip(2.0 + 0.6 * signal + rng.normal(0, 0.3, rows), 0.0, 4.0)
        )
        split = int(rows * 0.7) // QUERY_SIZE * QUERY_SIZE
        x_train, x_test, y_train, y_test = x[:split], x[split:], y[:split], y[split:]
        params.update(model="Ridge")
        model = Ridge(alpha=regularization).fit(x_train, y_train)
        predicted_grade = model.predict(x_test)
        queries = len(y_test) // QUERY_SIZE * QUERY_SIZE
        metrics = {
            "ndcg_at_10": float(
                ndcg_score(
                    np.clip(y_test[:queries], 0, None).reshape(-1, QUERY_SIZE),
                    predicted_grade[:queries].reshape(-1, QUERY_SIZE),
                    k=10,
                )
            ),
            "rmse": float(np.sqrt(mean_squared_error(y_test, predicted_grade))),
            "mae": float(mean_absolute_error(y_test, predicted_grade)),
            "r2": float(r2_score(y_test, predicted_grade)),
        }
    else:
        raise ValueError(f"kind: {kind!r} is not classification or ranking")

    client = MlflowClient(tracking_uri=tracking_uri)
    existing = client.get_experiment_by_name(experiment)
    experiment_id = (
        existing.experiment_id
        if existing
        else client.create_experiment(experiment, artifact_location=f"s3://{bucket}/mlflow/{experiment}")
    )
    run = client.create_run(experiment_id, tags={"mlflow.runName": f"{experiment}-seed{seed}-{regularization:g}"})
    run_id = run.info.run_id
    frame = pd.DataFrame(x_train, columns=features).assign(**{LABEL: y_train})
    training_key = f"datasets/{experiment}/{run_id}/train.csv"
    s3.put_object(Bucket=bucket, Key=training_key, Body=frame.to_csv(index=False).encode())
    training_data = f"s3://{bucket}/{training_key}"
    dataset = from_pandas(frame, source=training_data, name="train", targets=LABEL)
    client.log_batch(
        run_id,
        params=[_param(k, v) for k, v in params.items()],
        metrics=[_metric(k, v) for k, v in metrics.items()],
        tags=[
            _tag(k, v)
            for k, v in {
                "mlflow.source.git.commit": commit,
                "mlflow.source.git.repoURL": repository,
                "registry.training_job": training_job,
            }.items()
            if v
        ],
    )
    client.log_inputs(
        run_id, datasets=[DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "training")])]
    )
    with tempfile.TemporaryDirectory(prefix="training-run-") as folder:
        archive = Path(folder) / "model.tar.gz"
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        with tarfile.open(archive, "w:gz") as tar:
            info = tarfile.TarInfo("model.joblib")
            info.size = buffer.getbuffer().nbytes
            buffer.seek(0)
            tar.addfile(info, buffer)
        client.log_artifact(run_id, str(archive))
    client.set_terminated(run_id)
    return LoggedRun(
        run_id=run_id,
        experiment_id=str(experiment_id),
        training_data_uri=training_data,
        model_data_uri=f"{run.info.artifact_uri}/model.tar.gz",
        params={k: str(v) for k, v in params.items()},
        metrics=metrics,
        columns={f: [float(v) for v in x_train[:, i]] for i, f in enumerate(features)},
    )


def _param(key: str, value: Any) -> Any:
    from mlflow.entities import Param

    return Param(key, str(value))


def _metric(key: str, value: float) -> Any:
    import time

    from mlflow.entities import Metric

    return Metric(key, value, int(time.time() * 1000), 0)


def _tag(key: str, value: str) -> Any:
    from mlflow.entities import RunTag

    return RunTag(key, value)
