"""Segregation of duties and reconciliation, as synthesized: the IAM policies' approval-status
conditions (read the way IAM evaluates them), the board's role, the dispatcher's narrow revert right,
the reconciler's triggers and alarms.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template

from infra.constructs.stage_rights import StageRights
from offline import iam_proof
from offline.harness import Resolver

pytestmark = pytest.mark.cdk  # builds CDK constructs in this process (tests/conftest.py)

PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/3"
APPROVAL_KEY = "sagemaker:ModelApprovalStatus"


def _promotion_name(synthesized: Any) -> str:
    return next(name for name in synthesized.templates if name.endswith("Promotion"))


def _statements(synthesized: Any, fragment: str, rtype: str = "AWS::IAM::ManagedPolicy") -> list[dict[str, Any]]:
    """The resolved statements of the one ``rtype`` whose logical id contains ``fragment``."""
    stack = _promotion_name(synthesized)
    resolver = Resolver(synthesized.templates)
    matches = [r for r in resolver.of_type(rtype) if r.stack == stack and fragment in r.logical_id]
    assert len(matches) == 1, [r.logical_id for r in matches]
    for r in resolver.resources.values():  # other resources' ARNs do not matter to these statements
        r.ref = r.ref or r.logical_id
        r.attrs.setdefault("Arn", f"arn:aws:offline:eu-west-1:123456789012:{r.logical_id}")
    return list(resolver.resolve(matches[0].properties["PolicyDocument"], stack)["Statement"])


def _decide(statements: list[dict[str, Any]], status: str | None, action: str = "UpdateModelPackage") -> bool:
    context = ((APPROVAL_KEY, status),) if status else ()
    call = iam_proof.Call("test", f"sagemaker:{action}", PACKAGE, context)
    return iam_proof.evaluate(call, statements).allowed


def test_data_scientists_are_explicitly_denied_setting_approved_or_rejected(synthesized: Any) -> None:
    statements = _statements(synthesized, "DataScientists")
    [deny] = [s for s in statements if s["Effect"] == "Deny" and APPROVAL_KEY in json.dumps(s.get("Condition"))]
    assert sorted(deny["Action"]) == ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]
    assert deny["Condition"] == {"StringEquals": {APPROVAL_KEY: ["Approved", "Rejected"]}}
    # Read as IAM reads it: neither decision is possible, on create or update -- because of this deny
    # (the stage deny, on which the evaluator fails closed for a request without a stage, set aside)
    statements = [x for x in statements if "ModelLifeCycle:stage" not in json.dumps(x.get("Condition")) or x is deny]
    for status in ("Approved", "Rejected"):
        for action in ("UpdateModelPackage", "CreateModelPackage"):
            assert not _decide(statements, status, action), (status, action)


def test_the_review_board_may_approve_or_reject_and_nothing_else(synthesized: Any) -> None:
    statements = _statements(synthesized, "ReviewBoard")
    [allow] = [s for s in statements if s.get("Sid") == "DecideApproval"]
    assert allow["Action"] == "sagemaker:UpdateModelPackage"
    assert allow["Condition"]["StringEquals"] == {APPROVAL_KEY: ["Approved", "Rejected"]}
    # ... in a request that sets no lifecycle stage (the evaluator has no Null operator: asserted here,
    # then left out of the evaluation below)
    stage_key = "sagemaker:ModelLifeCycle:stage"
    assert allow["Condition"]["Null"] == {stage_key: "true"}
    allow["Condition"] = {"StringEquals": allow["Condition"]["StringEquals"]}
    # A request without ModelLifeCycle does not match the stage deny in IAM (StringEquals on an absent
    # key); the evaluator fails closed on keys it cannot see, so that deny is asserted, then set aside.
    [stage_deny] = [x for x in statements if x["Effect"] == "Deny" and stage_key in json.dumps(x.get("Condition"))]
    assert stage_deny["Condition"] == {"StringEquals": {stage_key: ["Staging", "Production", "Archived"]}}
    statements = [x for x in statements if x is not stage_deny]
    assert _decide(statements, "Approved") and _decide(statements, "Rejected")
    assert not _decide(statements, "PendingManualApproval")
    assert not _decide(statements, None)  # an update that sets no approval status is not the board's
    # The board holds no task tokens and cannot change the approvals table
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not {"states:SendTaskSuccess", "states:SendTaskFailure", "dynamodb:UpdateItem", "dynamodb:PutItem"} & actions


def test_the_board_role_is_created_when_no_principals_are_configured(synthesized: Any) -> None:
    assert synthesized.config.review_board_principals == ()
    template = Template.from_json(synthesized.templates[_promotion_name(synthesized)])
    roles = template.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": "mlops-registry-dev-review-board"}})
    ((role_id, role),) = roles.items()
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert any(
        s["Action"] == "sts:AssumeRole" and s["Condition"] == {"Null": {"sts:SourceIdentity": "false"}} for s in trust
    )
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {"ManagedPolicyName": "mlops-registry-dev-review-board", "Roles": [{"Ref": role_id}]},
    )
    # The dispatcher judges decisions against that role
    functions = template.find_resources("AWS::Lambda::Function")
    [dispatcher] = [f for k, f in functions.items() if "Dispatcher" in k]
    principals = json.dumps(dispatcher["Properties"]["Environment"]["Variables"]["REVIEW_BOARD_PRINCIPALS"])
    assert ":role/mlops-registry-dev-review-board" in principals


def test_configured_principals_get_the_board_policy_and_no_role_is_created() -> None:
    app = App()
    stack = Stack(app, "Board")
    key = kms.Key(stack, "Key")
    table = dynamodb.Table(
        stack, "Approvals", partition_key=dynamodb.Attribute(name="package_arn", type=dynamodb.AttributeType.STRING)
    )
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )
    StageRights(
        stack,
        "Rights",
        env_name="prod",
        package_arns=["arn:aws:sagemaker:eu-west-1:333333333333:model-package/g/*"],
        group_arns=["arn:aws:sagemaker:eu-west-1:333333333333:model-package-group/g"],
        state_machine=machine,
        approvals_table=table,
        ledger_table_arn="arn:aws:dynamodb:eu-west-1:333333333333:table/ledger",
        key=key,
        review_board_principals=[
            "arn:aws:iam::333333333333:role/governance/ml-board",
            "arn:aws:iam::333333333333:user/risk-officer",
        ],
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::IAM::Role", 1)  # the state machine's own role only
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {"ManagedPolicyName": "mlops-registry-prod-review-board", "Roles": ["ml-board"], "Users": ["risk-officer"]},
    )


def test_the_dispatcher_may_only_set_a_version_back_to_pending(synthesized: Any) -> None:
    statements = _statements(synthesized, "DispatcherFunctionRoleDefaultPolicy", "AWS::IAM::Policy")
    assert _decide(statements, "PendingManualApproval")
    assert not _decide(statements, "Approved") and not _decide(statements, "Rejected")
    assert not _decide(statements, None)


def test_reconciler_runs_on_a_schedule_and_on_failed_executions_and_alarms(synthesized: Any) -> None:
    template = Template.from_json(synthesized.templates[_promotion_name(synthesized)])
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(15 minutes)"})
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": Match.object_like(
                {
                    "source": ["aws.states"],
                    "detail-type": ["Step Functions Execution Status Change"],
                    "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": Match.any_value()},
                }
            )
        },
    )
    for metric in ("OutOfBandChange", "UnrecordedFailure"):
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "MetricName": metric,
                "Namespace": "MlopsRegistry",
                "Dimensions": [{"Name": "service", "Value": "promotion"}],
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "AlarmActions": [Match.any_value()],
            },
        )


@pytest.mark.parametrize("fragment", ["ReconcilerFunctionRoleDefaultPolicy", "DispatcherFunctionRoleDefaultPolicy"])
def test_new_grants_name_exact_actions(synthesized: Any, fragment: str) -> None:
    for statement in _statements(synthesized, fragment, "AWS::IAM::Policy"):
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        assert all("*" not in action for action in actions), statement


def test_cli_users_may_read_this_environments_published_group_policies_only(synthesized: Any) -> None:
    # The CLI lists the managed groups with GetParametersByPath on /mlops-registry-<env>/groups
    path = "arn:aws:ssm:eu-west-1:123456789012:parameter/mlops-registry-dev/groups"
    iam_proof.check_shape("ssm", "GetParametersByPath", path)  # the Service Authorization Reference's ARN form
    for fragment in ("DataScientists", "ReviewBoard"):
        statements = _statements(synthesized, fragment)
        [read] = [s for s in statements if s.get("Sid") == "ReadGroupPolicies"]
        assert read["Action"] == "ssm:GetParametersByPath"

        def allowed(resource: str, action: str = "ssm:GetParametersByPath", statements: list[Any] = statements) -> bool:
            return iam_proof.evaluate(iam_proof.Call("cli", action, resource, ()), statements).allowed

        assert allowed(path), fragment
        assert not allowed(path.replace("-dev/", "-prod/"))
        assert not allowed(path + "/churn-classifier", "ssm:PutParameter")
