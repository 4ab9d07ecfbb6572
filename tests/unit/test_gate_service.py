"""Gate orchestration over in-memory ports: which reports each gate reads, and how a missing or
unreadable report becomes a denial (the gates fail closed on facts).

Expected values are the scenario's: a candidate with AUC 0.91 against a baseline of 0.7 and a
champion with AUC 0.95 regresses by 0.04, beyond the policy's default champion tolerance.
"""

from __future__ import annotations

from typing import Any

import pytest
from promotion.gates.service import GateService
from promotion.state import PromotionState

from mlops_registry.core.errors import InvalidEventError, ReportUnavailableError, TransientServiceError
from tests.unit.fakes import FakeRegistry, package, policy

GROUP = "churn"


def _reports(documents: dict[str, dict[str, Any]], reads: list[str]) -> Any:
    def read(uri: str | None, what: str) -> dict[str, Any]:
        reads.append(f"{what}:{uri}")
        if uri is None:
            raise ReportUnavailableError(f"{what} report: the package references none")
        if uri == "s3://b/throttled.json":
            raise TransientServiceError("SlowDown")
        if uri not in documents:
            raise ReportUnavailableError(f"{what} report {uri}: cannot be read (NoSuchKey)")
        return documents[uri]

    return read


def _auc(value: float) -> dict[str, Any]:
    return {"binary_classification_metrics": {"auc": {"value": value}}}


def _state(version: int, gates: dict[str, Any] | None = None) -> PromotionState:
    arn = package(GROUP, version).arn
    return PromotionState(package_arn=arn, group=GROUP, version=version, policy=policy(GROUP), gates=gates or {})


def test_the_metrics_gate_compares_the_candidate_with_its_baseline_and_the_champion() -> None:
    registry, reads = FakeRegistry(), []
    registry.add(package(GROUP, 1, stage="Production", approval_status="Approved", metrics_report_uri="s3://b/1.json"))
    registry.add(package(GROUP, 2, metrics_report_uri="s3://b/2.json"))
    service = GateService(registry, _reports({"s3://b/1.json": _auc(0.95), "s3://b/2.json": _auc(0.91)}, reads))

    verdict = service.evaluate("metrics", _state(2))

    assert reads == ["metrics:s3://b/2.json", "champion metrics:s3://b/1.json"]
    assert verdict.passed is False
    assert verdict.evidence["champion_version"] == 1 and verdict.evidence["report"] == "s3://b/2.json"
    assert any("auc" in reason for reason in verdict.reasons)


def test_the_first_version_passes_on_its_baseline_alone() -> None:
    registry, reads = FakeRegistry(), []
    registry.add(package(GROUP, 1, metrics_report_uri="s3://b/1.json"))
    verdict = GateService(registry, _reports({"s3://b/1.json": _auc(0.91)}, reads)).metrics(_state(1))
    assert verdict.passed is True and verdict.evidence["champion"] is None
    assert reads == ["metrics:s3://b/1.json"]


def test_a_missing_report_is_a_denial_naming_it_and_a_transient_fault_is_not_a_verdict() -> None:
    registry = FakeRegistry()
    registry.add(package(GROUP, 1, metrics_report_uri="s3://b/gone.json"))
    verdict = GateService(registry, _reports({}, [])).metrics(_state(1))
    assert verdict.passed is False and "s3://b/gone.json" in verdict.reasons[0]

    registry.add(package(GROUP, 2, metrics_report_uri="s3://b/throttled.json"))
    with pytest.raises(TransientServiceError):
        GateService(registry, _reports({}, [])).metrics(_state(2))


def test_bias_and_explainability_judge_only_the_platforms_evidence() -> None:
    registry, reads = FakeRegistry(), []
    registry.add(package(GROUP, 1, explainability_report_uri="s3://b/claimed.json"))
    service = GateService(registry, _reports({}, reads))

    verdict = service.evaluate("explainability", _state(1))
    assert verdict.passed is False
    assert verdict.reasons == ["no platform explainability evidence: the holdout validation has not run"]
    assert reads == []  # the registrant's own report is never read

    waived = service.evaluate("bias", _state(1))  # the policy carries a fairness waiver
    assert waived.passed is True

    with pytest.raises(InvalidEventError, match="gate: unknown gate 'speed'"):
        service.evaluate("speed", _state(1))
