"""Lifecycle task handler: one function for every stage change, selected by the task's ``action``."""

from __future__ import annotations

from typing import Any

from mlops_registry.core import model_cards, notifier
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.config import FairnessWaiver
from mlops_registry.core.ledger import Ledger, LedgerWriter
from mlops_registry.core.locks import PromotionLock
from mlops_registry.core.mlflow_rest import MlflowRestClient
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, set_correlation_id
from promotion.idempotency import run_idempotent
from promotion.lifecycle import LifecycleService
from promotion.mlflow_mirror import MlflowMirror
from promotion.performance_baseline import S3PerformanceBaselineStore
from promotion.settings import LifecycleSettings, load
from promotion.state import PromotionState, parse_task


def _service(settings: LifecycleSettings) -> LifecycleService:
    return LifecycleService(
        registry=ModelRegistry(),
        writer=LedgerWriter(Ledger(settings.LEDGER_TABLE), notifier.topic(settings.TOPIC_ARN)),
        lock=PromotionLock(settings.LOCKS_TABLE, settings.LOCK_TTL_SECONDS),
        cards=RegistryModelCards(),
        baselines=S3PerformanceBaselineStore(settings.ARTIFACTS_BUCKET),
        mlflow=_mirror(settings),
    )


def _mirror(settings: LifecycleSettings) -> MlflowMirror | None:
    if not settings.MLFLOW_TRACKING_URI:
        return None
    return MlflowMirror(
        settings.MLFLOW_TRACKING_URI,
        lambda uri: MlflowRestClient(uri),
        attempts=settings.MLFLOW_MIRROR_ATTEMPTS,
        backoff_seconds=settings.MLFLOW_MIRROR_BACKOFF_SECONDS,
    )


class RegistryModelCards:
    """Model cards through the SageMaker Model Card API (``mlops_registry.core.model_cards``)."""

    def ensure(self, package_arn: str, risk_rating: str, fairness_waiver: FairnessWaiver | None = None) -> Any:
        return model_cards.ensure_model_card(package_arn, risk_rating, fairness_waiver=fairness_waiver)

    def advance(self, package_arn: str, stage: str) -> Any:
        return model_cards.advance_model_card(package_arn, stage)


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse_task(event)
    set_correlation_id(request.state.package_arn)
    settings = load(LifecycleSettings)
    service = _service(settings)

    def logic(payload: dict[str, Any]) -> dict[str, Any]:
        state = PromotionState.model_validate(payload["state"])
        return service.dispatch(payload["action"], state, payload["execution_arn"])

    key = {
        "package_arn": request.state.package_arn,
        "action": request.action,
        "execution_arn": request.execution_arn,
        "state": request.state.model_dump(mode="json"),
    }
    if request.action == "acquire_lock":
        # Not idempotent by design: a retry after PromotionLockHeld must try the lock again.
        result = logic(key)
    else:
        result = run_idempotent(logic, key, settings.IDEMPOTENCY_TABLE, context)
    count(f"Lifecycle_{request.action}")
    return result
