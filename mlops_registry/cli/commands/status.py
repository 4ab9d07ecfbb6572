"""``registry status --group G``: every version with its stage, stage status, approval and what serves.

``--watch`` refreshes every ``--interval`` seconds until Ctrl-C, or until no version is still moving
through the pipeline (every version is in Production or Archived, and none is in progress). Each
refresh is one table (the screen is cleared on a terminal), one JSON line, or one YAML document.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from mlops_registry.cli.context import CliContext
from mlops_registry.cli.errors import EXIT_OK, UsageError
from mlops_registry.cli.output import render_table, render_yaml, to_jsonable
from mlops_registry.cli.serving import serving_state
from mlops_registry.core.contracts import STAGE_ARCHIVED, STAGE_PRODUCTION, STAGE_STAGING

COLUMNS = [
    ("version", "VERSION"),
    ("stage", "STAGE"),
    ("stage_status", "STAGE STATUS"),
    ("approval", "APPROVAL"),
    ("serving", "SERVING"),
    ("created", "CREATED"),
    ("arn", "ARN"),
]


def add_parsers(subparsers: Any, add_common: Any) -> None:
    parser = subparsers.add_parser("status", help="versions of a group: stage, approval, what serves")
    parser.add_argument("--group", "-g", required=True, help="managed model package group")
    parser.add_argument("--limit", type=int, default=25, help="newest N versions (default 25; 0 = all)")
    parser.add_argument(
        "--watch",
        "-w",
        action="store_true",
        help="refresh until Ctrl-C or until every version is in a terminal stage (Production or Archived)",
    )
    parser.add_argument(
        "--interval", type=float, default=5.0, metavar="SECONDS", help="seconds between refreshes (default 5)"
    )
    add_common(parser)
    parser.set_defaults(handler=run)


TERMINAL_STAGES = (STAGE_PRODUCTION, STAGE_ARCHIVED)
CLEAR_SCREEN = "\x1b[H\x1b[2J"


def run(ctx: CliContext) -> int:
    group = ctx.args.group
    ctx.ensure_group_exists(group)
    if not ctx.args.watch:
        data, table = _snapshot(ctx, group)
        ctx.emit(data, table)
        return EXIT_OK
    if not ctx.args.interval > 0:
        raise UsageError(f"--interval {ctx.args.interval}: must be a positive number of seconds")
    try:
        while True:
            data, table = _snapshot(ctx, group)
            _emit_refresh(ctx, data, table)
            if data["versions"] and all(_terminal(row) for row in data["versions"]):
                ctx.progress.step(f"every version of {group} is in a terminal stage; stopped watching")
                return EXIT_OK
            time.sleep(ctx.args.interval)
    except KeyboardInterrupt:  # Ctrl-C is how a watch normally ends
        ctx.progress.step("stopped watching")
        return EXIT_OK


def _terminal(row: dict[str, Any]) -> bool:
    return row["stage"] in TERMINAL_STAGES and row["stage_status"] != "InProgress"


def _emit_refresh(ctx: CliContext, data: dict[str, Any], table: Any) -> None:
    out = ctx.stdout
    chosen = getattr(ctx.args, "output", "table")
    if chosen == "json":  # one document per line, so a consumer reads the stream line by line
        out.write(json.dumps(to_jsonable(data), default=str, separators=(",", ":")) + "\n")
    elif chosen == "yaml":
        render_yaml(data, out)
    else:
        if out.isatty():
            out.write(CLEAR_SCREEN)
        out.write(
            f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC (every {ctx.args.interval:g}s, Ctrl-C stops)\n"
        )
        table(out)
        out.write("\n")
    out.flush()


def _snapshot(ctx: CliContext, group: str) -> tuple[dict[str, Any], Any]:
    ctx.progress.step(f"listing versions of {group}")
    arns = ctx.registry.version_arns(group)
    if ctx.args.limit and ctx.args.limit > 0:
        arns = arns[: ctx.args.limit]
    sm = ctx.aws.client("sagemaker")
    ctx.progress.step(f"reading {len(arns)} version(s) and endpoint {ctx.endpoint_name(group)}")
    serving = serving_state(sm, ctx.endpoint_name(group))
    rows = []
    for arn in arns:
        view = ctx.registry.describe(arn)
        approval = view.approval_status
        pending = ctx.approvals.get(arn) if view.stage == STAGE_STAGING else None
        if pending is not None:
            approval = f"{approval} (board asked {pending.requested_at[:19]})"
        rows.append(
            {
                "version": view.version,
                "stage": view.stage,
                "stage_status": view.stage_status,
                "approval": approval,
                "approval_status": view.approval_status,
                "awaiting_board": pending is not None,
                "serving": serving.label_for(arn),
                "created": view.created,
                "model_card": view.customer_metadata.get("ModelCardArn"),
                "arn": arn,
            }
        )
    data = {"group": group, "environment": ctx.env_name, "endpoint": serving.as_dict(), "versions": rows}

    def table(out: Any) -> None:
        detail = f" ({serving.detail})" if serving.detail else ""
        out.write(f"group {group}  endpoint {serving.endpoint_name}: {serving.status}{detail}\n")
        if rows:
            render_table(rows, COLUMNS, out)
        else:
            out.write("no versions registered yet\n")

    return data, table
