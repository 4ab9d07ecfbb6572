"""AWS adapters of the serving family: endpoint traffic (SageMaker) and per-variant metrics
(CloudWatch); the serving stack's adapter is ``mlops_registry.core.serving_stacks`` (the CLI's rollback uses
it too). Every call goes through ``mlops_registry.core.aws.client``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from mlops_registry.core.aws import client
from mlops_registry.core.contracts import (
    AB_TEST_NAMESPACE,
    DIMENSION_ENDPOINT,
    DIMENSION_VARIANT,
    METRIC_5XX,
    METRIC_INVOCATIONS,
    METRIC_LATENCY,
    SAGEMAKER_NAMESPACE,
)
from mlops_registry.core.errors import ServingBusyError
from serving.ab_test import VariantCounts


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
        pages = self._cw.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=aligned_start, EndTime=aligned_end
        )
        for page in pages:
            for result in page.get("MetricDataResults", []):
                values[result["Id"]].extend(float(v) for v in result.get("Values", []))
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
    """The group's promotion lock (``mlops_registry.core.locks``), refreshed for as long as a deployment waits."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb

    def refresh(self, group: str, owner: str, package_arn: str, ttl_seconds: int) -> None:
        from mlops_registry.core.locks import PromotionLock

        PromotionLock(self.table_name, ttl_seconds, dynamodb=self._ddb).acquire(group, owner, package_arn)
