"""Staging validation: the platform scores the candidate on the group's governed holdout set with the
model's own container and computes its own evidence (docs/evidence.md).

The state machine runs ``start`` once, then ``poll`` after every wait until ``done``:

- ``start`` reads the holdout (under ``holdout/`` of the platform's artifacts bucket, which only the
  platform writes), writes the transform input (``mlops_registry.core.evidence.holdout``), creates a
  transient SageMaker Model from the package's container and starts a Batch Transform job. A holdout
  larger than one function can process (``LAMBDA_HOLDOUT_MAX_BYTES``) is prepared by a SageMaker
  Processing job running the same library instead (phase ``prepare``).
- ``poll`` follows the current job. A completed transform leads to the evidence: computed here, or
  by a second Processing job (phase ``evidence``) on the large path. The evidence documents are stored
  under ``validation/<group>/v<version>/<run>/`` and the verdict (``gates.validation``) judges the
  platform's metrics against the baselines and cross-checks the registrant's self-reported metrics.
- A failed or stopped job raises ``ValidationJobFailed``; a job still running at the deadline is
  stopped and raises ``ValidationTimedOut``: both are recorded failures (ledger and notification,
  through the state machine's Catch), never a pass. The transient Model is deleted in every outcome.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from mlops_registry.core.config import GroupPolicy, publish
from mlops_registry.core.contracts import VALIDATION_EVIDENCE_PREFIX
from mlops_registry.core.errors import InvalidEventError, RegistryError, ReportUnavailableError
from mlops_registry.core.evidence import VALIDATION_DOCUMENTS
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.reports import flatten_metrics, read_json_report
from promotion.gates.verdict import GateVerdict
from promotion.state import PromotionState

GATE = "validation"
TRANSFORM_INPUT = "transform-input/holdout.csv"
TRANSFORM_OUTPUT = "transform-output"
RUNNING = ("InProgress", "Stopping")


class ValidationJobFailed(RegistryError):
    """A transform or processing job of the validation failed or was stopped."""


class ValidationTimedOut(RegistryError):
    """The validation did not finish within the group's ``validation.timeoutMinutes``."""


class HoldoutUnusable(RegistryError):
    """The governed holdout set is missing or does not hold the columns the group's policy names."""


class Jobs(Protocol):
    """The SageMaker and S3 calls of the validation (``promotion.adapters.SageMakerJobs``)."""

    def create_model(self, name: str, view: PackageView) -> None: ...
    def delete_model(self, name: str) -> None: ...
    def start_transform(self, name: str, model: str, input_uri: str, output_uri: str, instance_type: str) -> None: ...
    def transform_status(self, name: str) -> tuple[str, str]: ...
    def stop_transform(self, name: str) -> None: ...
    def start_processing(self, name: str, mode: str, inputs: Mapping[str, str], output_uri: str) -> None: ...
    def processing_status(self, name: str) -> tuple[str, str]: ...
    def stop_processing(self, name: str) -> None: ...
    def size(self, uri: str) -> int | None: ...
    def read(self, uri: str) -> bytes: ...
    def write(self, uri: str, body: bytes) -> None: ...


def run_prefix(bucket: str, state: PromotionState, execution_arn: str) -> str:
    run = hashlib.sha256(execution_arn.encode()).hexdigest()[:12]
    return f"s3://{bucket}/{VALIDATION_EVIDENCE_PREFIX}/{state.group}/v{state.version}/{run}"


def job_name(kind: str, state: PromotionState, execution_arn: str) -> str:
    """Deterministic per execution (a retried task finds its own job); SageMaker's 63-character names."""
    digest = hashlib.sha256(f"{execution_arn}|{state.package_arn}".encode()).hexdigest()[:10]
    return f"{kind}-{state.group[:38].rstrip('-')}-{state.version}-{digest}"[:63].rstrip("-")


def document_uris(prefix: str) -> dict[str, str]:
    return {what: f"{prefix}/evidence/{name}" for what, name in VALIDATION_DOCUMENTS.items()}


