"""boto3 adapters of the promotion family: promotion executions (Step Functions), the managed
groups' policies (SSM parameters written by the CDK app, read through Powertools Parameters, cached)
and the Staging validation's SageMaker transform / processing jobs and S3 objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from mlops_registry.core.aws import client, warm_state
from mlops_registry.core.config import publish, read_published
from mlops_registry.core.contracts import PROCESSING_ROOT, group_policy_parameter
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.reports import parse_s3_uri
from promotion.settings import ValidationSettings

# A group's policy changes only with a deployment of the app; a warm function re-reads it after this.
POLICY_CACHE_SECONDS = 300


@warm_state
def _provider(ssm: Any) -> SSMProvider:
    """One cached Parameters provider per SSM client (a new client, e.g. another account, starts empty)."""
    return SSMProvider(boto3_client=ssm)


class SsmPolicySource:
    """Each managed group's policy lives in an SSM parameter written by the CDK app."""

    def __init__(self, prefix: str, ssm: Any | None = None) -> None:
        self.prefix = prefix
        self._provider = _provider(ssm or client("ssm"))

    def get(self, group: str) -> dict[str, Any] | None:
        name = group_policy_parameter(self.prefix, group)
        try:
            value = self._provider.get(name, max_age=POLICY_CACHE_SECONDS)
        except GetParameterError as error:
            cause = error.__cause__ or error.__context__  # Powertools raises inside its except block
            if isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "ParameterNotFound":
                return None
            raise (cause or error) from None  # a transient ClientError stays typed for the Retry
        return publish(read_published(str(value), f"ssm:{name}"))


class StepFunctionsExecutions:
    """The promotion state machine's executions (``promotion.dispatch.Executions``) and the task
    tokens of its waiting approvals (``mlops_registry.core.ports.TaskTokens``)."""

    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self._sfn = sfn
        self.state_machine_arn = state_machine_arn

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        """DescribeExecution's answer (status, input, error, cause), or None when no such execution exists."""
        try:
            return dict(self._sfn.describe_execution(executionArn=execution_arn))
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return None
            raise

    def ended(self, status: str) -> Iterator[dict[str, Any]]:
        """The state machine's executions that ended with ``status`` (executionArn, stopDate), every page."""
        pages = self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.state_machine_arn, statusFilter=status
        )
        for page in pages:
            yield from page.get("executions", [])

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> None:
        self._sfn.send_task_success(taskToken=task_token, output=json.dumps(output))

    def start(self, name: str, payload: dict[str, Any]) -> tuple[bool, str]:
        """(started?, execution ARN). An existing execution of that name means a duplicate."""
        arn = self.execution_arn(name)
        if self.describe(arn) is not None:
            return False, arn
        try:
            response = self._sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
            return True, str(response["executionArn"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False, arn
            raise


# Transform: one CSV record per line, split into mini-batches by line; the model answers per line.
MAX_PAYLOAD_MB = 6


class SageMakerJobs:
    """The validation's SageMaker and S3 calls (``promotion.validation.Jobs``)."""

    def __init__(self, settings: ValidationSettings, sagemaker: Any | None = None, s3: Any | None = None) -> None:
        self.settings = settings
        self.sm = sagemaker or client("sagemaker")
        self.s3 = s3 or client("s3")

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
