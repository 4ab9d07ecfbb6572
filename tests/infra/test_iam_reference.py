"""The synthesized IAM against the Service Authorization Reference, statically: cfn-lint's informational
IAM rules (I3510: a statement's resources must be ARNs its actions are authorized against) on an
environment whose account and region are concrete (staging), plus the project's own rule that no
identity policy grants a ``*`` action or an action the reference does not know."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from offline.iam_proof import reference_resources

IAM_RULES = ("I3510",)  # informational IAM rules: statement resources vs actions
FIXTURES = Path(__file__).parent / "fixtures"


def _cfn_lint_informational(templates: list[str]) -> list[dict[str, Any]]:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--include-checks", "I", "--format", "json", "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip().startswith("["), f"cfn-lint produced no report: {result.stderr[:2000]}"
    return [f for f in json.loads(result.stdout) if f["Rule"]["Id"].startswith(IAM_RULES)]


def test_the_informational_iam_rule_is_live() -> None:
    # Given a grant of ListModelPackages on a group ARN (what the registry used to grant)
    findings = _cfn_lint_informational([str(FIXTURES / "list_packages_on_group.template.json")])
    # Then cfn-lint reports it against the resource the reference requires
    assert [f["Rule"]["Id"] for f in findings] == ["I3510"]
    assert "sagemaker:ListModelPackages" in findings[0]["Message"]
    assert "model-package/" in findings[0]["Message"]


def test_staging_templates_have_no_informational_iam_findings(synthesized_staging: Any) -> None:
    templates = sorted(str(p) for p in synthesized_staging.outdir.glob("*.template.json"))
    assert len(templates) >= 6
    findings = _cfn_lint_informational(templates)
    assert findings == [], json.dumps(findings, indent=1)[:4000]


def test_every_granted_action_is_named_and_known_to_the_reference(synthesized_staging: Any) -> None:
    unknown = []
    for name, template in synthesized_staging.templates.items():
        for logical, body in template["Resources"].items():
            if body["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            statements = body["Properties"]["PolicyDocument"]["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                actions = statement.get("Action", [])
                for action in actions if isinstance(actions, list) else [actions]:
                    assert "*" not in action, f"{name}/{logical} grants a wildcard action {action}"
                    service, _, operation = action.partition(":")
                    try:
                        reference_resources(service, operation)
                    except AssertionError as error:
                        unknown.append(f"{name}/{logical}: {error}")
    assert unknown == []
