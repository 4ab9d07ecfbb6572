"""``make synth`` prints what a platform team needs and nothing the project could resolve: no unknown CLI
option, no feature-flag warnings (cdk.json sets every flag aws-cdk-lib recommends), no CDK hints; the
only warnings left are the project's own annotations on the sample config (placeholder accounts and
addresses, single-instance blue/green endpoints in dev), which a team resolves by editing cdk.json."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from pathlib import Path

import aws_cdk

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_ANNOTATIONS = ("registry:placeholder-config", "mlops:serving:single-instance")


def recommended_feature_flags() -> dict[str, object]:
    """aws-cdk-lib's own list of recommended flags, read from the installed jsii bundle."""
    bundle = next((Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(bundle) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        return dict(json.loads(member.read()))


def test_cdk_json_sets_every_recommended_feature_flag() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    recommended = recommended_feature_flags()
    missing = sorted(set(recommended) - set(context))
    assert not missing, f"feature flags not configured in cdk.json: {missing}"
    # One deliberate difference: cross-stack references stay strong (CloudFormation exports protect the
    # registry stack from being changed under its consumers; the offline harness resolves them).
    differ = {k for k, v in recommended.items() if context[k] != v}
    assert differ == {"@aws-cdk/core:defaultCrossStackReferences"}, differ
    assert context["@aws-cdk/core:defaultCrossStackReferences"] == "strong"


def test_make_synth_prints_no_warning_the_project_could_resolve(tmp_path: Path) -> None:
    # When a platform team runs `make synth`
    result = subprocess.run(
        ["make", "--no-print-directory", "synth", f"CDK_OUT={tmp_path / 'cdk.out'}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    output = result.stdout + result.stderr
    # Then it succeeds and prints neither CLI complaints nor feature-flag notices nor hints
    assert result.returncode == 0, output
    for noise in ("Unknown option", "feature flag", "Supply a stack id", "Traceback", "DeprecationWarning", "pip"):
        assert noise not in output, f"{noise!r} in:\n{output}"
    # and every warning is one of the project's own annotations on the sample config, each acknowledgeable
    warnings = re.findall(r"^WARNING (.*)$", output, re.MULTILINE)
    acknowledgements = re.findall(r"Acknowledge with 'Annotation::([^']+)'", output)
    assert len(warnings) == len(acknowledgements) == 5, output
    assert set(acknowledgements) <= set(PROJECT_ANNOTATIONS), acknowledgements
    assert len(output.splitlines()) <= 30, output
    assert (tmp_path / "cdk.out" / "manifest.json").is_file()
