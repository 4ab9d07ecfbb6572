"""``registry status --group G``: every version with its stage, stage status, approval and what serves."""

from __future__ import annotations

from typing import Any

from registry_cli.context import CliContext
from registry_cli.errors import EXIT_OK
from registry_cli.output import render_table
from registry_cli.serving import serving_state

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
    add_common(parser)
    parser.set_defaults(handler=run)


def run(ctx: CliContext) -> int:
    group = ctx.args.group
    ctx.ensure_group_exists(group)
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
        pending = ctx.approvals.get(arn) if view.stage == "Staging" else None
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

    ctx.emit(data, table)
    return EXIT_OK
