"""Gate handlers: parse the task, run ``GateService`` (idempotently), return the verdict for the Choice."""

from __future__ import annotations

from typing import Any

from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, logger, set_correlation_id
from mlops_registry.core.reports import read_json_report
from promotion.gates import bias, explainability, metrics
from promotion.gates.service import GateService
from promotion.idempotency import run_idempotent
from promotion.settings import GateSettings, load
from promotion.state import PromotionState, parse_task


def _run_gate(event: dict[str, Any], context: Any, gate: str) -> dict[str, Any]:
    request = parse_task(event)
    set_correlation_id(request.state.package_arn)
    settings = load(GateSettings)
    service = GateService(ModelRegistry(), read_json_report)

    def logic(payload: dict[str, Any]) -> dict[str, Any]:
        return service.evaluate(gate, PromotionState.model_validate(payload["state"])).to_dict()

    key = {
        "package_arn": request.state.package_arn,
        "action": f"gate:{gate}",
        "execution_arn": request.execution_arn,
        "state": request.state.model_dump(mode="json"),
    }
    verdict: dict[str, Any] = run_idempotent(logic, key, settings.IDEMPOTENCY_TABLE, context)
    count("GatePassed" if verdict["passed"] else "GateDenied")
    logger.info("gate verdict", extra={"gate": gate, "passed": verdict["passed"], "reasons": verdict["reasons"]})
    return verdict


@instrumented
@transient_errors_are_typed
def metrics_gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run_gate(event, context, metrics.GATE)


@instrumented
@transient_errors_are_typed
def bias_gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run_gate(event, context, bias.GATE)


@instrumented
@transient_errors_are_typed
def explainability_gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run_gate(event, context, explainability.GATE)
