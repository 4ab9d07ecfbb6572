"""The emulated Batch Transform (offline/sagemaker_jobs.py) held to scikit-learn: each output line is what
the estimator itself predicts for that input line, whether the transform was computed or remembered
from an earlier job on the same model and input."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from typing import Any

import boto3
import joblib
import numpy as np
import pytest
from moto import mock_aws
from sklearn.linear_model import LogisticRegression

from offline import sagemaker_jobs
from offline.harness import ACCOUNT
from offline.sagemaker_jobs import JobOutcomes, sagemaker_job_emulation

REGION = "eu-west-1"
BUCKET = "jobs"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/transform"


def _archive(estimator: Any) -> bytes:
    model = io.BytesIO()
    joblib.dump(estimator, model)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(model.getvalue())
        tar.addfile(info, io.BytesIO(model.getvalue()))
    return archive.getvalue()


def _csv(matrix: np.ndarray) -> bytes:
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in matrix).encode()


@pytest.fixture
def emulated() -> Iterator[tuple[Any, Any]]:
    with mock_aws(), sagemaker_job_emulation(JobOutcomes()):
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3, boto3.client("sagemaker", region_name=REGION)


def _model(s3: Any, sm: Any, name: str, estimator: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"models/{name}/model.tar.gz", Body=_archive(estimator))
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "scikit-learn", "ModelDataUrl": f"s3://{BUCKET}/models/{name}/model.tar.gz"},
    )


def _transform(s3: Any, sm: Any, job: str, model: str, matrix: np.ndarray) -> np.ndarray:
    s3.put_object(Bucket=BUCKET, Key=f"input/{job}/holdout.csv", Body=_csv(matrix))
    sm.create_transform_job(
        TransformJobName=job,
        ModelName=model,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/input/{job}/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/output/{job}"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    assert sm.describe_transform_job(TransformJobName=job)["TransformJobStatus"] == "Completed"
    body = s3.get_object(Bucket=BUCKET, Key=f"output/{job}/holdout.csv.out")["Body"].read().decode()
    return np.array([float(line) for line in body.splitlines()])


def test_a_transform_on_a_model_and_input_seen_before_answers_what_the_estimator_predicts(
    emulated: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two classifiers trained on different labels, and two input sets
    s3, sm = emulated
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 4))
    first = LogisticRegression().fit(x, x[:, 0] + 0.3 * rng.normal(size=300) > 0)
    second = LogisticRegression().fit(x, x[:, 1] > 0)
    _model(s3, sm, "first", first)
    _model(s3, sm, "second", second)
    holdout, other = rng.normal(size=(200, 4)), rng.normal(size=(50, 4))
    monkeypatch.setattr(sagemaker_jobs, "_TRANSFORMED", {})
    loads: list[int] = []
    load = sagemaker_jobs.load_estimator
    monkeypatch.setattr(sagemaker_jobs, "load_estimator", lambda archive: loads.append(1) or load(archive))

    # When the same model scores the same input in two jobs, then another input, then another model
    once = _transform(s3, sm, "once", "first", holdout)
    again = _transform(s3, sm, "again", "first", holdout)
    elsewhere = _transform(s3, sm, "elsewhere", "first", other)
    other_model = _transform(s3, sm, "other-model", "second", holdout)

    # Then every output is the estimator's own P(positive) for each line, as scikit-learn computes it
    # (to the last bit: the output is written with repr and read back with float)
    np.testing.assert_array_equal(once, first.predict_proba(holdout)[:, 1])
    np.testing.assert_array_equal(again, once)
    np.testing.assert_array_equal(elsewhere, first.predict_proba(other)[:, 1])
    np.testing.assert_array_equal(other_model, second.predict_proba(holdout)[:, 1])
    # and the second job on the same model and input was not computed again
    assert len(loads) == 3, loads


def test_a_failed_transform_is_not_remembered(emulated: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a model whose archive holds no estimator
    s3, sm = emulated
    monkeypatch.setattr(sagemaker_jobs, "_TRANSFORMED", {})
    s3.put_object(Bucket=BUCKET, Key="models/broken/model.tar.gz", Body=b"not an archive")
    sm.create_model(
        ModelName="broken",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "scikit-learn", "ModelDataUrl": f"s3://{BUCKET}/models/broken/model.tar.gz"},
    )
    s3.put_object(Bucket=BUCKET, Key="input/broken/holdout.csv", Body=b"1.0,2.0\n")
    # When a job runs it twice
    for job in ("broken-1", "broken-2"):
        sm.create_transform_job(
            TransformJobName=job,
            ModelName="broken",
            TransformInput={
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/input/"}}
            },
            TransformOutput={"S3OutputPath": f"s3://{BUCKET}/output/{job}"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        )
        # Then each job fails as SageMaker reports a container error, and nothing is remembered
        described = sm.describe_transform_job(TransformJobName=job)
        assert described["TransformJobStatus"] == "Failed", described
        assert described["FailureReason"].startswith("AlgorithmError: "), described
    assert sagemaker_jobs._TRANSFORMED == {}


def test_the_remembered_transforms_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sagemaker_jobs, "_TRANSFORMED", {})
    keys = [(bytes([i]), b"input") for i in range(sagemaker_jobs._TRANSFORMED_ENTRIES + 2)]
    for key in keys:
        sagemaker_jobs._remember(key, b"out")
    assert list(sagemaker_jobs._TRANSFORMED) == keys[2:]
