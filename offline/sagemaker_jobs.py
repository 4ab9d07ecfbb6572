"""Batch Transform and Processing jobs, emulated in process on moto.

moto records ``CreateTransformJob`` / ``CreateProcessingJob`` and reports them ``Completed`` without
running anything. Here they run:

- **Batch Transform**: the job's model (a Model created from a model package, or with its own
  container) leads to the package's ``ModelDataUrl``; the ``model.tar.gz`` there holds
  ``model.joblib`` (a scikit-learn estimator), loaded as the model's container would. Every input
  object under the job's ``S3Prefix`` (CSV, one record per line) gets an output object
  ``<S3OutputPath>/<input name>.out`` with one line per input line: the positive-class probability of
  a classifier, the value of a regressor.
- **Processing**: the inputs are downloaded under a temporary ``/opt/ml/processing`` root, the
  container entry point (``python3 <code> ...``) runs in a subprocess of this interpreter with the
  root substituted, and ``output`` is uploaded to the output's S3 URI when it exits 0.

``JobOutcomes`` lets a test make the next job of a kind fail (``Failed`` with a reason) or hang
(``InProgress`` until stopped); ``StopTransformJob``, which moto lacks, is added.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses

from mlops_registry.core.contracts import PROCESSING_ROOT
from offline.emulator_version import check_emulator_version


class JobOutcomes:
    """What the next jobs do: ``run`` (default), ``fail`` or ``hang``, per kind (transform/processing)."""

    def __init__(self) -> None:
        self._queue: dict[str, list[tuple[str, str]]] = {"transform": [], "processing": []}
        self._lock = threading.Lock()
        self.ran: dict[str, list[str]] = {"transform": [], "processing": []}

    def push(self, kind: str, outcome: str, reason: str = "") -> None:
        if kind not in self._queue or outcome not in ("run", "fail", "hang"):
            raise ValueError(f"unknown job kind {kind!r} or outcome {outcome!r}")
        with self._lock:
            self._queue[kind].append((outcome, reason))

    def pop(self, kind: str) -> tuple[str, str]:
        with self._lock:
            return self._queue[kind].pop(0) if self._queue[kind] else ("run", "")


def _s3() -> Any:
    from moto.s3.models import s3_backends

    from offline.harness import ACCOUNT

    return s3_backends[ACCOUNT]["aws"]


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _read(uri: str) -> bytes:
    bucket, key = _split(uri)
    return bytes(_s3().get_object(bucket, key).value)


def _write(uri: str, body: bytes) -> None:
    bucket, key = _split(uri)
    _s3().put_object(bucket, key, body)


def _keys(prefix_uri: str) -> list[str]:
    bucket, prefix = _split(prefix_uri)
    found = _s3().get_bucket(bucket).keys
    return sorted(key for key in found if key.startswith(prefix) and not key.endswith("/"))


def _model_data_url(backend: Any, model_name: str) -> str:
    model = backend.describe_model(model_name)
    containers = list(model.containers or []) + ([model.primary_container] if model.primary_container else [])
    for container in containers:
        if container.get("ModelDataUrl"):
            return str(container["ModelDataUrl"])
        package_name = container.get("ModelPackageName")
        if package_name:
            package = backend.describe_model_package(package_name)
            spec = package.inference_specification or {}
            for inner in spec.get("Containers", []):
                if inner.get("ModelDataUrl"):
                    return str(inner["ModelDataUrl"])
    raise RuntimeError(f"model {model_name} has no model data")


def load_estimator(archive: bytes) -> Any:
    """``model.joblib`` from a ``model.tar.gz``, as a scikit-learn serving container loads it."""
    import joblib

    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.getmember("model.joblib")
        handle = tar.extractfile(member)
        if handle is None:
            raise RuntimeError("model.joblib is not a file")
        return joblib.load(io.BytesIO(handle.read()))


def run_transform(backend: Any, job: Any) -> None:
    import numpy as np

    from offline.samples import predict_outputs

    archive = _read(_model_data_url(backend, job.model_name))
    source = job.transform_input["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, _ = _split(source)
    output = job.transform_output["S3OutputPath"].rstrip("/")
    estimator = None
    for key in _keys(source):
        text = _read(f"s3://{bucket}/{key}").decode()
        memo = (hashlib.sha256(archive).digest(), hashlib.sha256(text.encode()).digest())
        body = _TRANSFORMED.get(memo)
        if body is None:
            if estimator is None:  # not `or`: an estimator's truth value may be its length (a Pipeline)
                estimator = load_estimator(archive)
            # NumPy's reader rounds each decimal to the nearest float, as float() does; blank lines are skipped
            matrix = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2) if text.strip() else None
            values = [] if matrix is None else predict_outputs(estimator, matrix).tolist()
            body = "".join(f"{v!r}\n" for v in values).encode()
            _remember(memo, body)
        _write(f"{output}/{key.rsplit('/', 1)[-1]}.out", body)


# The outputs of earlier transforms, by the SHA-256 of the model archive and of the input object: the
# same model on the same input gives the same output, so a transform seen before is not computed again
# (most tests score the sample model on the same holdout: ~4 s of CPU over the pipeline tests).
_TRANSFORMED: dict[tuple[bytes, bytes], bytes] = {}
_TRANSFORMED_ENTRIES = 64
_TRANSFORMED_LOCK = threading.Lock()


def _remember(memo: tuple[bytes, bytes], body: bytes) -> None:
    with _TRANSFORMED_LOCK:
        if len(_TRANSFORMED) >= _TRANSFORMED_ENTRIES:
            del _TRANSFORMED[next(iter(_TRANSFORMED))]  # the oldest
        _TRANSFORMED[memo] = body


def run_processing(job: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="processing-") as workdir:
        root = Path(workdir)
        for item in job.processing_inputs:
            s3_input = item["S3Input"]
            local = Path(str(s3_input["LocalPath"]).replace(PROCESSING_ROOT, workdir, 1))
            local.mkdir(parents=True, exist_ok=True)
            bucket, prefix = _split(s3_input["S3Uri"])
            for key in _keys(s3_input["S3Uri"]):
                relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
                target = local / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_read(f"s3://{bucket}/{key}"))
        command = [str(part).replace(PROCESSING_ROOT, workdir) for part in job.app_specification["ContainerEntrypoint"]]
        if command[0] in ("python3", "python"):
            command[0] = sys.executable
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"exit {result.returncode}: {result.stderr.strip()[-500:]}")
        for item in job.processing_output_config["Outputs"]:
            s3_output = item["S3Output"]
            local = Path(str(s3_output["LocalPath"]).replace(PROCESSING_ROOT, workdir, 1))
            for path in sorted(p for p in local.rglob("*") if p.is_file()):
                _write(f"{s3_output['S3Uri'].rstrip('/')}/{path.relative_to(local).as_posix()}", path.read_bytes())
        del root


@contextmanager
def sagemaker_job_emulation(outcomes: JobOutcomes) -> Iterator[JobOutcomes]:
    """Run transform and processing jobs when they are created (see the module docstring)."""
    check_emulator_version()  # reaches into moto's private classes
    create_transform = sm_models.SageMakerModelBackend.create_transform_job
    create_processing = sm_models.SageMakerModelBackend.create_processing_job

    def settle(job: Any, kind: str, status_attribute: str, run: Any) -> None:
        outcome, reason = outcomes.pop(kind)
        outcomes.ran[kind].append(outcome)
        if outcome == "hang":
            setattr(job, status_attribute, "InProgress")
            return
        if outcome == "fail":
            setattr(job, status_attribute, "Failed")
            job.failure_reason = reason or "ClientError: the emulated job was told to fail"
            return
        try:
            run()
        except Exception as error:  # the job fails the way SageMaker reports it
            setattr(job, status_attribute, "Failed")
            job.failure_reason = f"AlgorithmError: {error}"[:1024]
            return
        setattr(job, status_attribute, "Completed")

    def transform(self: Any, **kwargs: Any) -> Any:
        job = create_transform(self, **kwargs)
        settle(job, "transform", "transform_job_status", lambda: run_transform(self, job))
        return job

    def processing(self: Any, **kwargs: Any) -> Any:
        job = create_processing(self, **kwargs)
        settle(job, "processing", "processing_job_status", lambda: run_processing(job))
        return job

    def stop_transform_backend(self: Any, transform_job_name: str) -> None:
        self.transform_jobs[transform_job_name].transform_job_status = "Stopped"

    def stop_transform_response(self: Any) -> Any:
        self.sagemaker_backend.stop_transform_job(self._get_param("TransformJobName"))
        return sm_responses.EmptyResult()

    with (
        mock.patch.object(sm_models.SageMakerModelBackend, "create_transform_job", transform),
        mock.patch.object(sm_models.SageMakerModelBackend, "create_processing_job", processing),
        mock.patch.object(sm_models.SageMakerModelBackend, "stop_transform_job", stop_transform_backend, create=True),
        mock.patch.object(sm_responses.SageMakerResponse, "stop_transform_job", stop_transform_response, create=True),
    ):
        yield outcomes
