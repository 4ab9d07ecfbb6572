"""Dispatcher handler on moto: typed parsing, unmanaged groups, duplicates, Studio approvals."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from promotion import dispatcher

from mlops_registry.core.approvals import ApprovalStore, PendingApproval
from mlops_registry.core.aws import reset_clients
from mlops_registry.core.errors import InvalidEventError
from offline.harness.runtime import LambdaContext

EVENTS = Path(__file__).parent / "events"
POLICY = {
    "name": "churn-classifier",
    "features": ["a"],
    "championTolerance": 0.0,
    "metrics": [{"name": "auc", "baseline": 0.8, "direction": "higher_is_better"}],
    "fairness": {"protectedAttributes": ["g"], "thresholds": [{"metric": "DI", "min": 0.8, "max": 1.25}]},
    "deployment": {"mode": "blue_green", "instanceType": "ml.m5.large", "instanceCount": 1, "maxInstanceCount": 1},
    "validation": {"holdout": {"key": "holdout/churn-classifier.csv", "labelColumn": "churned"}},
}


BOARD_ROLE = "arn:aws:iam::123456789012:role/ml-review-board"  # the Studio execution role of the board's profiles


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws():
        reset_clients()
        sfn = boto3.client("stepfunctions", region_name="eu-west-1")
        machine = sfn.create_state_machine(
            name="promotion",
            definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        ddb.create_table(
            TableName="approvals",
            KeySchema=[{"AttributeName": "package_arn", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "package_arn", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.create_table(
            TableName="ledger",
            KeySchema=[
                {"AttributeName": "group_name", "KeyType": "HASH"},
                {"AttributeName": "entry_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "group_name", "AttributeType": "S"},
                {"AttributeName": "entry_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        topic = boto3.client("sns", region_name="eu-west-1").create_topic(Name="notifications")["TopicArn"]
        boto3.client("ssm", region_name="eu-west-1").put_parameter(
            Name="/mlops-registry-test/groups/churn-classifier", Value=json.dumps(POLICY), Type="String"
        )
        monkeypatch.setenv("STATE_MACHINE_ARN", machine)
        monkeypatch.setenv("APPROVALS_TABLE", "approvals")
        monkeypatch.setenv("GROUP_POLICY_PREFIX", "mlops-registry-test")
        monkeypatch.setenv("LEDGER_TABLE", "ledger")
        monkeypatch.setenv("TOPIC_ARN", topic)
        monkeypatch.setenv("REVIEW_BOARD_PRINCIPALS", BOARD_ROLE)
        yield {"sfn": sfn, "machine": machine, "ddb": ddb}


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    return dispatcher.handler(event, LambdaContext("dispatcher", 256, 30))


def test_a_registered_version_starts_one_execution_with_the_policy(aws: dict[str, Any]) -> None:
    outcome = _invoke(_event("model_package_registered.json"))
    assert outcome["action"] == "started"
    execution = aws["sfn"].describe_execution(executionArn=outcome["execution_arn"])
    payload = json.loads(execution["input"])
    assert payload["package_arn"].endswith("churn-classifier/3") and payload["policy"]["name"] == "churn-classifier"
    assert _invoke(_event("model_package_registered.json"))["action"] == "duplicate"
    assert len(aws["sfn"].list_executions(stateMachineArn=aws["machine"])["executions"]) == 1


def test_execution_names_are_deterministic_and_valid(aws: dict[str, Any]) -> None:
    from promotion.dispatch import execution_name

    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/" + "g" * 63 + "/12345"
    name = execution_name(arn, "evaluate")
    assert name == execution_name(arn, "evaluate") and len(name) <= 80
    assert name != execution_name(arn.replace("12345", "12346"), "evaluate")


def test_an_unmanaged_group_is_ignored(aws: dict[str, Any]) -> None:
    event = _event("model_package_registered.json")
    arn = event["detail"]["ModelPackageArn"].replace("churn-classifier", "other-group")
    event["detail"].update(ModelPackageGroupName="other-group", ModelPackageArn=arn)
    event["resources"] = [arn]  # SageMaker names the package in the envelope too
    outcome = _invoke(event)
    assert outcome["action"] == "ignored" and "not managed" in outcome["reason"]
    assert aws["sfn"].list_executions(stateMachineArn=aws["machine"])["executions"] == []


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("detail"), "detail"),
        (lambda e: e["detail"].pop("ModelPackageArn"), "detail.ModelPackageArn"),
        (lambda e: e["detail"].update(ModelPackageArn="arn:aws:s3:::not-a-package"), "detail.ModelPackageArn"),
        (lambda e: e["detail"].update(ModelPackageVersion="three"), "detail.ModelPackageVersion"),
        (lambda e: e["detail"].update(ModelApprovalStatus="Maybe"), "detail.ModelApprovalStatus"),
        (lambda e: e.update(source="aws.s3"), "source"),
        (lambda e: e["detail"].update(ModelPackageVersion=4), "does not match detail.ModelPackageVersion"),
    ],
)
def test_a_malformed_event_names_the_field_and_starts_nothing(aws: dict[str, Any], mutate: Any, field: str) -> None:
    event = copy.deepcopy(_event("model_package_registered.json"))
    mutate(event)
    with pytest.raises(InvalidEventError, match=field.replace(".", r"\.")):
        _invoke(event)
    assert aws["sfn"].list_executions(stateMachineArn=aws["machine"])["executions"] == []


def test_a_studio_approval_resumes_the_waiting_execution_once(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/3"
    store = ApprovalStore("approvals")
    store.put(
        PendingApproval(arn, "token-123", "arn:exec", "churn-classifier", 3, "2026-11-26T10:00:00Z"), timeout_hours=1
    )
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(dispatcher, "client", _recording_client(sent))
    outcome = _invoke(_event("model_package_approved_in_studio.json"))
    assert outcome["action"] == "resumed"
    assert sent[0]["taskToken"] == "token-123"
    output = json.loads(sent[0]["output"])
    assert output["decision"] == "Approved"
    assert output["actor"].endswith("user-profile/d-1/bob")
    assert output["reason"] == "Reviewed fairness and calibration: OK"
    again = _invoke(_event("model_package_approved_in_studio.json"))
    assert again["action"] == "ignored" and len(sent) == 1


def _recording_client(sent: list[dict[str, Any]], updates: list[dict[str, Any]] | None = None) -> Any:
    """Step Functions' SendTaskSuccess and SageMaker's UpdateModelPackage recorded (the package does not
    exist in this emulated account); every other call goes to moto."""
    real = dispatcher.client

    class Recording:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def send_task_success(self, **kwargs: Any) -> dict[str, Any]:
            sent.append(kwargs)
            return {}

        def update_model_package(self, **kwargs: Any) -> dict[str, Any]:
            (updates if updates is not None else []).append(kwargs)
            return {"ModelPackageArn": kwargs["ModelPackageArn"]}

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    return lambda service: Recording(real(service)) if service in ("stepfunctions", "sagemaker") else real(service)


def test_a_studio_decision_by_someone_outside_the_board_resumes_nothing(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a waiting approval, and the registrant's own Studio profile setting Approved
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/3"
    ApprovalStore("approvals").put(
        PendingApproval(arn, "token-123", "arn:exec", "churn-classifier", 3, "2026-11-26T10:00:00Z"), timeout_hours=1
    )
    event = _event("model_package_approved_in_studio.json")
    event["detail"]["LastModifiedBy"] = event["detail"]["CreatedBy"]
    sent: list[dict[str, Any]] = []
    reverted: list[dict[str, Any]] = []
    monkeypatch.setattr(dispatcher, "client", _recording_client(sent, reverted))
    # When the dispatcher receives it (twice: EventBridge may deliver it again)
    outcomes = [_invoke(event)["action"] for _ in range(2)]
    # Then nothing resumes, the status is set back once, and one refusal names dana's profile
    assert outcomes == ["refused", "ignored"] and sent == []
    assert [(r["ModelPackageArn"], r["ModelApprovalStatus"]) for r in reverted] == [(arn, "PendingManualApproval")]
    items = [i for i in aws["ddb"].scan(TableName="ledger")["Items"] if "decision" in i]  # entries, not chain heads
    assert [(i["decision"]["S"], i["actor"]["S"]) for i in items] == [
        ("unauthorized_approval", "arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-1/dana")
    ]
    assert "not a review-board principal" in items[0]["reason"]["S"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.update(account="999999999999"), "account"),
        (lambda e: e.update(region="us-east-1"), "region"),
        (
            lambda e: e["detail"].update(
                ModelPackageArn=e["detail"]["ModelPackageArn"].replace("123456789012", "999999999999")
            ),
            "detail.ModelPackageArn",
        ),
    ],
)
def test_a_foreign_event_is_rejected_by_name(aws: dict[str, Any], mutate: Any, field: str) -> None:
    from mlops_registry.core.errors import ForeignEventError

    event = copy.deepcopy(_event("model_package_registered.json"))
    mutate(event)
    with pytest.raises(ForeignEventError, match=field.replace(".", r"\.")):
        _invoke(event)
    assert aws["sfn"].list_executions(stateMachineArn=aws["machine"])["executions"] == []
