"""``registry verify-ledger --group G``: recompute the group's hash chain and name the first broken link.

Exit 0 when the chain is intact (entries written before the chain existed are reported as the part
before the chain start, not an error), ``EXIT_LEDGER_BROKEN`` (5) when a link is broken: an entry
altered, removed, inserted, or the chain head not matching the last entry.
"""

from __future__ import annotations

from typing import Any

from mlops_registry.cli.context import CliContext
from mlops_registry.cli.errors import EXIT_LEDGER_BROKEN, EXIT_OK
from mlops_registry.cli.output import render_fields


def add_parsers(subparsers: Any, add_common: Any) -> None:
    parser = subparsers.add_parser(
        "verify-ledger", help="recompute a group's ledger hash chain; exit 5 naming the first broken link"
    )
    parser.add_argument("--group", "-g", required=True, help="managed model package group")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(ctx: CliContext) -> int:
    group = ctx.args.group
    ctx.ensure_managed(group)
    ctx.progress.step(f"verifying the audit ledger's hash chain of {group}")
    report = ctx.ledger.verify(group)

    def table(out: Any) -> None:
        head = report.head
        fields: list[tuple[str, Any]] = [
            ("result", "intact" if report.intact else "BROKEN"),
            ("entries", report.entries),
            ("chained", report.chained),
            ("before chain start", f"{report.legacy} (no hash; written before the chain existed)"),
            ("chain start", report.chain_start or "-"),
            ("head", f"seq {head.seq} {head.hash} ({head.entry_id})" if head else "-"),
        ]
        if report.broken:
            fields.append(("first broken link", report.broken.entry_id))
            fields.append(("version", report.broken.version if report.broken.version is not None else "-"))
            fields.append(("why", report.broken.reason))
        fields.extend(("note", note) for note in report.notes)
        render_fields(f"ledger chain of {group}", fields, out)

    ctx.emit(report.as_dict(), table)
    if not report.intact and report.broken is not None:
        ctx.stderr.write(
            f"error: the ledger of {group} is broken at {report.broken.entry_id}: {report.broken.reason}\n"
        )
        return EXIT_LEDGER_BROKEN
    return EXIT_OK
