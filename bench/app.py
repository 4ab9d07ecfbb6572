"""Synthesizes the app once for the benchmarks that need the cloud assembly (asset paths included)."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any

from aws_cdk import App

from infra.app_factory import CDK_JSON, build_app


@functools.lru_cache(maxsize=1)
def synthesized() -> tuple[Path, dict[str, dict[str, Any]]]:
    context = json.loads(CDK_JSON.read_text())["context"]
    outdir = Path(tempfile.mkdtemp(prefix="bench-cdk.out."))
    app = App(context={**context, "aws:cdk:enable-asset-metadata": True}, outdir=str(outdir))
    build_app(app)
    assembly = app.synth()
    return outdir, {stack.stack_name: stack.template for stack in assembly.stacks}
