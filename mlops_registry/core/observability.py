"""One Logger / Tracer / Metrics setup and one decorator order for every handler.

``instrumented`` applies, outermost first: logger context injection (correlation id from the
handler's own choice, usually the model package ARN or the execution id), X-Ray tracing, and the
metrics flush. Every handler in the project uses it, so the order never varies.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from mlops_registry.core.contracts import APP_NAME, METRICS_NAMESPACE

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", APP_NAME))
tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME", APP_NAME))
metrics = Metrics(namespace=NAMESPACE)

Handler = Callable[[dict[str, Any], Any], Any]


def instrumented(handler: Handler) -> Handler:
    """Wrap a Lambda handler with the project's fixed decorator order."""

    @functools.wraps(handler)
    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def wrapper(event: dict[str, Any], context: Any) -> Any:
        return handler(event, context)

    return wrapper


def set_correlation_id(value: str | None) -> None:
    logger.set_correlation_id(value)


def count(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
