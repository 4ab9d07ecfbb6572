"""``registry history --group G [--at TIME]``: the audit ledger; with ``--at``, who served and who approved."""

from __future__ import annotations

from typing import Any

from mlops_registry.cli.context import CliContext
from mlops_registry.cli.errors import EXIT_OK, NotFoundError, UsageError
from mlops_registry.cli.output import render_fields, render_table
from mlops_registry.core.ledger import normalise_time, served_at

COLUMNS = [
    ("at", "AT"),
    ("version", "VERSION"),
    ("from_stage", "FROM"),
    ("to_stage", "TO"),
    ("decision", "DECISION"),
    ("actor", "ACTOR"),
    ("reason", "REASON"),
]


def add_parsers(subparsers: Any, add_common: Any) -> None:
    parser = subparsers.add_parser("history", help="the audit ledger of a group; --at: who served at that time")
    parser.add_argument("--group", "-g", required=True, help="managed model package group")
    parser.add_argument("--at", metavar="TIME", help="ISO-8601 time (UTC unless an offset is given)")
    parser.add_argument("--version", type=int, help="only this version's entries")
    parser.add_argument("--limit", type=int, help="only the newest N entries")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(ctx: CliContext) -> int:
    group = ctx.args.group
    ctx.ensure_managed(group)
    if ctx.args.at:
        return _served_at(ctx, group, ctx.args.at)
    ctx.progress.step(f"reading the audit ledger of {group}")
    entries = ctx.ledger.history(group)
    if ctx.args.version is not None:
        entries = [e for e in entries if e.version == ctx.args.version]
    if ctx.args.limit:
        entries = entries[-ctx.args.limit :]
    rows = [e.as_dict() for e in entries]

    def table(out: Any) -> None:
        if rows:
            render_table(rows, COLUMNS, out)
        else:
            out.write(f"no ledger entries for {group}\n")

    ctx.emit({"group": group, "entries": rows}, table)
    return EXIT_OK


def _served_at(ctx: CliContext, group: str, at: str) -> int:
    try:
        moment = normalise_time(at)
    except ValueError as error:
        raise UsageError(f"--at {at!r} is not an ISO-8601 time ({error})", hint="e.g. 2026-03-01T12:00:00Z") from error
    ctx.progress.step(f"looking up what served {group} in Production at {moment}")
    served = served_at(ctx.ledger, group, moment)
    if served is None:
        raise NotFoundError(f"no version of {group!r} was in Production at {moment}")
    entry, approved_by, approved_at = served.entry, served.approved_by, served.approved_at
    data = {
        "group": group,
        "at": moment,
        "version": entry.version,
        "package_arn": entry.package_arn,
        "in_production_since": entry.at,
        "approved_by": approved_by,
        "approved_at": approved_at,
        "reason": entry.reason,
        "decision": entry.decision,
        "actor": entry.actor,
        "execution_arn": entry.execution_arn,
    }
    ctx.emit(
        data,
        lambda out: render_fields(
            f"{group} at {moment}",
            [
                ("version", f"v{entry.version}"),
                ("package", entry.package_arn),
                ("in production since", entry.at),
                ("approved by", approved_by),
                ("approved at", approved_at),
                ("entered by", f"{entry.decision} ({entry.actor})"),
                ("reason", entry.reason),
                ("execution", entry.execution_arn),
            ],
            out,
        ),
    )
    return EXIT_OK
