"""Deployment task handler: ``start`` / ``check`` / ``evaluate`` a group's deployment (see ``deployment``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from registry_core.errors import THROTTLING_CODES, TransientServiceError
from registry_core.model_registry import ModelRegistry
from registry_core.observability import count, instrumented, logger, set_correlation_id

from serving.adapters import EndpointTraffic, GroupLock, ServingStacks, VariantMetrics
from serving.deployment import DeploymentService
from serving.models import parse_task
from serving.settings import load

F = TypeVar("F", bound=Callable[..., Any])


def transient_errors_are_typed(func: F) -> F:
    """Throttling that outlived the client's retries becomes ``TransientServiceError`` (state machine Retry)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] in THROTTLING_CODES:
                raise TransientServiceError(str(error)) from error
            raise

    return wrapper  # type: ignore[return-value]


def service() -> DeploymentService:
    settings = load()
    return DeploymentService(
        env_name=settings.ENV_NAME,
        deploy_role_arn_prefix=settings.DEPLOY_ROLE_ARN_PREFIX,
        stacks=ServingStacks(),
        traffic=EndpointTraffic(),
        metrics=VariantMetrics(),
        registry=ModelRegistry(),
        lock=GroupLock(settings.LOCKS_TABLE),
    )


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = parse_task(event)
    set_correlation_id(task.state.package_arn)
    record = service().dispatch(task)
    count(f"Deployment_{task.action}")
    logger.info(
        "deployment step",
        extra={"action": task.action, "phase": record.phase, "next": record.next, "outcome": record.outcome},
    )
    return record.model_dump(mode="json")
