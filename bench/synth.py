"""Synth benchmarks: the full app against a minimal one-bucket app, and 1 against 50 managed groups."""

from __future__ import annotations

import copy
import json
import tempfile
import time
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from infra.app_factory import CDK_JSON, build_app

CLOUDFORMATION_RESOURCE_LIMIT = 500


def _timed_synth(app: App) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    assembly = app.synth()
    seconds = time.perf_counter() - started
    return seconds, {s.stack_name: len(s.template.get("Resources", {})) for s in assembly.stacks}


def minimal_app_seconds() -> float:
    started = time.perf_counter()
    app = App(outdir=tempfile.mkdtemp())
    s3.Bucket(Stack(app, "Minimal"), "Bucket")
    app.synth()
    return time.perf_counter() - started


def full_app_seconds(context: dict[str, Any]) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    app = App(context=context, outdir=tempfile.mkdtemp())
    build_app(app)
    _, counts = _timed_synth(app)
    return time.perf_counter() - started, counts


def with_groups(context: dict[str, Any], count: int) -> dict[str, Any]:
    ctx = copy.deepcopy(context)
    registry = ctx["registry"]
    template = registry["groups"][0]
    registry["groups"] = []
    for environment in registry["environments"].values():
        environment.pop("groups", None)  # per-group overrides name the sample's groups
    for index in range(count):
        group = copy.deepcopy(template)
        group["name"] = f"bench-group-{index:02d}"
        registry["groups"].append(group)
    return ctx


def run() -> dict[str, Any]:
    context = json.loads(CDK_JSON.read_text())["context"]
    minimal_app_seconds()  # warm the jsii runtime so neither side pays the first start
    minimal = minimal_app_seconds()
    full, full_counts = full_app_seconds(context)
    one, one_counts = full_app_seconds(with_groups(context, 1))
    fifty, fifty_counts = full_app_seconds(with_groups(context, 50))
    largest = max(fifty_counts.items(), key=lambda kv: kv[1])
    return {
        "minimal_s": minimal,
        "full_s": full,
        "full_vs_minimal": full / minimal,
        "full_resources": full_counts,
        "groups1_s": one,
        "groups50_s": fifty,
        "groups50_vs_1": fifty / one,
        "groups50_largest_stack": largest,
        "groups1_resources": sum(one_counts.values()),
        "groups50_resources": sum(fifty_counts.values()),
    }


def report(figures: dict[str, Any]) -> str:
    name, count = figures["groups50_largest_stack"]
    return "\n".join(
        [
            "== synth",
            f"minimal one-bucket app: {figures['minimal_s']:.2f}s; full app: {figures['full_s']:.2f}s "
            f"-> ratio {figures['full_vs_minimal']:.1f}x",
            f"1 group: {figures['groups1_s']:.2f}s ({figures['groups1_resources']} resources); "
            f"50 groups: {figures['groups50_s']:.2f}s ({figures['groups50_resources']} resources) "
            f"-> ratio {figures['groups50_vs_1']:.1f}x",
            f"largest stack at 50 groups: {name} with {count} resources "
            f"({count / CLOUDFORMATION_RESOURCE_LIMIT:.0%} of CloudFormation's {CLOUDFORMATION_RESOURCE_LIMIT})",
        ]
    )
