"""``registry rollback --group G --reason R``: ``mlops_registry.core.rollback`` through this session's clients.

The rollback service is imported only when the command runs (the CLI's start-up stays light).
"""

from __future__ import annotations

import time
from typing import Any

from mlops_registry.cli.context import CliContext
from mlops_registry.cli.errors import EXIT_OK, NotFoundError, UsageError
from mlops_registry.cli.output import render_fields


def add_parsers(subparsers: Any, add_common: Any) -> None:
    parser = subparsers.add_parser("rollback", help="put the group's previous version back in service")
    parser.add_argument("--group", "-g", required=True, help="managed model package group")
    parser.add_argument("--reason", required=True, help="why (recorded in the audit ledger)")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(ctx: CliContext) -> int:
    group = ctx.args.group
    if not ctx.args.reason.strip():
        raise UsageError("--reason must not be empty: the audit ledger records why")
    ctx.ensure_group_exists(group)
    from mlops_registry.core.errors import NoPreviousVersionError, NoProductionVersionError
    from mlops_registry.core.rollback import RollbackPorts, rollback_group

    actor = ctx.aws.caller_arn
    ctx.progress.step(f"rolling back {group} as {actor}")
    started = time.monotonic()

    def sleep(seconds: float) -> None:  # the rollback polls its stack update: report while it waits
        ctx.progress.tick(f"waiting for the serving stack of {group} to settle", started)
        time.sleep(seconds)

    try:
        result = rollback_group(
            group,
            actor,
            ctx.args.reason.strip(),
            sleep=sleep,
            ports=RollbackPorts.from_clients(ctx.env_name, ctx.aws.client),
        )
    except (NoProductionVersionError, NoPreviousVersionError) as error:
        raise NotFoundError(str(error), hint=f"`registry history --group {group}` shows what served") from error
    data = dict(result) if isinstance(result, dict) else {"result": result}
    data.setdefault("group", group)
    data.setdefault("actor", actor)
    ctx.emit(data, lambda out: render_fields(f"rollback of {group}", list(data.items()), out))
    return EXIT_OK
