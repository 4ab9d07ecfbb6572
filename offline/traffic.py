"""Traffic on an endpoint as CloudWatch sees it: per-variant metrics, as SageMaker and the application publish them.

SageMaker publishes ``Invocations``, ``Invocation5XXErrors`` and ``ModelLatency`` per production variant
in ``AWS/SageMaker``; the application publishes the A/B success metric (one per successful outcome) in
``MlopsRegistry/AbTest``, with the same ``EndpointName`` / ``VariantName`` dimensions. The A/B evaluator
reads exactly these (``serving.adapters``). The harness, the demo and ``make sandbox-traffic`` all
publish through ``put_variant_metrics``.
"""

from __future__ import annotations

import math
import random
from typing import Any

from mlops_registry.core.contracts import VARIANT_CHALLENGER

DEFAULT_LATENCY_US = 40000


def put_variant_metrics(cloudwatch: Any, endpoint: str, counts: dict[str, dict[str, int]], success_metric: str) -> None:
    """Publish ``counts`` (variant -> invocations, successes[, errors, latency_us]) for ``endpoint``."""
    from mlops_registry.core import contracts as names

    for variant, values in counts.items():
        dimensions = [
            {"Name": names.DIMENSION_ENDPOINT, "Value": endpoint},
            {"Name": names.DIMENSION_VARIANT, "Value": variant},
        ]
        cloudwatch.put_metric_data(
            Namespace=names.SAGEMAKER_NAMESPACE,
            MetricData=[
                {"MetricName": names.METRIC_INVOCATIONS, "Dimensions": dimensions, "Value": values["invocations"]},
                {"MetricName": names.METRIC_5XX, "Dimensions": dimensions, "Value": values.get("errors", 0)},
                {
                    "MetricName": names.METRIC_LATENCY,
                    "Dimensions": dimensions,
                    "Value": values.get("latency_us", DEFAULT_LATENCY_US),
                },
            ],
        )
        cloudwatch.put_metric_data(
            Namespace=names.AB_TEST_NAMESPACE,
            MetricData=[{"MetricName": success_metric, "Dimensions": dimensions, "Value": values["successes"]}],
        )


def default_requests(weights: dict[str, float], min_samples_per_variant: int) -> int:
    """Enough requests for every variant to reach four times the minimum sample at the current weights."""
    total = sum(weights.values())
    smallest = min(weight / total for weight in weights.values())
    return math.ceil(4 * min_samples_per_variant / smallest)


def simulate(
    weights: dict[str, float],
    requests: int,
    base_rate: float,
    lift: float,
    seed: int = 0,
    challenger: str = VARIANT_CHALLENGER,
) -> dict[str, dict[str, int]]:
    """``requests`` routed by weight; each succeeds with ``base_rate`` (the challenger's rate is
    ``base_rate * (1 + lift)``), drawn from a seeded generator as independent outcomes."""
    if requests < 1:
        raise ValueError(f"requests must be at least 1, got {requests}")
    if not 0 < base_rate < 1:
        raise ValueError(f"base rate must be in (0, 1), got {base_rate}")
    challenger_rate = base_rate * (1 + lift)
    if not 0 <= challenger_rate <= 1:
        raise ValueError(f"lift {lift} puts the challenger's rate at {challenger_rate:.3f}, outside [0, 1]")
    total = sum(weights.values())
    rng = random.Random(seed)
    counts: dict[str, dict[str, int]] = {}
    for variant, weight in weights.items():
        invocations = round(requests * weight / total)
        rate = challenger_rate if variant == challenger else base_rate
        successes = sum(1 for _ in range(invocations) if rng.random() < rate)
        counts[variant] = {"invocations": invocations, "successes": successes, "errors": 0}
    return counts
