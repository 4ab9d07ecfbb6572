"""boto3 adapters of the promotion family: promotion executions (Step Functions) and the managed
groups' policies (SSM parameters written by the CDK app, read through Powertools Parameters, cached).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from mlops_registry.core.aws import client
from mlops_registry.core.config import publish, read_published
from mlops_registry.core.contracts import group_policy_parameter

# A group's policy changes only with a deployment of the app; a warm function re-reads it after this.
POLICY_CACHE_SECONDS = 300


@functools.lru_cache(maxsize=4)
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


class ExecutionStarter:
    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self._sfn = sfn
        self.state_machine_arn = state_machine_arn

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, name: str, payload: dict[str, Any]) -> tuple[bool, str]:
        """(started?, execution ARN). An existing execution of that name means a duplicate."""
        arn = self.execution_arn(name)
        try:
            self._sfn.describe_execution(executionArn=arn)
            return False, arn
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise
        try:
            response = self._sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload, sort_keys=True)
            )
            return True, str(response["executionArn"])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return False, arn
            raise
