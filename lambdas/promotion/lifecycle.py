"""Lifecycle service: every stage change of a version, its ledger entry and its notification.

``LifecycleService`` takes its ports (``mlops_registry.core.ports``: registry, lock; the ledger writer;
model cards; the performance-baseline store) so it runs against any implementation; the handler wires
the boto3-backed adapters, unit tests in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mlops_registry.core.baseline import PERFORMANCE_BASELINE_PROPERTY, performance_baseline_document
from mlops_registry.core.config import FairnessWaiver
from mlops_registry.core.contracts import (
    APPROVED,
    PENDING_APPROVAL,
    PIPELINE_ACTOR,
    REJECTED,
    STAGE_ARCHIVED,
    STAGE_DEVELOPMENT,
    STAGE_PRODUCTION,
    STAGE_STAGING,
)
from mlops_registry.core.errors import InvalidEventError, ReportUnavailableError
from mlops_registry.core.ledger import LedgerEntry, LedgerWriter
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.observability import logger
from mlops_registry.core.ports import Lock, Registry
from promotion.mlflow_mirror import CHALLENGER, CHAMPION, MIRROR_FAILED_TRANSITION, MlflowMirror
from promotion.performance_baseline import PerformanceBaselineStore, QualityEvidence, validated_quality_evidence
from promotion.state import PromotionState

GATES = ("metrics", "validation", "bias", "explainability")


# How a version that was deployed (or A/B tested) but does not stay in Production is recorded:
# outcome -> (StageStatus, ledger decision, ledger transition). The stage is always Archived.
DEPLOYMENT_OUTCOMES = {
    "rolled_back": ("RolledBack", "rolled_back", "rolled-back"),
    "champion_won": ("LostAbTest", "rejected", "ab-test-lost"),
    "inconclusive": ("AbTestInconclusive", "rejected", "ab-test-inconclusive"),
}


def deployment_reason(deployment: dict[str, Any]) -> str:
    outcome = deployment.get("outcome")
    previous = ", ".join(v for v in (deployment.get("previous") or {}).values() if v) or "nothing"
    if outcome == "rolled_back":
        rollback = deployment.get("rollback") or {}
        return f"deployment rolled back ({rollback.get('reason', 'no reason recorded')}); {previous} keeps serving"
    ab = deployment.get("ab") or {}
    if outcome == "champion_won":
        return f"lost the A/B test against the champion: {ab.get('reason', '-')}"
    return f"A/B test inconclusive: {ab.get('reason', '-')}"


def rejection_reason(state: PromotionState) -> tuple[str, dict[str, Any], str]:
    """(reason, evidence, actor) for a version that will not reach Production."""
    deployment = state.deployment or {}
    if deployment.get("outcome") in DEPLOYMENT_OUTCOMES:
        return deployment_reason(deployment), {"gates": state.gates, "deployment": deployment}, PIPELINE_ACTOR
    for gate in GATES:
        verdict = state.gates.get(gate)
        if verdict and not verdict.get("passed", False):
            return (
                f"{gate} gate denied: " + "; ".join(verdict.get("reasons", [])),
                {"gates": state.gates},
                PIPELINE_ACTOR,
            )
    if state.lock and state.lock.get("superseded"):
        return (
            f"superseded: version {state.lock.get('production_version')} is already in Production",
            {"gates": state.gates, "lock": state.lock},
            PIPELINE_ACTOR,
        )
    if state.approval:
        decision = state.approval.get("decision")
        actor = str(state.approval.get("actor") or PIPELINE_ACTOR)
        if decision == "TimedOut":
            return "review board approval timed out", {"gates": state.gates, "approval": state.approval}, actor
        if decision == REJECTED:
            return (
                f"rejected by the review board: {state.approval.get('reason', '-')}",
                {"gates": state.gates, "approval": state.approval},
                actor,
            )
    return "rejected", {"gates": state.gates}, PIPELINE_ACTOR


class ModelCards(Protocol):
    """The model-card side of a stage change (``mlops_registry.core.model_cards`` in production)."""

    def ensure(self, package_arn: str, risk_rating: str, fairness_waiver: FairnessWaiver | None = None) -> Any: ...

    def advance(self, package_arn: str, stage: str) -> Any: ...


class LifecycleService:
    def __init__(
        self,
        registry: Registry,
        writer: LedgerWriter,
        lock: Lock,
        cards: ModelCards,
        baselines: PerformanceBaselineStore,
        mlflow: MlflowMirror | None = None,
        quality_evidence: Callable[[PackageView], QualityEvidence] = validated_quality_evidence,
    ) -> None:
        self.registry = registry
        self.writer = writer
        self.lock = lock
        self.cards = cards
        self.baselines = baselines
        self.mlflow = mlflow
        self.quality_evidence = quality_evidence

    def _mirror(
        self,
        view: PackageView,
        stage: str,
        entry: LedgerEntry,
        execution_arn: str,
        approved_by: str | None = None,
        alias: str | None = None,
    ) -> dict[str, Any] | None:
        """Write the stage change to MLflow; a failure is recorded and notified, never raised."""
        if self.mlflow is None:
            return None
        result = self.mlflow.safely(view, stage, entry.entry_id, approved_by=approved_by, alias=alias)
        if result.status == "failed":
            self._record(
                view,
                None,
                "info",
                f"MLflow not updated for {stage}: {result.detail}",
                PIPELINE_ACTOR,
                execution_arn,
                {"mlflow": result.as_dict(), "stage": stage, "alias": alias, "ledger_entry": entry.entry_id},
                MIRROR_FAILED_TRANSITION,
                from_stage=stage,
            )
        return result.as_dict()

    def _record(
        self,
        view: PackageView,
        to_stage: str | None,
        decision: str,
        reason: str,
        actor: str,
        execution_arn: str,
        evidence: dict[str, Any],
        transition: str,
        from_stage: str | None = None,
    ) -> LedgerEntry:
        entry = LedgerEntry(
            group=view.group,
            version=view.version,
            package_arn=view.arn,
            from_stage=from_stage if from_stage is not None else view.stage,
            to_stage=to_stage,
            decision=decision,
            reason=reason,
            actor=actor,
            execution_arn=execution_arn,
            evidence=evidence,
            transition=transition,
        )
        self.writer.record(entry)
        return entry

    def enter_development(self, state: PromotionState, execution_arn: str) -> dict[str, Any]:
        view = self.registry.describe(state.package_arn)
        self.registry.set_lifecycle(view.arn, STAGE_DEVELOPMENT, "InProgress", "Evaluating promotion gates")
        # Versions registered without the CLI (a pipeline step, Studio) get their Draft card here.
        self.cards.ensure(view.arn, state.policy.risk_rating, state.policy.fairness_waiver)
        actor = view.created_by or view.last_modified_by or "unknown"
        entry = self._record(
            view,
            STAGE_DEVELOPMENT,
            "entered",
            "registered; evaluating gates",
            actor,
            execution_arn,
            {"policy": state.policy.model_dump(mode="json")},
            "registered",
            from_stage=None,
        )
        return {"stage": STAGE_DEVELOPMENT, "mlflow": self._mirror(view, STAGE_DEVELOPMENT, entry, execution_arn)}

    def enter_staging(self, state: PromotionState, execution_arn: str) -> dict[str, Any]:
        view = self.registry.describe(state.package_arn)
        self.registry.set_lifecycle(
            view.arn,
            STAGE_STAGING,
            "InProgress",
            "Metrics gate passed; validation on the holdout set, bias and explainability gates next",
        )
        self.cards.advance(view.arn, STAGE_STAGING)
        entry = self._record(
            view,
            STAGE_STAGING,
            "entered",
            "metrics gate passed",
            PIPELINE_ACTOR,
            execution_arn,
            {"metrics": state.gates.get("metrics")},
            "to-staging",
        )
        return {"stage": STAGE_STAGING, "mlflow": self._mirror(view, STAGE_STAGING, entry, execution_arn)}

    def acquire_lock(self, state: PromotionState, execution_arn: str) -> dict[str, Any]:
        self.lock.acquire(state.group, execution_arn, state.package_arn)
        current = self.registry.current_production(state.group, exclude=state.package_arn)
        superseded = current is not None and current.version > state.version
        if superseded:
            self.lock.release(state.group, execution_arn)
        mirrored = None
        ab_test = state.policy.deployment.mode == "ab_test" and current is not None
        if not superseded and ab_test and self.mlflow is not None:
            # The candidate is about to serve as the A/B test's challenger against the serving champion.
            view = self.registry.describe(state.package_arn)
            entry = self._record(
                view,
                None,
                "info",
                "A/B test starting: challenger against the serving champion",
                PIPELINE_ACTOR,
                execution_arn,
                {"production_arn": current.arn if current else None},
                "ab-test-challenger",
                from_stage=view.stage,
            )
            mirrored = self._mirror(view, view.stage or STAGE_STAGING, entry, execution_arn, alias=CHALLENGER)
        return {
            "mlflow": mirrored,
            "held": not superseded,
            "superseded": superseded,
            "production_arn": current.arn if current else None,
            "production_version": current.version if current else None,
        }

    def promote(self, state: PromotionState, execution_arn: str) -> dict[str, Any]:
        approval = state.approval or {}
        actor = str(approval.get("actor") or "unknown")
        reason = str(approval.get("reason") or "approved")
        view = self.registry.describe(state.package_arn)
        previous = self.registry.current_production(state.group, exclude=state.package_arn)
        # Written before the stage changes, and named on the package in the same update: a drift run
        # that sees the version in Production finds its performance baseline.
        performance, properties = self.write_performance_baseline(view, state)
        self.registry.set_lifecycle(
            view.arn,
            STAGE_PRODUCTION,
            "Deployed",
            f"Approved by {actor}: {reason}",
            approval_status=APPROVED,
            approval_description=f"{actor}: {reason}",
            customer_metadata=properties,
        )
        self.cards.advance(view.arn, STAGE_PRODUCTION)
        entry = self._record(
            view,
            STAGE_PRODUCTION,
            "entered",
            f"approved by {actor}: {reason}",
            actor,
            execution_arn,
            {
                "gates": state.gates,
                "approval": approval,
                "deployment": state.deployment,
                "replaces": previous.arn if previous else None,
                "performance_baseline": performance,
            },
            "to-production",
        )
        mirrored = self._mirror(view, STAGE_PRODUCTION, entry, execution_arn, approved_by=actor, alias=CHAMPION)
        if previous is not None:
            self.registry.set_lifecycle(previous.arn, STAGE_ARCHIVED, "Replaced", f"Replaced by version {view.version}")
            self.cards.advance(previous.arn, STAGE_ARCHIVED)
            archived = self._record(
                previous,
                STAGE_ARCHIVED,
                "archived",
                f"replaced by version {view.version}",
                PIPELINE_ACTOR,
                execution_arn,
                {"replaced_by": view.arn},
                "archived",
            )
            self._mirror(previous, STAGE_ARCHIVED, archived, execution_arn)
        self.lock.release(state.group, execution_arn)
        return {"stage": STAGE_PRODUCTION, "archived": previous.arn if previous else None, "mlflow": mirrored}

    def write_performance_baseline(
        self, view: PackageView, state: PromotionState
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """(ledger evidence, package properties) of the version's performance baseline.

        Its values are the version's validated quality evidence. Evidence that can no longer be read
        (the metrics gate read it minutes ago) does not undo an approved, deployed promotion: the
        ledger records why no baseline was written, and drift runs without performance drift, as for a
        version promoted before baselines were written at promotion."""
        try:
            evidence = self.quality_evidence(view)
        except (ReportUnavailableError, ValueError) as error:
            logger.error("no performance baseline written", extra={"package": view.arn, "error": str(error)})
            return {"status": "unavailable", "reason": str(error)}, {}
        document = performance_baseline_document(view.arn, evidence.metrics, evidence.source)
        uri = self.baselines.write(view.group, view.version, document)
        monitored = state.policy.monitoring.performance_metrics
        return (
            {
                "status": "written",
                "uri": uri,
                "source": evidence.source,
                "recorded_at": document["recordedAt"],
                "metrics": document["metrics"],
                # Configured performance metrics the quality evidence has no value for (endpoint
                # latency and error rates): no performance drift is computed for them.
                "monitored_without_baseline": [m for m in monitored if m not in document["metrics"]],
            },
            {PERFORMANCE_BASELINE_PROPERTY: uri},
        )

    def reject(self, state: PromotionState, execution_arn: str) -> dict[str, Any]:
        reason, evidence, actor = rejection_reason(state)
        outcome = (state.deployment or {}).get("outcome")
        status, decision, transition = DEPLOYMENT_OUTCOMES.get(outcome or "", (REJECTED, "rejected", "rejected"))
        view = self.registry.describe(state.package_arn)
        self.registry.set_lifecycle(
            view.arn, STAGE_ARCHIVED, status, reason, approval_status=REJECTED, approval_description=reason
        )
        self.cards.advance(view.arn, STAGE_ARCHIVED)
        entry = self._record(view, STAGE_ARCHIVED, decision, reason, actor, execution_arn, evidence, transition)
        mirrored = self._mirror(view, STAGE_ARCHIVED, entry, execution_arn)
        self.lock.release(state.group, execution_arn)
        return {"stage": STAGE_ARCHIVED, "status": status, "reason": reason, "mlflow": mirrored}

    def record_failure(self, state: PromotionState, execution_arn: str) -> dict[str, Any]:
        error = state.error or {}
        cause = f"{error.get('Error', 'Unknown')}: {str(error.get('Cause', ''))[:500]}"
        view = self.registry.describe(state.package_arn)
        # The deployment step approved the package so SageMaker would deploy it; a promotion that then
        # failed must not leave it looking approved for deployment.
        # The board's decision (Studio or CLI) set it Approved too.
        deployed = bool((state.deployment or {}).get("approved_for_deployment")) or view.approval_status == APPROVED
        try:
            self.registry.set_lifecycle(
                view.arn,
                view.stage or STAGE_DEVELOPMENT,
                "Failed",
                f"Promotion failed: {cause}",
                approval_status=PENDING_APPROVAL if deployed else None,
            )
        except Exception:  # the ledger entry and the notification must still happen
            logger.exception("could not mark the package as failed")
        evidence = {"error": error, **({"deployment": state.deployment} if state.deployment else {})}
        self._record(view, None, "failed", cause, PIPELINE_ACTOR, execution_arn, evidence, "failed")
        released = self.lock.release(state.group, execution_arn)
        return {"recorded": True, "lock_released": released}

    def dispatch(self, action: str, state: PromotionState, execution_arn: str) -> dict[str, Any]:
        handlers = {
            "enter_development": self.enter_development,
            "enter_staging": self.enter_staging,
            "acquire_lock": self.acquire_lock,
            "promote": self.promote,
            "reject": self.reject,
            "record_failure": self.record_failure,
        }
        if action not in handlers:
            raise InvalidEventError(f"action: unknown lifecycle action {action!r}; expected one of {sorted(handlers)}")
        return handlers[action](state, execution_arn)
