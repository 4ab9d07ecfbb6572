"""Gate handlers: parse the task, run the (idempotent) gate logic, return the verdict for the Choice.

A gate denies only on a definitive fact: the report is not referenced, does not exist, may not be read
(4xx), is malformed or out of policy -- a *denial* with its reason (the gates fail closed). A transient
failure (throttling, 5xx, transport) that outlived the client's retries is not a verdict: it raises
``TransientServiceError``, which the state machine's Retry handles, and because it propagates out of
the idempotent logic, no result (no denial) is stored for it. Other errors go to Catch.
"""

from __future__ import annotations

from typing import Any

from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.errors import ReportUnavailableError
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import count, instrumented, logger, set_correlation_id
from mlops_registry.core.reports import flatten_metrics, read_json_report
from promotion.gates import bias, explainability, metrics
from promotion.gates.verdict import GateVerdict
from promotion.idempotency import run_idempotent
from promotion.settings import GateSettings, load
from promotion.state import PromotionState, parse_task


def evaluate_metrics_gate(request: dict[str, Any]) -> dict[str, Any]:
    state = PromotionState.model_validate(request["state"])
    registry = ModelRegistry()
    candidate = registry.describe(state.package_arn)
    try:
        values = flatten_metrics(read_json_report(candidate.metrics_report_uri, "metrics"))
    except (ReportUnavailableError, ValueError) as error:
        return GateVerdict.deny(metrics.GATE, str(error), {"report": candidate.metrics_report_uri}).to_dict()
    champion = registry.current_production(state.group, exclude=state.package_arn)
    champion_values = None
    if champion is not None:
        try:
            champion_values = flatten_metrics(read_json_report(champion.metrics_report_uri, "champion metrics"))
        except (ReportUnavailableError, ValueError) as error:
            return GateVerdict.deny(metrics.GATE, f"champion v{champion.version}: {error}").to_dict()
    verdict = metrics.evaluate(values, state.policy.metrics, state.policy.champion_tolerance, champion_values)
    verdict.evidence.update(
        {
            "report": candidate.metrics_report_uri,
            "champion": champion.arn if champion else None,
            "champion_version": champion.version if champion else None,
        }
    )
    return verdict.to_dict()


def platform_evidence(state: PromotionState, what: str) -> str | None:
    """The URI of the evidence document ``what`` the platform computed on the holdout set in Staging
    (``gates.validation``); the bias and explainability gates judge these, never the registrant's."""
    validation = state.gates.get("validation") or {}
    documents = (validation.get("evidence") or {}).get("documents") or {}
    uri = documents.get(what)
    return str(uri) if uri else None


def _platform_report(state: PromotionState, gate: str, what: str) -> tuple[str | None, dict[str, Any] | GateVerdict]:
    uri = platform_evidence(state, what)
    if uri is None:
        return None, GateVerdict.deny(gate, f"no platform {what} evidence: the holdout validation has not run")
    try:
        return uri, read_json_report(uri, f"platform {what}")
    except ReportUnavailableError as error:
        return uri, GateVerdict.deny(gate, str(error), {"report": uri})


def evaluate_bias_gate(request: dict[str, Any]) -> dict[str, Any]:
    state = PromotionState.model_validate(request["state"])
    if state.policy.fairness is None:  # the schema admits this only with a waiver
        return bias.waived(state.policy.fairness_waiver).to_dict()
    candidate = ModelRegistry().describe(state.package_arn)
    uri, report = _platform_report(state, bias.GATE, "bias")
    if isinstance(report, GateVerdict):
        return report.to_dict()
    verdict = bias.evaluate(bias.merge_reports([report]), state.policy.fairness)
    verdict.evidence["report"] = uri
    # What the registrant claimed, kept for the record (the platform's report is the one judged).
    verdict.evidence["self_reported"] = list(
        candidate.bias_report_uris or ((candidate.bias_report_uri,) if candidate.bias_report_uri else ())
    )
    return verdict.to_dict()


def evaluate_explainability_gate(request: dict[str, Any]) -> dict[str, Any]:
    state = PromotionState.model_validate(request["state"])
    candidate = ModelRegistry().describe(state.package_arn)
    uri, report = _platform_report(state, explainability.GATE, "explainability")
    if isinstance(report, GateVerdict):
        return report.to_dict()
    verdict = explainability.evaluate(report, state.policy.features, state.policy.explainability_label)
    verdict.evidence["report"] = uri
    verdict.evidence["self_reported"] = candidate.explainability_report_uri
    return verdict.to_dict()


def _run_gate(event: dict[str, Any], context: Any, logic: Any, gate: str) -> dict[str, Any]:
    request = parse_task(event)
    set_correlation_id(request.state.package_arn)
    settings = load(GateSettings)
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
    return _run_gate(event, context, evaluate_metrics_gate, metrics.GATE)


@instrumented
@transient_errors_are_typed
def bias_gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run_gate(event, context, evaluate_bias_gate, bias.GATE)


@instrumented
@transient_errors_are_typed
def explainability_gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _run_gate(event, context, evaluate_explainability_gate, explainability.GATE)
