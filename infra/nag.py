"""The security gate: cdk-nag AwsSolutions through the v3 ``Validations`` API.

Any unacknowledged finding fails synth with a validation report. Acknowledgements live next to the
resource they concern, each with a granular id and a specific reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, App, Stack, Stage, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def enable_security_checks(scope: App | Stage) -> None:
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope))


def list_packages_acknowledgment(scope: IConstruct) -> Acknowledgment:
    """The IAM5 acknowledgement of ``sagemaker:ListModelPackages`` on ``model-package/*``."""
    stack = Stack.of(scope)
    arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-package/*"
    return Acknowledgment(
        id=f"AwsSolutions-IAM5[Resource::{nag_form(scope, arn)}]",
        reason="sagemaker:ListModelPackages only: the Service Authorization Reference authorizes it against "
        "model-package/* (not the group it filters on); it returns summaries, Describe stays group-scoped.",
    )


def state_machine_acknowledgments(scope: IConstruct, function_arns: Iterable[str]) -> list[Acknowledgment]:
    """The IAM5 acknowledgements of a state machine's role: X-Ray and log delivery (no resource-level
    permissions), and invoke on each task function's versions and aliases (CDK's grant)."""
    return [
        Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray and CloudWatch Logs delivery actions for Step Functions support no resource-level permissions.",
        ),
        *[
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_form(scope, arn)}:*]",
                reason="CDK grants invoke on the function's versions and aliases.",
            )
            for arn in function_arns
        ],
    ]


def nag_form(scope: IConstruct, value: str) -> str:
    """Render a (possibly tokenized) ARN the way cdk-nag prints it in a granular finding id.

    Refs become ``<LogicalId>``, GetAtts ``<LogicalId.Attr>``, pseudo parameters ``<AWS::Region>``,
    cross-stack imports their export name, so acknowledgements stay exact as logical ids change.
    """
    return _render(Stack.of(scope).resolve(value))


def _render(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if fn == "Fn::ImportValue":
            return _render(arg)
        if fn == "Fn::Sub" and isinstance(arg, str):  # e.g. the bootstrap assets bucket's name
            return arg.replace("${", "<").replace("}", ">")
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(_render(p) for p in parts)
    raise ValueError(f"cannot render {node!r} for a cdk-nag acknowledgement")