class ValidationService:
    def __init__(
        self, jobs: Jobs, *, bucket: str, lambda_max_bytes: int, registry: Any, record_on_card: Any = None
    ) -> None:
        self.jobs = jobs
        # (package_arn, observation, datasets, metrics, documents): the evaluation in the model card.
        self.record_on_card = record_on_card
        self.bucket = bucket
        self.lambda_max_bytes = lambda_max_bytes
        self.registry = registry

    def run(self, action: str, state: PromotionState, execution_arn: str, now: datetime) -> dict[str, Any]:
        """The task's one call: ``start`` the validation or ``poll`` its jobs."""
        if action == "start":
            return self.start(state, execution_arn, now)
        if action == "poll":
            return self.poll(state, execution_arn, now)
        raise InvalidEventError(f"action: unknown validation action {action!r}; expected start or poll")

    # --- start -----------------------------------------------------------------------------------
    def start(self, state: PromotionState, execution_arn: str, now: datetime) -> dict[str, Any]:
        policy = state.policy
        view = self.registry.describe(state.package_arn)
        holdout_uri = f"s3://{self.bucket}/{policy.validation.holdout.key}"
        prefix = run_prefix(self.bucket, state, execution_arn)
        progress: dict[str, Any] = {
            "done": False,
            "holdout": holdout_uri,
            "prefix": prefix,
            "model": job_name("val", state, execution_arn),
            "transform_job": job_name("val", state, execution_arn),
            "started_at": now.isoformat(),
            "deadline": now.timestamp() + policy.validation.timeout_minutes * 60,
        }
        if not view.image or not view.model_data_url:
            return self._finish(
                progress, GateVerdict.deny(GATE, "the package's inference container names no image and model data")
            )
        size = self.jobs.size(holdout_uri)
        if size is None:
            raise HoldoutUnusable(f"validation.holdout: {holdout_uri} does not exist")
        progress["holdout_bytes"] = size
        if size > self.lambda_max_bytes:
            # Too large for one function: a Processing job writes the transform input.
            name = job_name("prep", state, execution_arn)
            self._write_policy(prefix, policy)
            self.jobs.start_processing(
                name,
                "prepare",
                {"holdout": holdout_uri, "policy": f"{prefix}/policy.json"},
                f"{prefix}/transform-input",
            )
            return {**progress, "path": "processing", "phase": "prepare", "job": name}
        from mlops_registry.core.evidence.dataset import read_csv
        from mlops_registry.core.evidence.errors import EvidenceError
        from mlops_registry.core.evidence.holdout import transform_input

        try:
            body = transform_input(read_csv(self.jobs.read(holdout_uri)), spec_of(policy))
        except EvidenceError as error:
            raise HoldoutUnusable(f"validation.holdout {holdout_uri}: {error}") from error
        self.jobs.write(f"{prefix}/{TRANSFORM_INPUT}", body)
        self._start_transform(progress, view, policy)
        return {**progress, "path": "lambda", "phase": "transform", "job": progress["transform_job"]}

    def _start_transform(self, progress: dict[str, Any], view: PackageView, policy: GroupPolicy) -> None:
        self.jobs.create_model(progress["model"], view)
        self.jobs.start_transform(
            progress["transform_job"],
            progress["model"],
            f"{progress['prefix']}/{TRANSFORM_INPUT}",
            f"{progress['prefix']}/{TRANSFORM_OUTPUT}",
            policy.validation.instance_type,
        )

    def _write_policy(self, prefix: str, policy: GroupPolicy) -> None:
        self.jobs.write(f"{prefix}/policy.json", json.dumps(publish(policy), sort_keys=True).encode())

    # --- poll ------------------------------------------------------------------------------------
    def poll(self, state: PromotionState, execution_arn: str, now: datetime) -> dict[str, Any]:
        progress = dict(state.validation or {})
        if not progress or progress.get("done"):
            raise ValidationJobFailed("poll: no validation in progress (start did not run)")
        phase = progress["phase"]
        processing = phase in ("prepare", "evidence")
        status, reason = (
            self.jobs.processing_status(progress["job"]) if processing else self.jobs.transform_status(progress["job"])
        )
        progress["status"] = status
        if status in RUNNING:
            if now.timestamp() > float(progress["deadline"]):
                (self.jobs.stop_processing if processing else self.jobs.stop_transform)(progress["job"])
                self._cleanup(progress)
                minutes = state.policy.validation.timeout_minutes
                raise ValidationTimedOut(
                    f"{phase} job {progress['job']} still {status} after validation.timeoutMinutes={minutes}"
                )
            return progress
        if status != "Completed":
            self._cleanup(progress)
            kind = "processing" if processing else "transform"
            raise ValidationJobFailed(f"{kind} job {progress['job']} {status}: {reason or 'no reason given'}")
        if phase == "prepare":
            self._start_transform(progress, self.registry.describe(state.package_arn), state.policy)
            return {**progress, "phase": "transform", "job": progress["transform_job"]}
        if phase == "transform":
            self._cleanup(progress)
            if progress.get("path") == "processing":
                name = job_name("eval", state, execution_arn)
                self.jobs.start_processing(
                    name,
                    "evidence",
                    {
                        "holdout": progress["holdout"],
                        "policy": f"{progress['prefix']}/policy.json",
                        "outputs": f"{progress['prefix']}/{TRANSFORM_OUTPUT}",
                    },
                    f"{progress['prefix']}/evidence",
                )
                return {**progress, "phase": "evidence", "job": name}
            self._compute_here(progress, state.policy, now)
        return self._finish(progress, self.judge(state, progress))

    def _compute_here(self, progress: dict[str, Any], policy: GroupPolicy, now: datetime) -> None:
        from mlops_registry.core.evidence.dataset import read_csv
        from mlops_registry.core.evidence.holdout import evidence_from_outputs, read_outputs

        dataset = read_csv(self.jobs.read(progress["holdout"]))
        spec = spec_of(policy)
        expected = dataset.rows + min(spec.explain_rows, dataset.rows) * (1 + len(spec.features) * spec.explain_repeats)
        output = self.jobs.read(f"{progress['prefix']}/{TRANSFORM_OUTPUT}/{TRANSFORM_INPUT.rsplit('/', 1)[1]}.out")
        evidence = evidence_from_outputs(dataset, spec, read_outputs(output, expected), evaluated_at=now)
        uris = document_uris(progress["prefix"])
        for what, document in evidence.documents().items():
            self.jobs.write(uris[what], json.dumps(document, sort_keys=True, default=str).encode())

    def _cleanup(self, progress: dict[str, Any]) -> None:
        if progress.get("phase") != "prepare":  # the Model exists from the transform on
            self.jobs.delete_model(progress["model"])

    def _finish(self, progress: dict[str, Any], verdict: GateVerdict) -> dict[str, Any]:
        return {**progress, "done": True, "verdict": verdict.to_dict()}

    # --- verdict ---------------------------------------------------------------------------------
    def judge(self, state: PromotionState, progress: Mapping[str, Any]) -> GateVerdict:
        """The platform's metrics against the baselines, and the self-reported ones cross-checked."""
        uris = document_uris(str(progress["prefix"]))
        documents = {"holdout": progress["holdout"], **uris}
        evidence: dict[str, Any] = {
            "documents": documents,
            "transform_job": progress["transform_job"],
            "path": progress.get("path"),
            "metrics": {},
        }
        try:
            reproduced = flatten_metrics(read_json_report(uris["metrics"], "platform metrics"))
        except (ReportUnavailableError, ValueError) as error:
            raise ValidationJobFailed(f"the validation's metrics cannot be read: {error}") from error
        view = self.registry.describe(state.package_arn)
        try:
            claimed = flatten_metrics(read_json_report(view.metrics_report_uri, "metrics"))
        except (ReportUnavailableError, ValueError) as error:
            verdict = GateVerdict.deny(GATE, f"self-reported metrics: {error}", evidence)
        else:
            verdict = cross_check(state.policy, claimed, reproduced, evidence)
        if self.record_on_card is not None:
            outcome = "reproduced" if verdict.passed else "denied: " + "; ".join(verdict.reasons)
            self.record_on_card(
                state.package_arn,
                f"Computed by the platform on the governed holdout set with the model's own container; {outcome}",
                [str(progress["holdout"])],
                {k: v for k, v in reproduced.items() if isinstance(v, int | float) and not isinstance(v, bool)},
                uris,
            )
        return verdict


