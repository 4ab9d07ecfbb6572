"""Infra assertions: the daily ledger check (schedule → function → metric → alarm → topic), its narrow
rights, the ledger writers' rights (no UpdateItem/DeleteItem), and the e-mail subscriptions' DLQ."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra import constants
from mlops_registry.core import contracts

pytestmark = pytest.mark.cdk  # builds CDK constructs in this process (tests/conftest.py)


def _statements(template: Template, role_fragment: str) -> list[dict[str, Any]]:
    out = []
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        roles = str(policy["Properties"].get("Roles"))
        if role_fragment in roles or role_fragment in logical_id:
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _check_function(template: Template) -> tuple[str, dict[str, Any]]:
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "promotion.ledger_check.handler"}}
    )
    assert len(functions) == 1
    return next(iter(functions.items()))


def test_a_daily_schedule_invokes_the_ledger_check(synthesized: Any) -> None:
    template = Template.from_json(synthesized.template("Promotion"))
    logical_id, function = _check_function(template)
    groups = function["Properties"]["Environment"]["Variables"]["MANAGED_GROUPS"].split(",")
    assert groups == [g.name for g in synthesized.config.groups]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": f"cron(17 {constants.LEDGER_CHECK_HOUR_UTC} * * ? *)",
            "Targets": [Match.object_like({"Arn": {"Fn::GetAtt": [logical_id, "Arn"]}})],
        },
    )


def test_a_broken_chain_alarms_to_the_notification_topic(synthesized: Any) -> None:
    template = Template.from_json(synthesized.template("Promotion"))
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {
            "Properties": {
                "Namespace": contracts.LEDGER_METRICS_NAMESPACE,
                "MetricName": contracts.LEDGER_CHAIN_BROKEN_METRIC,
            }
        },
    )
    assert len(alarms) == 1
    (alarm,) = alarms.values()
    properties = alarm["Properties"]
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert properties["Statistic"] == "Maximum" and "Dimensions" not in properties
    assert "Notifications" in str(properties["AlarmActions"]) or "notifications" in str(properties["AlarmActions"])
    errors = template.find_resources("AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "Errors"}})
    assert any("LedgerCheck" in str(a["Properties"]["Dimensions"]) for a in errors.values())


def test_the_check_only_reads_the_ledger(synthesized: Any) -> None:
    template = Template.from_json(synthesized.template("Promotion"))
    statements = _statements(template, "LedgerCheck")
    dynamodb = sorted(a for s in statements for a in _actions(s) if a.startswith("dynamodb:"))
    assert dynamodb == ["dynamodb:GetItem", "dynamodb:Query"]
    (metrics,) = [s for s in statements if "cloudwatch:PutMetricData" in _actions(s)]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": contracts.LEDGER_METRICS_NAMESPACE}}


def test_no_ledger_writer_may_update_or_delete_entries(synthesized: Any) -> None:
    template = Template.from_json(synthesized.template("Promotion"))
    ledger = constants.ledger_table_name(synthesized.config.name)
    for statement in _statements(template, ""):
        if ledger in str(statement["Resource"]) and "promotion-locks" not in str(statement["Resource"]):
            assert not {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:*"} & set(_actions(statement)), (
                statement
            )


def test_every_email_subscription_has_an_encrypted_dead_letter_queue(synthesized: Any) -> None:
    template = Template.from_json(synthesized.template("Registry"))
    subscriptions = template.find_resources("AWS::SNS::Subscription", {"Properties": {"Protocol": "email"}})
    assert len(subscriptions) == len(synthesized.config.review_board_emails) >= 1
    queues = template.find_resources("AWS::SQS::Queue")
    for subscription in subscriptions.values():
        target = subscription["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert "KmsMasterKeyId" in queues[target]["Properties"]
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Sid": "TopicDeadLettersToEncryptedQueue", "Principal": {"Service": "sns.amazonaws.com"}}
                        )
                    ]
                )
            }
        },
    )
