"""Synthesis imports no function run-time library: the CDK app reads contracts and policies from
``mlops_registry.core`` and the pure timing module, never Powertools or the AWS SDK's clients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_ONLY = ("aws_lambda_powertools", "boto3", "numpy", "pyarrow")


def test_importing_the_app_factory_loads_no_function_runtime_library() -> None:
    probe = (
        "import json, sys, infra.app_factory; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(RUNTIME_ONLY)!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