def cross_check(
    policy: GroupPolicy, claimed: Mapping[str, Any], reproduced: Mapping[str, Any], evidence: dict[str, Any]
) -> GateVerdict:
    """Each configured metric the platform computes: at least its baseline on the holdout, and the
    self-reported value within the tolerance of it. A metric the platform does not compute (e.g. a
    ranking metric) is recorded as not reproducible, and judged by the metrics gate alone."""
    from promotion.gates.verdict import as_finite_number

    reasons: list[str] = []
    for threshold in policy.metrics:
        tolerance = policy.validation.tolerance_for(threshold.name)
        on_holdout = as_finite_number(reproduced.get(threshold.name))
        stated = as_finite_number(claimed.get(threshold.name))
        record: dict[str, Any] = {
            "self_reported": claimed.get(threshold.name),
            "holdout": reproduced.get(threshold.name),
            "tolerance": tolerance,
            "baseline": threshold.baseline,
        }
        evidence["metrics"][threshold.name] = record
        if on_holdout is None:
            record["verdict"] = "not_computed_on_holdout"
            continue
        higher = threshold.direction == "higher_is_better"
        if not (on_holdout >= threshold.baseline if higher else on_holdout <= threshold.baseline):
            relation = "below" if higher else "above"
            reasons.append(
                f"{threshold.name} {on_holdout:.4g} on the holdout set is {relation} the baseline {threshold.baseline:g}"
            )
            record["verdict"] = "below_baseline"
            continue
        if stated is None:
            reasons.append(f"{threshold.name}: no self-reported value to cross-check ({claimed.get(threshold.name)!r})")
            record["verdict"] = "not_reported"
            continue
        if abs(stated - on_holdout) > tolerance:
            reasons.append(
                f"self-reported {threshold.name} {stated:.4g} not reproduced: {on_holdout:.4g} on the holdout set "
                f"(tolerance {tolerance:g})"
            )
            record["verdict"] = "not_reproduced"
            continue
        record["verdict"] = "reproduced"
    return GateVerdict(gate=GATE, passed=not reasons, reasons=reasons, evidence=evidence)


def spec_of(policy: GroupPolicy) -> Any:
    from mlops_registry.core.evidence.holdout import HoldoutSpec

    return HoldoutSpec.from_policy(publish(policy))
