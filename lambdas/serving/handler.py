"""Deployment task handler: ``start`` / ``check`` / ``evaluate`` a group's deployment (see ``deployment``)."""

from __future__ import annotations

from typing import Any

from mlops_registry.core import notifier
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.ledger import Ledger, LedgerWriter
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, logger, set_correlation_id
from mlops_registry.core.serving_stacks import ServingStacks
from serving.adapters import EndpointTraffic, GroupLock, VariantMetrics
from serving.deployment import DeploymentService
from serving.models import parse_task
from serving.settings import load


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
        writer=LedgerWriter(Ledger(settings.LEDGER_TABLE), notifier.topic(settings.TOPIC_ARN)),
    )


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = parse_task(event)
    set_correlation_id(task.state.package_arn)
    record = service().dispatch(task)
    count(f"Deployment_{task.action}")
    if isinstance(record, dict):  # restore
        logger.info("deployment restore", extra=record)
        return record
    logger.info(
        "deployment step",
        extra={"action": task.action, "phase": record.phase, "next": record.next, "outcome": record.outcome},
    )
    return record.model_dump(mode="json")
