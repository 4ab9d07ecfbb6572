"""Staging validation task handler (``start`` / ``poll``) and its SageMaker / S3 adapter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.core import model_cards
from mlops_registry.core.aws import client
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.model_registry import ModelRegistry, PackageView
from mlops_registry.core.observability import count, instrumented, logger, set_correlation_id
from mlops_registry.core.reports import parse_s3_uri
from promotion.settings import ValidationSettings, load
from promotion.state import parse_task
from promotion.validation import PROCESSING_ROOT, ValidationService

# Transform: one CSV record per line, split into mini-batches by line; the model answers per line.
MAX_PAYLOAD_MB = 6


class SageMakerJobs:
    """The validation's SageMaker and S3 calls (``promotion.validation.Jobs``)."""

    def __init__(self, settings: ValidationSettings) -> None:
        self.settings = settings
        self.sm = client("sagemaker")
        self.s3 = client("s3")

    def create_model(self, name: str, view: PackageView) -> None:
        # The package's own inference container(s): SageMaker resolves image and model data from it.
        try:
            self.sm.create_model(
                ModelName=name,
                ExecutionRoleArn=self.settings.EXECUTION_ROLE_ARN,
                Containers=[{"ModelPackageName": view.arn}],
                EnableNetworkIsolation=True,
            )
        except ClientError as error:
            if "already exists" not in str(error.response.get("Error", {}).get("Message", "")):
                raise  # a retried start finds the model it created

    def delete_model(self, name: str) -> None:
        try:
            self.sm.delete_model(ModelName=name)
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
                raise

    def start_transform(self, name: str, model: str, input_uri: str, output_uri: str, instance_type: str) -> None:
        try:
            self.sm.create_transform_job(
                TransformJobName=name,
                ModelName=model,
                BatchStrategy="MultiRecord",
                MaxPayloadInMB=MAX_PAYLOAD_MB,
                TransformInput={
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
                    "ContentType": "text/csv",
                    "SplitType": "Line",
                },
                TransformOutput={
                    "S3OutputPath": output_uri,
                    "Accept": "text/csv",
                    "AssembleWith": "Line",
                    "KmsKeyId": self.settings.KMS_KEY_ARN,
                },
                TransformResources={
                    "InstanceType": instance_type,
                    "InstanceCount": 1,
                    "VolumeKmsKeyId": self.settings.KMS_KEY_ARN,
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUse":
                raise

    def transform_status(self, name: str) -> tuple[str, str]:
        job = self.sm.describe_transform_job(TransformJobName=name)
        return str(job["TransformJobStatus"]), str(job.get("FailureReason") or "")

    def stop_transform(self, name: str) -> None:
        self.sm.stop_transform_job(TransformJobName=name)

    def start_processing(self, name: str, mode: str, inputs: Mapping[str, str], output_uri: str) -> None:
        code = f"{PROCESSING_ROOT}/code"
        processing_inputs = [
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": self.settings.PROCESSING_CODE_URI,
                    "LocalPath": code,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
            *[
                {
                    "InputName": input_name,
                    "S3Input": {
                        "S3Uri": uri,
                        "LocalPath": f"{PROCESSING_ROOT}/{input_name}",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
                for input_name, uri in inputs.items()
            ],
        ]
        try:
            self.sm.create_processing_job(
                ProcessingJobName=name,
                RoleArn=self.settings.EXECUTION_ROLE_ARN,
                AppSpecification={
                    "ImageUri": self.settings.PROCESSING_IMAGE_URI,
                    "ContainerEntrypoint": [
                        "python3",
                        f"{code}/{self.settings.PROCESSING_ENTRYPOINT}",
                        mode,
                        PROCESSING_ROOT,
                    ],
                },
                ProcessingInputs=processing_inputs,
                ProcessingOutputConfig={
                    "Outputs": [
                        {
                            "OutputName": "result",
                            "S3Output": {
                                "S3Uri": output_uri,
                                "LocalPath": f"{PROCESSING_ROOT}/output",
                                "S3UploadMode": "EndOfJob",
                            },
                        }
                    ],
                    "KmsKeyId": self.settings.KMS_KEY_ARN,
                },
                ProcessingResources={
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": self.settings.PROCESSING_INSTANCE_TYPE,
                        "VolumeSizeInGB": 30,
                        "VolumeKmsKeyId": self.settings.KMS_KEY_ARN,
                    }
                },
                StoppingCondition={"MaxRuntimeInSeconds": self.settings.PROCESSING_MAX_SECONDS},
                NetworkConfig={"EnableNetworkIsolation": True},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUse":
                raise

    def processing_status(self, name: str) -> tuple[str, str]:
        job = self.sm.describe_processing_job(ProcessingJobName=name)
        return str(job["ProcessingJobStatus"]), str(job.get("FailureReason") or job.get("ExitMessage") or "")

    def stop_processing(self, name: str) -> None:
        self.sm.stop_processing_job(ProcessingJobName=name)

    def size(self, uri: str) -> int | None:
        bucket, key = parse_s3_uri(uri)
        try:
            return int(self.s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def read(self, uri: str) -> bytes:
        bucket, key = parse_s3_uri(uri)
        return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def write(self, uri: str, body: bytes) -> None:
        bucket, key = parse_s3_uri(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)


def _now(event: Mapping[str, Any]) -> datetime:
    raw = str(event.get("now") or "")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidEventError(f"now: {raw!r} is not an ISO-8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_task(event)
    set_correlation_id(request.state.package_arn)
    settings = load(ValidationSettings)
    service = ValidationService(
        SageMakerJobs(settings),
        bucket=settings.ARTIFACTS_BUCKET,
        lambda_max_bytes=settings.LAMBDA_HOLDOUT_MAX_BYTES,
        registry=ModelRegistry(),
        record_on_card=model_cards.record_evaluation,
    )
    now = _now(event)
    if request.action == "start":
        result = service.start(request.state, request.execution_arn, now)
    elif request.action == "poll":
        result = service.poll(request.state, request.execution_arn, now)
    else:
        raise InvalidEventError(f"action: unknown validation action {request.action!r}; expected start or poll")
    if result.get("done"):
        verdict = result["verdict"]
        count("GatePassed" if verdict["passed"] else "GateDenied")
        logger.info("validation verdict", extra={"passed": verdict["passed"], "reasons": verdict["reasons"]})
    return result
