"""The gates' orchestration: which evidence each gate reads, and how a read failure becomes a verdict.

``GateService`` is plain Python over two ports (the registry and a report reader); the judgement
itself is in ``promotion.gates.{metrics,bias,explainability}``. A gate denies only on a definitive
fact: the report is not referenced, does not exist, may not be read (4xx), is malformed or out of
policy -- a *denial* with its reason (the gates fail closed). A transient failure (throttling, 5xx,
transport) that outlived the client's retries is not a verdict: the reader raises
``TransientServiceError``, which propagates (the state machine's Retry handles it, and idempotency
stores no result for it).
"""

from __future__ import annotations

from typing import Any

from mlops_registry.core.errors import InvalidEventError, ReportUnavailableError
from mlops_registry.core.ports import Registry, ReportReader
from mlops_registry.core.reports import flatten_metrics
from promotion.gates import bias, explainability, metrics
from promotion.gates.verdict import GateVerdict
from promotion.state import PromotionState


def platform_evidence(state: PromotionState, what: str) -> str | None:
    """The URI of the evidence document ``what`` the platform computed on the holdout set in Staging
    (``gates.validation``); the bias and explainability gates judge these, never the registrant's."""
    validation = state.gates.get("validation") or {}
    documents = (validation.get("evidence") or {}).get("documents") or {}
    uri = documents.get(what)
    return str(uri) if uri else None


class GateService:
    def __init__(self, registry: Registry, read_report: ReportReader) -> None:
        self.registry = registry
        self.read_report = read_report

    def evaluate(self, gate: str, state: PromotionState) -> GateVerdict:
        gates = {metrics.GATE: self.metrics, bias.GATE: self.bias, explainability.GATE: self.explainability}
        if gate not in gates:
            raise InvalidEventError(f"gate: unknown gate {gate!r}; expected one of {sorted(gates)}")
        return gates[gate](state)

    def metrics(self, state: PromotionState) -> GateVerdict:
        candidate = self.registry.describe(state.package_arn)
        try:
            values = flatten_metrics(self.read_report(candidate.metrics_report_uri, "metrics"))
        except (ReportUnavailableError, ValueError) as error:
            return GateVerdict.deny(metrics.GATE, str(error), {"report": candidate.metrics_report_uri})
        champion = self.registry.current_production(state.group, exclude=state.package_arn)
        champion_values = None
        if champion is not None:
            try:
                champion_values = flatten_metrics(self.read_report(champion.metrics_report_uri, "champion metrics"))
            except (ReportUnavailableError, ValueError) as error:
                return GateVerdict.deny(metrics.GATE, f"champion v{champion.version}: {error}")
        verdict = metrics.evaluate(values, state.policy.metrics, state.policy.champion_tolerance, champion_values)
        verdict.evidence.update(
            {
                "report": candidate.metrics_report_uri,
                "champion": champion.arn if champion else None,
                "champion_version": champion.version if champion else None,
            }
        )
        return verdict

    def bias(self, state: PromotionState) -> GateVerdict:
        if state.policy.fairness is None:  # the schema admits this only with a waiver
            return bias.waived(state.policy.fairness_waiver)
        candidate = self.registry.describe(state.package_arn)
        uri, report = self._platform_report(state, bias.GATE, "bias")
        if isinstance(report, GateVerdict):
            return report
        verdict = bias.evaluate(bias.merge_reports([report]), state.policy.fairness)
        verdict.evidence["report"] = uri
        # What the registrant claimed, kept for the record (the platform's report is the one judged).
        verdict.evidence["self_reported"] = list(
            candidate.bias_report_uris or ((candidate.bias_report_uri,) if candidate.bias_report_uri else ())
        )
        return verdict

    def explainability(self, state: PromotionState) -> GateVerdict:
        candidate = self.registry.describe(state.package_arn)
        uri, report = self._platform_report(state, explainability.GATE, "explainability")
        if isinstance(report, GateVerdict):
            return report
        verdict = explainability.evaluate(report, state.policy.features, state.policy.explainability_label)
        verdict.evidence["report"] = uri
        verdict.evidence["self_reported"] = candidate.explainability_report_uri
        return verdict

    def _platform_report(
        self, state: PromotionState, gate: str, what: str
    ) -> tuple[str | None, dict[str, Any] | GateVerdict]:
        uri = platform_evidence(state, what)
        if uri is None:
            return None, GateVerdict.deny(gate, f"no platform {what} evidence: the holdout validation has not run")
        try:
            return uri, self.read_report(uri, f"platform {what}")
        except ReportUnavailableError as error:
            return uri, GateVerdict.deny(gate, str(error), {"report": uri})
