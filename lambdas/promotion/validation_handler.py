"""Staging validation task handler (``start`` / ``poll``): parse, run ``ValidationService``, map the verdict."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mlops_registry.core import model_cards
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, logger, set_correlation_id
from promotion.adapters import SageMakerJobs
from promotion.settings import ValidationSettings, load
from promotion.state import parse_task
from promotion.validation import ValidationService


def _now(event: Mapping[str, Any]) -> datetime:
    raw = str(event.get("now") or "")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidEventError(f"now: {raw!r} is not an ISO-8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_task(event)
    set_correlation_id(request.state.package_arn)
    settings = load(ValidationSettings)
    service = ValidationService(
        SageMakerJobs(settings),
        bucket=settings.ARTIFACTS_BUCKET,
        lambda_max_bytes=settings.LAMBDA_HOLDOUT_MAX_BYTES,
        registry=ModelRegistry(),
        record_on_card=model_cards.record_evaluation,
    )
    result = service.run(request.action, request.state, request.execution_arn, _now(event))
    if result.get("done"):
        verdict = result["verdict"]
        count("GatePassed" if verdict["passed"] else "GateDenied")
        logger.info("validation verdict", extra={"passed": verdict["passed"], "reasons": verdict["reasons"]})
    return result
