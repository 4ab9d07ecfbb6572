"""The serving stack of a group (CloudFormation): what it serves, its status, and changing what it serves.

Used by the deployment Lambda and by the rollback the CLI runs (``mlops_registry.core.rollback``): what
serves is always a parameter of the group's serving stack (``mlops_registry.core.serving_names``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.core.aws import client
from mlops_registry.core.errors import DeploymentError, ServingBusyError
from mlops_registry.core.stacks import IN_PROGRESS, StackView

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the stack holds the model's execution role and its deploy role


class ServingStacks:
    """The serving stack of a group: read its parameters and status, change what it serves."""

    def __init__(self, cloudformation: Any | None = None) -> None:
        self._cfn = cloudformation or client("cloudformation")

    def describe(self, stack_name: str) -> StackView:
        try:
            stacks = self._cfn.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ValidationError":
                raise DeploymentError(f"serving stack {stack_name!r} does not exist; deploy the app first") from error
            raise
        stack = stacks[0]
        return StackView(
            name=stack_name,
            status=stack["StackStatus"],
            parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])},
            status_reason=stack.get("StackStatusReason"),
        )

    def deploy(self, stack_name: str, target: dict[str, str], role_arn: str) -> bool:
        """Update the stack's parameters to ``target`` with its previous template, through ``role_arn``.

        Returns False when the stack already serves ``target`` (nothing to do: idempotent retries).
        Every other parameter keeps its previous value. Raises ``ServingBusyError`` when the stack is
        mid-operation.
        """
        current = self.describe(stack_name)
        unknown = sorted(set(target) - set(current.parameters))
        if unknown:
            raise DeploymentError(f"serving stack {stack_name!r} has no parameter(s) {unknown}")
        if current.status in IN_PROGRESS:
            raise ServingBusyError(f"serving stack {stack_name!r} is {current.status}")
        if current.serves(target) and current.settled:
            return False
        parameters = [
            {"ParameterKey": key, "ParameterValue": target[key]}
            if key in target
            else {"ParameterKey": key, "UsePreviousValue": True}
            for key in sorted(current.parameters)
        ]
        try:
            self._cfn.update_stack(
                StackName=stack_name,
                UsePreviousTemplate=True,
                Parameters=parameters,
                RoleARN=role_arn,
                Capabilities=CAPABILITIES,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ValidationError":
                raise
            # Raced with another operation, or nothing changed: decide from the stack, not the message.
            now = self.describe(stack_name)
            if now.status in IN_PROGRESS:
                raise ServingBusyError(f"serving stack {stack_name!r} is {now.status}") from error
            if now.serves(target) and now.settled:
                return False
            raise DeploymentError(f"serving stack {stack_name!r} rejected the update: {error}") from error
        return True

    def failure(self, stack_name: str, since: datetime) -> dict[str, Any]:
        """The first resource failure of the stack's latest operation (why CloudFormation rolled back)."""
        events: list[dict[str, Any]] = []
        for page in self._cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name):
            events.extend(page.get("StackEvents", []))
            if any(e["Timestamp"] < since for e in page.get("StackEvents", [])):
                break  # newest first: older pages belong to earlier operations
        failed = [e for e in events if e["Timestamp"] >= since and str(e.get("ResourceStatus", "")).endswith("_FAILED")]
        failed.sort(key=lambda e: e["Timestamp"])
        if not failed:
            return {"resource": None, "reason": "CloudFormation rolled the update back (no failure event recorded)"}
        first = failed[0]
        return {
            "resource": first.get("LogicalResourceId"),
            "type": first.get("ResourceType"),
            "status": first.get("ResourceStatus"),
            "reason": first.get("ResourceStatusReason") or "-",
        }
