"""Powertools idempotency for the gate and lifecycle logic, keyed on (package, action, execution).

A retried task (e.g. its response was lost after the work was done) gets the stored result instead
of re-running side effects; the Lambda context is registered so a timeout leaves no stuck record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from mlops_registry.core.aws import client

EXPIRES_AFTER_SECONDS = 7 * 24 * 3600


def run_idempotent(
    logic: Callable[[dict[str, Any]], dict[str, Any]], request: dict[str, Any], table_name: str, context: Any
) -> dict[str, Any]:
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client("dynamodb"))
    config = IdempotencyConfig(
        event_key_jmespath="[package_arn, action, execution_arn]",
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        raise_on_no_idempotency_key=True,
    )
    config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def guarded(request: dict[str, Any]) -> dict[str, Any]:
        return logic(request)

    return guarded(request=request)
