"""AWS adapters of the serving family: the serving stack (CloudFormation), endpoint traffic
(SageMaker) and per-variant metrics (CloudWatch). Every call goes through ``registry_core.aws.client``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from registry_core.aws import client
from registry_core.errors import DeploymentError

from serving.ab_test import VariantCounts
from serving.errors import ServingBusyError
from serving.names import (
    AB_TEST_NAMESPACE,
    DIMENSION_ENDPOINT,
    DIMENSION_VARIANT,
    METRIC_5XX,
    METRIC_INVOCATIONS,
    METRIC_LATENCY,
    SAGEMAKER_NAMESPACE,
)

# The CloudFormation statuses a serving stack can be in, by what they mean for a deployment.
SETTLED_OK = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
ROLLED_BACK = frozenset({"UPDATE_ROLLBACK_COMPLETE"})
IN_PROGRESS = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "REVIEW_IN_PROGRESS",
        "IMPORT_IN_PROGRESS",
    }
)
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the stack holds the model's execution role and its deploy role


@dataclass(frozen=True)
class StackView:
    name: str
    status: str
    parameters: dict[str, str] = field(default_factory=dict)
    status_reason: str | None = None

    @property
    def settled(self) -> bool:
        return self.status in SETTLED_OK or self.status in ROLLED_BACK

    def serves(self, target: dict[str, str]) -> bool:
        return all(self.parameters.get(key, "") == value for key, value in target.items())


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
        token = None
        while True:
            page = self._cfn.describe_stack_events(StackName=stack_name, **({"NextToken": token} if token else {}))
            events.extend(page.get("StackEvents", []))
            token = page.get("NextToken")
            if not token or any(e["Timestamp"] < since for e in page.get("StackEvents", [])):
                break
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


class EndpointTraffic:
    """Per-variant weights of an endpoint (A/B conclusions)."""

    def __init__(self, sagemaker: Any | None = None) -> None:
        self._sm = sagemaker or client("sagemaker")

    def status(self, endpoint: str) -> str:
        return str(self._sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"])

    def weights(self, endpoint: str) -> dict[str, float]:
        variants = self._sm.describe_endpoint(EndpointName=endpoint).get("ProductionVariants", [])
        return {v["VariantName"]: float(v.get("CurrentWeight", 0.0)) for v in variants}

    def set_weights(self, endpoint: str, weights: dict[str, float]) -> None:
        status = self.status(endpoint)
        if status != "InService":
            raise ServingBusyError(f"endpoint {endpoint!r} is {status}")
        self._sm.update_endpoint_weights_and_capacities(
            EndpointName=endpoint,
            DesiredWeightsAndCapacities=[
                {"VariantName": variant, "DesiredWeight": weight} for variant, weight in sorted(weights.items())
            ],
        )


def metric_period(window: timedelta) -> int:
    """A GetMetricData period CloudWatch keeps at that age (1-min data 15 days, 5-min 63 days, then 1 h)."""
    seconds = window.total_seconds()
    if seconds <= 24 * 3600:
        return 60
    if seconds <= 15 * 24 * 3600:
        return 300
    return 3600


class VariantMetrics:
    """Per-variant counts from CloudWatch: SageMaker's invocation metrics and the application's success metric."""

    def __init__(self, cloudwatch: Any | None = None) -> None:
        self._cw = cloudwatch or client("cloudwatch")

    def counts(
        self, endpoint: str, variants: list[str], success_metric: str, start: datetime, end: datetime
    ) -> dict[str, VariantCounts]:
        period = metric_period(end - start)
        # Align to the period: CloudWatch rounds the start down anyway, and the end must lie after it.
        epoch = math.floor(start.timestamp() / period) * period
        aligned_start = datetime.fromtimestamp(epoch, tz=start.tzinfo)
        aligned_end = datetime.fromtimestamp(math.floor(end.timestamp() / period) * period + period, tz=end.tzinfo)
        queries = []
        plan: dict[str, tuple[str, str]] = {}
        for index, variant in enumerate(variants):
            dimensions = [
                {"Name": DIMENSION_ENDPOINT, "Value": endpoint},
                {"Name": DIMENSION_VARIANT, "Value": variant},
            ]
            for key, namespace, name, stat in (
                ("invocations", SAGEMAKER_NAMESPACE, METRIC_INVOCATIONS, "Sum"),
                ("errors", SAGEMAKER_NAMESPACE, METRIC_5XX, "Sum"),
                ("latency", SAGEMAKER_NAMESPACE, METRIC_LATENCY, "Average"),
                ("successes", AB_TEST_NAMESPACE, success_metric, "Sum"),
            ):
                query_id = f"{key}{index}"
                plan[query_id] = (variant, key)
                queries.append(
                    {
                        "Id": query_id,
                        "MetricStat": {
                            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
                            "Period": period,
                            "Stat": stat,
                        },
                        "ReturnData": True,
                    }
                )
        values: dict[str, list[float]] = {query_id: [] for query_id in plan}
        token = None
        while True:
            page = self._cw.get_metric_data(
                MetricDataQueries=queries,
                StartTime=aligned_start,
                EndTime=aligned_end,
                **({"NextToken": token} if token else {}),
            )
            for result in page.get("MetricDataResults", []):
                values[result["Id"]].extend(float(v) for v in result.get("Values", []))
            token = page.get("NextToken")
            if not token:
                break
        out: dict[str, VariantCounts] = {}
        for index, variant in enumerate(variants):
            latency = values[f"latency{index}"]
            out[variant] = VariantCounts(
                invocations=int(round(sum(values[f"invocations{index}"]))),
                successes=int(round(sum(values[f"successes{index}"]))),
                errors=int(round(sum(values[f"errors{index}"]))),
                latency_ms=(sum(latency) / len(latency) / 1000.0) if latency else None,
            )
        return out


class GroupLock:
    """The group's promotion lock (``registry_core.locks``), refreshed for as long as a deployment waits."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb

    def refresh(self, group: str, owner: str, package_arn: str, ttl_seconds: int) -> None:
        from registry_core.locks import PromotionLock

        PromotionLock(self.table_name, ttl_seconds, dynamodb=self._ddb).acquire(group, owner, package_arn)
