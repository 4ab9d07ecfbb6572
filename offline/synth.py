"""Synthesize the app for offline runs (``make demo``, ``make sandbox``), or read an existing assembly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def synthesize(outdir: Path, context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every top-level stack's template by stack name, with asset metadata (the harness loads the code)."""
    from aws_cdk import App

    from infra.app_factory import build_app

    app = App(context={**context, "aws:cdk:enable-asset-metadata": True}, outdir=str(outdir))
    build_app(app)
    assembly = app.synth()
    return {stack.stack_name: stack.template for stack in assembly.stacks}


def read_assembly(outdir: Path) -> dict[str, dict[str, Any]]:
    """The templates of an already synthesized cloud assembly (``cdk.out``), by stack name."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    templates: dict[str, dict[str, Any]] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        name = properties.get("stackName") or artifact.get("displayName") or artifact_id
        templates[name] = json.loads((outdir / properties["templateFile"]).read_text())
    if not templates:
        raise ValueError(f"{outdir}: the cloud assembly holds no stack")
    return templates
