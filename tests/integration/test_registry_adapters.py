"""Adapters on moto: the audit ledger and its queries, the approval store, the promotion lock,
the registry adapter's explicit sort, and report reading."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from promotion.adapters import StepFunctionsExecutions

from mlops_registry.core.approvals import ApprovalStore, PendingApproval, resume_approval
from mlops_registry.core.aws import reset_clients
from mlops_registry.core.errors import (
    ApprovalNotPendingError,
    InvalidEventError,
    LedgerEntryExists,
    PromotionLockHeld,
    ReportUnavailableError,
    UnknownPackageError,
)
from mlops_registry.core.ledger import Ledger, LedgerEntry, served_at
from mlops_registry.core.locks import PromotionLock
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.reports import read_json_report
from offline.harness.emulator import sagemaker_extensions

REGION = "eu-west-1"
MACHINE = f"arn:aws:states:{REGION}:123456789012:stateMachine:promotion"


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws(), sagemaker_extensions():
        reset_clients()
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName="ledger",
            KeySchema=[
                {"AttributeName": "group_name", "KeyType": "HASH"},
                {"AttributeName": "entry_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": "S"} for n in ("group_name", "entry_id", "stage_key", "at")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByStageEntry",
                    "KeySchema": [
                        {"AttributeName": "stage_key", "KeyType": "HASH"},
                        {"AttributeName": "at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for name, key in (("approvals", "package_arn"), ("locks", "group_name")):
            ddb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield ddb


def _entry(version: int, to_stage: str, decision: str, at: str, actor: str = "pipeline") -> LedgerEntry:
    return LedgerEntry(
        group="g",
        version=version,
        package_arn=f"arn:aws:sagemaker:{REGION}:123456789012:model-package/g/{version}",
        from_stage=None,
        to_stage=to_stage,
        decision=decision,
        reason="r",
        actor=actor,
        execution_arn="arn:exec",
        evidence={"x": 1.5},
        at=at,
        transition=f"{to_stage}-{decision}",
    )


def test_ledger_history_and_stage_at_time_are_single_queries(aws: Any) -> None:
    ledger = Ledger("ledger")
    ledger.append(_entry(1, "Production", "entered", "2026-01-01T00:00:00.000000Z", actor="alice"))
    ledger.append(_entry(2, "Archived", "rejected", "2026-02-01T00:00:00.000000Z"))
    ledger.append(_entry(3, "Production", "entered", "2026-03-01T00:00:00.000000Z", actor="bob"))
    ledger.append(_entry(1, "Archived", "archived", "2026-03-01T00:00:00.000001Z"))
    assert [e.version for e in ledger.history("g")] == [1, 2, 3, 1]
    assert ledger.history("g")[0].evidence == {"x": 1.5}
    assert ledger.in_stage_at("g", "Production", "2025-12-31T00:00:00Z") is None
    january = ledger.in_stage_at("g", "Production", "2026-01-15T00:00:00+00:00")
    assert (january.version, january.actor) == (1, "alice")
    assert (
        ledger.in_stage_at("g", "Production", "2026-02-15T12:00:00Z").version == 1
    )  # a rejection is not a stage entry
    assert ledger.in_stage_at("g", "Production", "2026-03-01T00:00:00Z").actor == "bob"
    assert ledger.in_stage_at("g", "Production", "2027-01-01T00:00:00Z").version == 3


def test_ledger_entries_cannot_be_overwritten(aws: Any) -> None:
    ledger = Ledger("ledger")
    entry = _entry(1, "Production", "entered", "2026-01-01T00:00:00.000000Z")
    ledger.append(entry)
    with pytest.raises(LedgerEntryExists, match=entry.entry_id):
        ledger.append(entry)
    assert len(ledger.history("g")) == 1
    with pytest.raises(ValueError, match="decision"):
        ledger.append(_entry(1, "Production", "maybe", "2026-01-02T00:00:00.000000Z"))


def test_an_approval_is_resumed_once_and_needs_a_reason(aws: Any) -> None:
    store = ApprovalStore("approvals")
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/g/1"
    sent: list[dict[str, Any]] = []

    class Sfn:  # the boto3 client's SendTaskSuccess, recorded (no execution waits in this account)
        def send_task_success(self, **kwargs: Any) -> None:
            sent.append(kwargs)

    with pytest.raises(ApprovalNotPendingError):
        resume_approval(store, arn, "Approved", "alice", "ok", StepFunctionsExecutions(Sfn(), MACHINE))
    store.put(PendingApproval(arn, "tok", "arn:exec", "g", 1, "2026-01-01T00:00:00Z"), timeout_hours=1)
    with pytest.raises(InvalidEventError, match="reason"):
        resume_approval(store, arn, "Approved", "alice", "  ", StepFunctionsExecutions(Sfn(), MACHINE))
    with pytest.raises(InvalidEventError, match="decision"):
        resume_approval(store, arn, "Maybe", "alice", "ok", StepFunctionsExecutions(Sfn(), MACHINE))
    resume_approval(store, arn, "Approved", "alice", "ok", StepFunctionsExecutions(Sfn(), MACHINE))
    assert json.loads(sent[0]["output"])["actor"] == "alice"
    with pytest.raises(ApprovalNotPendingError):
        resume_approval(store, arn, "Rejected", "bob", "no", StepFunctionsExecutions(Sfn(), MACHINE))
    assert len(sent) == 1


def test_the_promotion_lock_serializes_and_expires(aws: Any) -> None:
    lock = PromotionLock("locks", ttl_seconds=3600)
    lock.acquire("g", "exec-1", "arn:1")
    lock.acquire("g", "exec-1", "arn:1")  # re-entrant for its owner
    with pytest.raises(PromotionLockHeld):
        lock.acquire("g", "exec-2", "arn:2")
    assert lock.release("g", "exec-2") is False
    assert lock.release("g", "exec-1") is True
    lock.acquire("g", "exec-2", "arn:2")
    expired = PromotionLock("locks", ttl_seconds=-10)
    expired.acquire("h", "exec-1", "arn:1")
    expired.acquire("h", "exec-3", "arn:3")  # the first holder's lock has expired


def test_versions_are_sorted_explicitly_newest_first(aws: Any) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model_package_group(ModelPackageGroupName="g")
    arns = [
        sm.create_model_package(
            ModelPackageGroupName="g",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/x:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        for _ in range(3)
    ]
    registry = ModelRegistry()
    assert registry.version_arns("g") == list(reversed(arns))
    registry.set_lifecycle(arns[1], "Production", "Deployed", "x", approval_status="Approved")
    assert registry.current_production("g").version == 2
    assert registry.current_production("g", exclude=arns[1]) is None
    with pytest.raises(UnknownPackageError):
        registry.describe(arns[0].replace("/1", "/9"))
    with pytest.raises(InvalidEventError):
        registry.describe("arn:aws:sagemaker:eu-west-1:123456789012:model/not-a-package")


def test_reports_that_are_absent_unreadable_or_not_json_are_typed_errors(aws: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="reports-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="reports-bucket", Key="ok.json", Body=b'{"a": 1}')
    s3.put_object(Bucket="reports-bucket", Key="bad.json", Body=b"{not json")
    s3.put_object(Bucket="reports-bucket", Key="list.json", Body=b"[1, 2]")
    assert read_json_report("s3://reports-bucket/ok.json", "metrics") == {"a": 1}
    for uri, fragment in [
        (None, "references none"),
        ("s3://reports-bucket/missing.json", "cannot be read"),
        ("s3://reports-bucket/bad.json", "not valid JSON"),
        ("s3://reports-bucket/list.json", "expected a JSON object"),
        ("https://example.com/x", "not an s3://"),
    ]:
        with pytest.raises(ReportUnavailableError, match=fragment):
            read_json_report(uri, "metrics")


# --- audit questions answered by the ledger module (served_at, entered) -------------------------
# Given v1 approved by alice and v2 approved by bob, then v1 restored by an on-call rollback, "what
# served in Production at T, and who approved it" names, for each moment, the version the timeline
# says and the board member who approved *that* version (alice for the restored v1, not the on-call
# engineer who restored it). Expected values are read off the scenario's timeline.
AUDIT_GROUP = "churn"


def _audit_entry(version: int, at: str, decision: str, actor: str, to_stage: str = "Production") -> LedgerEntry:
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model-package/{AUDIT_GROUP}/{version}"
    return LedgerEntry(AUDIT_GROUP, version, arn, "Staging", to_stage, decision, "-", actor, at=at, transition=decision)


def _timeline(ledger: Ledger) -> None:
    for entry in (
        _audit_entry(1, "2026-03-01T10:00:00.000000Z", "entered", "alice"),
        _audit_entry(2, "2026-03-05T10:00:00.000000Z", "entered", "bob"),
        _audit_entry(1, "2026-03-08T10:00:00.000000Z", "rolled_back", "oncall"),
        _audit_entry(2, "2026-03-08T10:00:00.000001Z", "rolled_back", "oncall", to_stage="Archived"),
    ):
        ledger.append(entry)


@pytest.mark.parametrize(
    ("at", "version", "approved_by", "entered_by"),
    [
        ("2026-03-02T00:00:00Z", 1, "alice", "alice"),
        ("2026-03-06T00:00:00Z", 2, "bob", "bob"),
        ("2026-03-09T00:00:00Z", 1, "alice", "oncall"),
    ],
)
def test_what_served_at_a_time_and_who_approved_it(
    aws: Any, at: str, version: int, approved_by: str, entered_by: str
) -> None:
    ledger = Ledger("ledger", dynamodb=aws)
    _timeline(ledger)
    served = served_at(ledger, AUDIT_GROUP, at)
    assert served is not None
    assert (served.entry.version, served.approved_by, served.entry.actor) == (version, approved_by, entered_by)


def test_nothing_served_before_the_first_promotion(aws: Any) -> None:
    ledger = Ledger("ledger", dynamodb=aws)
    _timeline(ledger)
    assert served_at(ledger, AUDIT_GROUP, "2026-02-01T00:00:00Z") is None


def test_entries_into_a_stage_come_newest_first_and_history_oldest_first(aws: Any) -> None:
    ledger = Ledger("ledger", dynamodb=aws)
    _timeline(ledger)
    assert [(e.version, e.decision) for e in ledger.entered(AUDIT_GROUP, "Production")] == [
        (1, "rolled_back"),
        (2, "entered"),
        (1, "entered"),
    ]
    assert [e.version for e in ledger.history(AUDIT_GROUP)] == [1, 2, 1, 2]
    assert [e.version for e in ledger.history(AUDIT_GROUP, limit=2)] == [1, 2]
