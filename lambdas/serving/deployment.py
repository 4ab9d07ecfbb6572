"""Deployment logic: start a deployment, follow it to its outcome, run the A/B evaluation.

``DeploymentService`` takes its adapters (stacks, traffic, metrics, registry, lock) so it runs against
any implementation. Each method returns the next ``DeploymentRecord``; the state machine waits
``wait_seconds`` (a Wait state, not a busy loop) and routes on ``next``:

- ``wait_stack``: the serving stack is updating: come back to ``check`` later (exponential backoff,
  first check when a deployment of this configuration could have finished);
- ``wait_evaluation``: the A/B test runs: come back to ``evaluate`` after the evaluation interval;
- ``promote``: the candidate serves (blue/green success, first champion, challenger won);
- ``reject``: it does not (guardrail rollback, champion won, inconclusive); ``outcome`` says why.

When a deployment task fails (an error, the deployment's deadline), ``restore`` runs before the
failure is recorded: for an A/B test whose serving stack still names the candidate as challenger, all
traffic goes back to the champion at once (``UpdateEndpointWeightsAndCapacities``), the stack is set
to the champion alone (so the template again says what serves), and a ``rolled_back`` ledger entry
records it.

Blue/green: the stack's ``ModelPackageArn`` becomes the candidate; CloudFormation updates the
endpoint with SageMaker's deployment guardrails; ``UPDATE_COMPLETE`` means the candidate serves,
``UPDATE_ROLLBACK_COMPLETE`` means the guardrails (or any failure) rolled back and the previous
version still serves. A/B: the candidate becomes the challenger next to the current Production
version (or the champion directly when there is none); a conclusive or expired test shifts all
traffic to the winner with ``UpdateEndpointWeightsAndCapacities``, then sets the stack's parameters
to the winner alone, so the template again says what serves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from mlops_registry.core.config import DeploymentPolicy
from mlops_registry.core.contracts import (
    APPROVED,
    PARAM_CHALLENGER,
    PARAM_CHAMPION,
    PARAM_MODEL_PACKAGE,
    PIPELINE_ACTOR,
    STAGE_STAGING,
    VARIANT_CHALLENGER,
    VARIANT_CHAMPION,
)
from mlops_registry.core.errors import DeploymentError, DeploymentTimeoutError
from mlops_registry.core.ledger import LedgerEntry, LedgerWriter
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.names import endpoint_name
from mlops_registry.core.observability import logger
from mlops_registry.core.ports import Registry
from mlops_registry.core.serving_names import deploy_role_name, serving_stack_name
from mlops_registry.core.stacks import IN_PROGRESS, ROLLED_BACK, SETTLED_OK, Stacks
from serving import ab_test
from serving.models import DeploymentRecord, DeploymentTask, Next, Outcome, iso, parse_time
from serving.timing import (
    LOCK_MARGIN_SECONDS,
    TRAFFIC_SHIFT_DEADLINE_SECONDS,
    TRAFFIC_SHIFT_WAIT_SECONDS,
    deadline_seconds,
    evaluation_wait_seconds,
    first_wait_seconds,
    poll_wait_seconds,
)


class Traffic(Protocol):
    def status(self, endpoint: str) -> str: ...
    def set_weights(self, endpoint: str, weights: dict[str, float]) -> None: ...


class Metrics(Protocol):
    def counts(
        self, endpoint: str, variants: list[str], success_metric: str, start: datetime, end: datetime
    ) -> dict[str, ab_test.VariantCounts]: ...


class Lock(Protocol):
    def refresh(self, group: str, owner: str, package_arn: str, ttl_seconds: int) -> None: ...


class DeploymentService:
    def __init__(
        self,
        *,
        env_name: str,
        deploy_role_arn_prefix: str,
        stacks: Stacks,
        traffic: Traffic,
        metrics: Metrics,
        registry: Registry,
        lock: Lock,
        writer: LedgerWriter | None = None,
    ) -> None:
        self.env_name = env_name
        self.deploy_role_arn_prefix = deploy_role_arn_prefix
        self.stacks = stacks
        self.traffic = traffic
        self.metrics = metrics
        self.registry = registry
        self.lock = lock
        self.writer = writer

    def role_arn(self, group: str) -> str:
        return f"{self.deploy_role_arn_prefix}{deploy_role_name(self.env_name, group)}"

    def _hold_lock(self, task: DeploymentTask, wait_seconds: int) -> None:
        """Keep the group's promotion lock for as long as this deployment waits (re-entrant refresh)."""
        self.lock.refresh(
            task.state.group, task.execution_arn, task.state.package_arn, wait_seconds + LOCK_MARGIN_SECONDS
        )

    # --- start ---------------------------------------------------------------------------------
    def start(self, task: DeploymentTask) -> DeploymentRecord:
        state = task.state
        now = task.moment()
        policy = state.policy.deployment
        stack_name = serving_stack_name(self.env_name, state.group)
        endpoint = endpoint_name(self.env_name, state.group)
        before = self.stacks.describe(stack_name)
        champion: PackageView | None = None
        if policy.mode == "blue_green":
            phase = "blue_green"
            target = {PARAM_MODEL_PACKAGE: state.package_arn}
        else:
            champion = self.registry.current_production(state.group, exclude=state.package_arn)
            if champion is None:
                phase, target = "champion", {PARAM_CHAMPION: state.package_arn, PARAM_CHALLENGER: ""}
            else:
                phase, target = "ab_start", {PARAM_CHAMPION: champion.arn, PARAM_CHALLENGER: state.package_arn}
        wait = first_wait_seconds(policy, phase)
        self._hold_lock(task, wait + deadline_seconds(policy))
        # SageMaker deploys a versioned package only when it is Approved; the board approved it.
        approval = state.approval or {}
        candidate = self.registry.describe(state.package_arn)
        self.registry.set_lifecycle(
            state.package_arn,
            STAGE_STAGING,
            "Deploying",
            f"Deploying to {endpoint} ({phase.replace('_', ' ')})",
            approval_status=APPROVED,
            approval_description=f"{approval.get('actor', 'unknown')}: {approval.get('reason', 'approved')}",
        )
        try:
            updated = self.stacks.deploy(stack_name, target, self.role_arn(state.group))
        except Exception:
            # Nothing was deployed: do not leave the version looking approved for deployment.
            self.registry.set_lifecycle(
                state.package_arn,
                candidate.stage or STAGE_STAGING,
                candidate.stage_status or "InProgress",
                "Deployment could not start",
                approval_status=candidate.approval_status,
            )
            raise
        logger.info("deployment started", extra={"stack": stack_name, "target": target, "updated": updated})
        return DeploymentRecord(
            mode=policy.mode,
            phase=phase,  # type: ignore[arg-type]
            stack_name=stack_name,
            endpoint_name=endpoint,
            target=target,
            previous={k: v for k, v in before.parameters.items() if k in target},
            candidate_arn=state.package_arn,
            champion_arn=champion.arn if champion else None,
            started_at=iso(now),
            phase_started_at=iso(now),
            deadline_at=iso(now + timedelta(seconds=deadline_seconds(policy))),
            next="wait_stack",
            wait_seconds=wait if updated else 0,
            approved_for_deployment=True,
            reason=f"updating {stack_name}" if updated else f"{stack_name} already serves the target",
        )

    # --- check ---------------------------------------------------------------------------------
    def check(self, task: DeploymentTask) -> DeploymentRecord:
        record = _record(task)
        now = task.moment()
        policy = task.state.policy.deployment
        if record.phase == "ab_shift":
            return self._after_traffic_shift(task, record, now, policy)
        stack = self.stacks.describe(record.stack_name)
        if stack.status in IN_PROGRESS:
            return self._keep_waiting(task, record, now)
        if stack.settled and stack.serves(record.target):
            # Serving the target is success, whatever operation got the stack there (a retried start
            # may find it already serving the candidate after an earlier, unrelated rollback).
            return self._succeeded(task, record, now, policy)
        if stack.status in SETTLED_OK:
            raise DeploymentError(
                f"serving stack {record.stack_name} settled on {stack.parameters}, not the target "
                f"{record.target}: another update intervened"
            )
        if stack.status not in ROLLED_BACK:
            raise DeploymentError(
                f"serving stack {record.stack_name} is {stack.status} "
                f"({stack.status_reason or 'no reason given'}); it needs an operator"
            )
        # UPDATE_ROLLBACK_COMPLETE: CloudFormation (after the guardrails) restored the previous parameters.
        failure = self.stacks.failure(record.stack_name, parse_time(record.phase_started_at, "phase_started_at"))
        if record.phase == "ab_conclude":
            raise DeploymentError(
                f"all traffic already goes to the winner ({record.outcome}), but the stack update that makes "
                f"it permanent rolled back: {failure.get('reason')}"
            )
        return record.model_copy(
            update={
                "status": "rolled_back",
                "outcome": "rolled_back",
                "next": "reject",
                "wait_seconds": 0,
                "rollback": {**failure, "serving": stack.parameters},
                "reason": f"rolled back: {failure.get('reason')}",
            }
        )

    def _keep_waiting(self, task: DeploymentTask, record: DeploymentRecord, now: datetime) -> DeploymentRecord:
        if now > parse_time(record.deadline_at, "deadline_at"):
            raise DeploymentTimeoutError(
                f"serving stack {record.stack_name} still updating after the deadline {record.deadline_at}"
            )
        wait = poll_wait_seconds(record.checks)
        self._hold_lock(task, wait)
        return record.model_copy(update={"checks": record.checks + 1, "wait_seconds": wait, "next": "wait_stack"})

    def _succeeded(
        self, task: DeploymentTask, record: DeploymentRecord, now: datetime, policy: DeploymentPolicy
    ) -> DeploymentRecord:
        if record.phase in ("blue_green", "champion"):
            return record.model_copy(
                update={
                    "status": "succeeded",
                    "outcome": "deployed",
                    "next": "promote",
                    "wait_seconds": 0,
                    "reason": f"{record.endpoint_name} serves {record.candidate_arn}",
                }
            )
        if record.phase == "ab_start":
            wait = evaluation_wait_seconds(policy)
            self._hold_lock(task, wait)
            return record.model_copy(
                update={
                    "status": "succeeded",
                    "next": "wait_evaluation",
                    "wait_seconds": wait,
                    "ab_started_at": iso(now),
                    "reason": "A/B test running",
                }
            )
        # ab_conclude: the winner alone serves, as the template says.
        next_step: Next = "promote" if record.outcome == "challenger_won" else "reject"
        return record.model_copy(update={"status": "succeeded", "next": next_step, "wait_seconds": 0})

    # --- A/B -------------------------------------------------------------------------------------
    def evaluate(self, task: DeploymentTask) -> DeploymentRecord:
        record = _record(task)
        if record.phase != "ab_start" or record.ab_started_at is None:
            raise DeploymentError(f"no A/B test is running for {task.state.package_arn} (phase {record.phase})")
        now = task.moment()
        policy = task.state.policy.deployment
        started = parse_time(record.ab_started_at, "ab_started_at")
        counts = self.metrics.counts(
            record.endpoint_name,
            [VARIANT_CHAMPION, VARIANT_CHALLENGER],
            policy.ab_test.success_metric_name,
            started,
            now,
        )
        previous = record.ab or {}
        verdict = ab_test.evaluate(
            counts[VARIANT_CHAMPION],
            counts[VARIANT_CHALLENGER],
            policy.ab_test,
            elapsed_hours=(now - started).total_seconds() / 3600,
            previous_success_p=float(previous.get("success_p_value", 1.0)),
            previous_error_p=float(previous.get("error_p_value", 1.0)),
        )
        ab = {
            **verdict.statistics,
            "decision": verdict.decision,
            "reason": verdict.reason,
            "success_p_value": verdict.success_p_value,
            "error_p_value": verdict.error_p_value,
            "evaluated_at": iso(now),
            "looks": record.evaluations + 1,
            "success_metric": policy.ab_test.success_metric_name,
        }
        logger.info("A/B evaluation", extra={"decision": verdict.decision, "reason": verdict.reason})
        if not verdict.concluded:
            wait = evaluation_wait_seconds(policy)
            self._hold_lock(task, wait)
            return record.model_copy(
                update={
                    "evaluations": record.evaluations + 1,
                    "ab": ab,
                    "wait_seconds": wait,
                    "next": "wait_evaluation",
                }
            )
        winner = verdict.winner or VARIANT_CHAMPION
        outcome: Outcome = {"challenger": "challenger_won", "champion": "champion_won"}.get(  # type: ignore[assignment]
            verdict.decision, "inconclusive"
        )
        self.traffic.set_weights(record.endpoint_name, ab_test.final_weights(winner))
        winner_arn = record.candidate_arn if winner == VARIANT_CHALLENGER else (record.champion_arn or "")
        self._hold_lock(task, TRAFFIC_SHIFT_DEADLINE_SECONDS)
        return record.model_copy(
            update={
                "phase": "ab_shift",
                "phase_started_at": iso(now),
                "deadline_at": iso(now + timedelta(seconds=TRAFFIC_SHIFT_DEADLINE_SECONDS)),
                "status": "in_progress",
                "target": {PARAM_CHAMPION: winner_arn, PARAM_CHALLENGER: ""},
                "outcome": outcome,
                "evaluations": record.evaluations + 1,
                "ab": ab,
                "checks": 0,
                "next": "wait_stack",
                "wait_seconds": TRAFFIC_SHIFT_WAIT_SECONDS,
                "reason": f"shifting traffic to the {winner.lower()}: {verdict.reason}",
            }
        )

    def _after_traffic_shift(
        self, task: DeploymentTask, record: DeploymentRecord, now: datetime, policy: DeploymentPolicy
    ) -> DeploymentRecord:
        """All traffic goes to the winner; once the endpoint is InService again, make it permanent in IaC."""
        status = self.traffic.status(record.endpoint_name)
        if status != "InService":
            if status in ("Failed", "OutOfService"):
                raise DeploymentError(f"endpoint {record.endpoint_name} is {status} after the traffic shift")
            return self._keep_waiting(task, record, now)
        updated = self.stacks.deploy(record.stack_name, record.target, self.role_arn(task.state.group))
        wait = first_wait_seconds(policy, "ab_conclude") if updated else 0
        self._hold_lock(task, wait + deadline_seconds(policy))
        return record.model_copy(
            update={
                "phase": "ab_conclude",
                "phase_started_at": iso(now),
                "deadline_at": iso(now + timedelta(seconds=deadline_seconds(policy))),
                "checks": 0,
                "wait_seconds": wait,
                "next": "wait_stack",
                "reason": f"updating {record.stack_name} to the winner alone",
            }
        )

    # --- failure ---------------------------------------------------------------------------------
    def restore(self, task: DeploymentTask) -> dict[str, Any]:
        """After a failed deployment task: give an A/B test's champion all traffic back and record it.

        Decided from what the serving stack says, not from the (possibly stale) record: only a stack
        that names this candidate as its challenger is restored. Idempotent: a retry finds the weights
        set, the stack already serving the champion alone, and the ledger entry (keyed on the task's
        entry time) written."""
        state = task.state
        policy = state.policy.deployment
        if policy.mode != "ab_test":
            return {"restored": False, "reason": "blue/green: CloudFormation's rollback keeps the previous version"}
        stack_name = serving_stack_name(self.env_name, state.group)
        endpoint = endpoint_name(self.env_name, state.group)
        stack = self.stacks.describe(stack_name)
        champion = stack.parameters.get(PARAM_CHAMPION, "")
        if stack.parameters.get(PARAM_CHALLENGER, "") != state.package_arn or not champion:
            return {
                "restored": False,
                "reason": f"{stack_name} does not serve {state.package_arn} as challenger next to a champion",
                "serving": stack.parameters,
            }
        weights = ab_test.final_weights(VARIANT_CHAMPION)
        self.traffic.set_weights(endpoint, weights)  # ServingBusyError while the endpoint updates: retried
        target = {PARAM_CHAMPION: champion, PARAM_CHALLENGER: ""}
        updated = self.stacks.deploy(stack_name, target, self.role_arn(state.group))
        error = state.error or {}
        cause = f"{error.get('Error', 'Unknown')}: {str(error.get('Cause', ''))[:300]}"
        champion_view = self.registry.describe(champion)
        candidate = self.registry.describe(state.package_arn)
        evidence = {
            "error": error,
            "champion": champion,
            "weights": weights,
            "stack": stack_name,
            "stack_update_started": updated,
            "deployment": state.deployment.model_dump(mode="json") if state.deployment else None,
        }
        reason = f"A/B test failed ({cause}); champion v{champion_view.version} restored to all traffic on {endpoint}"
        if self.writer is not None:
            self.writer.record(
                LedgerEntry(
                    group=state.group,
                    version=state.version,
                    package_arn=state.package_arn,
                    from_stage=candidate.stage,
                    to_stage=None,
                    decision="rolled_back",
                    reason=reason,
                    actor=PIPELINE_ACTOR,
                    execution_arn=task.execution_arn,
                    evidence=evidence,
                    at=iso(task.moment()),
                    transition="ab-champion-restored",
                ),
                subject=f"[{state.group}] v{state.version} A/B test failed: champion v{champion_view.version} restored",
                once=True,
            )
        logger.warning("champion restored after a failed A/B test", extra=evidence)
        return {"restored": True, "champion": champion, "weights": weights, "stack_update_started": updated}

    def dispatch(self, task: DeploymentTask) -> DeploymentRecord | dict[str, Any]:
        if task.action == "restore":
            return self.restore(task)
        actions = {"start": self.start, "check": self.check, "evaluate": self.evaluate}
        return actions[task.action](task)


def _record(task: DeploymentTask) -> DeploymentRecord:
    if task.state.deployment is None:  # parse_task guards this; kept for type narrowing
        raise DeploymentError("no deployment in progress")
    return task.state.deployment
