"""Promotion stack: the rule's pattern, retry/catch on every task, append-only ledger IAM, logging."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from moto.events.models import EventPattern

from mlops_registry.core.config import publish, read_published
from offline.harness import Resolver

pytestmark = pytest.mark.cdk  # builds CDK constructs in this process (tests/conftest.py)

EVENTS = Path(__file__).resolve().parents[1] / "integration" / "events"


def _promotion(synthesized: Any) -> dict[str, Any]:
    return synthesized.template("Promotion")


def _definition(synthesized: Any) -> dict[str, Any]:
    resolver = Resolver(synthesized.templates)
    for resource in resolver.resources.values():
        resource.ref = resource.logical_id
        resource.attrs = {
            "Arn": f"arn:aws:lambda:eu-west-1:123456789012:function:{resource.logical_id}",
            "Name": resource.logical_id,
        }
    machine = next(
        r
        for r in resolver.resources.values()
        if r.type == "AWS::StepFunctions::StateMachine" and "Promotion" in r.stack  # not the drift fan-out
    )
    return json.loads(resolver.resolve(machine.properties["DefinitionString"], machine.stack))


def test_rule_pattern_matches_real_events_of_managed_groups_only(synthesized: Any) -> None:
    rules = Template.from_json(_promotion(synthesized)).find_resources("AWS::Events::Rule")
    ((logical_id, rule),) = [(k, v) for k, v in rules.items() if "ModelPackageStateChange" in k]
    stack = next(name for name in synthesized.templates if name.endswith("Promotion"))
    # Account and region are the stack's own (pseudo parameters), resolved as in the emulated account.
    resolved = Resolver(synthesized.templates).resolve(rule["Properties"]["EventPattern"], stack)
    pattern = EventPattern.load(json.dumps(resolved))
    for sample in ("model_package_registered.json", "model_package_approved_in_studio.json"):
        event = json.loads((EVENTS / sample).read_text())
        assert pattern.matches_event(event), sample
        other_group = json.loads((EVENTS / sample).read_text())
        other_group["detail"]["ModelPackageGroupName"] = "unmanaged-group"
        assert not pattern.matches_event(other_group)
        other_type = json.loads((EVENTS / sample).read_text())
        other_type["detail-type"] = "SageMaker Model State Change"
        assert not pattern.matches_event(other_type)
        for key, foreign in (("account", "999999999999"), ("region", "us-east-1")):
            elsewhere = json.loads((EVENTS / sample).read_text())
            elsewhere[key] = foreign
            assert not pattern.matches_event(elsewhere), (sample, key)
    assert sorted(rule["Properties"]["EventPattern"]["detail"]["ModelPackageGroupName"]) == sorted(
        g.name for g in synthesized.config.groups
    )


def test_rule_target_has_a_dead_letter_queue_and_retries(synthesized: Any) -> None:
    template = Template.from_json(_promotion(synthesized))
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                        "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 86400},
                    }
                )
            ],
        },
    )


def test_every_task_retries_transient_errors_and_catches_into_the_failure_path(synthesized: Any) -> None:
    states = _definition(synthesized)["States"]
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    assert len(tasks) >= 9
    for name, state in tasks.items():
        retry_errors = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        assert {
            "Lambda.TooManyRequestsException",
            "TransientServiceError",
            "Lambda.ServiceException",
        } <= retry_errors, name
        for retrier in state["Retry"]:
            if "TransientServiceError" in retrier["ErrorEquals"]:
                assert (
                    retrier["BackoffRate"] >= 2
                    and retrier["MaxAttempts"] >= 3
                    and retrier.get("JitterStrategy") == "FULL"
                ), name
        catches = state.get("Catch", [])
        assert catches and catches[-1]["ErrorEquals"] == ["States.ALL"], name
        # deployment tasks restore an A/B test's champion first; the restore itself fails into RecordFailure
        deployment = name in ("StartDeployment", "CheckDeployment", "EvaluateAbTest")
        target = "PromotionFailed" if name == "RecordFailure" else "RestoreChampion" if deployment else "RecordFailure"
        assert catches[-1]["Next"] == target, name
    assert states["RestoreChampion"]["Next"] == "RecordFailure"
    assert states["RecordFailure"]["Next"] == "PromotionFailed"
    assert states["PromotionFailed"]["Type"] == "Fail"
    approval = tasks["RequestApproval"]
    assert approval["Resource"].endswith("lambda:invoke.waitForTaskToken")
    assert approval["TimeoutSeconds"] == synthesized.config.approval_timeout_hours * 3600
    assert approval["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"],
        "ResultPath": "$.approval_error",
        "Next": "ApprovalTimedOut",
    }
    assert any(r["ErrorEquals"] == ["PromotionLockHeld"] for r in tasks["AcquireProductionLock"]["Retry"])


def test_state_machine_is_standard_with_full_logging_and_tracing(synthesized: Any) -> None:
    Template.from_json(_promotion(synthesized)).has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True, "Destinations": Match.any_value()},
        },
    )
    log_groups = Template.from_json(_promotion(synthesized)).find_resources("AWS::Logs::LogGroup")
    assert log_groups and all(
        "KmsKeyId" in g["Properties"] and g["Properties"]["RetentionInDays"] == 365 for g in log_groups.values()
    )


def test_no_function_can_update_or_delete_ledger_entries(synthesized: Any) -> None:
    ledger_name = f"mlops-registry-{synthesized.config.name}-audit-ledger"
    policies = Template.from_json(_promotion(synthesized)).find_resources("AWS::IAM::Policy")
    appenders = 0
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            resources = json.dumps(statement.get("Resource"))
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "AuditLedger" in resources or ledger_name in resources:
                assert not {
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:*",
                } & set(actions), statement
                appenders += "dynamodb:PutItem" in actions
    # the approval-request, lifecycle and deployment (restored champion) functions, the dispatcher
    # (refused decisions) and the reconciler
    assert appenders == 5


def test_functions_use_the_project_baseline(synthesized: Any) -> None:
    functions = Template.from_json(_promotion(synthesized)).find_resources("AWS::Lambda::Function")
    assert len(functions) >= 6
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.14" and props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert "KmsKeyArn" in props
        # Powertools from its public layer (the validation function also has the SDK for pandas layer: NumPy)
        parameters = [_promotion(synthesized)["Parameters"][layer["Ref"]] for layer in props["Layers"]]
        assert all(p["Type"] == "AWS::SSM::Parameter::Value<String>" for p in parameters)
        assert "/aws/service/powertools/python/arm64/python3.14/3.37.0" in [p["Default"] for p in parameters]
    managed = json.dumps(Template.from_json(_promotion(synthesized)).find_resources("AWS::IAM::Role"))
    assert "AWSLambdaBasicExecutionRole" not in managed


def test_stage_rights_deny_humans_staging_production_and_archived(synthesized: Any) -> None:
    policies = Template.from_json(_promotion(synthesized)).find_resources("AWS::IAM::ManagedPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        deny = next(s for s in statements if s["Effect"] == "Deny")
        assert set(deny["Action"]) == {"sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"}
        assert deny["Condition"] == {
            "StringEquals": {"sagemaker:ModelLifeCycle:stage": ["Staging", "Production", "Archived"]}
        }
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in a for a in actions)


def test_group_policies_are_published_for_the_dispatcher(synthesized: Any) -> None:
    parameters = Template.from_json(_promotion(synthesized)).find_resources("AWS::SSM::Parameter")
    names = {p["Properties"]["Name"] for p in parameters.values()}
    assert names == {f"/mlops-registry-{synthesized.config.name}/groups/{g.name}" for g in synthesized.config.groups}
    for parameter in parameters.values():
        policy = json.loads(parameter["Properties"]["Value"])
        group = synthesized.config.group(policy["name"])
        assert policy == publish(group) and read_published(policy) == group
