"""``registry rollback --group G --reason R``: the serving rollback (``serving.rollback.rollback_group``).

The serving module is imported only when the command runs, so the CLI stays light and works in an
installation without it; the rollback code builds its own clients, so it runs with this session's
region, profile and endpoint exported to the environment.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

from registry_cli.context import CliContext
from registry_cli.errors import EXIT_OK, CliError, NotFoundError, UsageError
from registry_cli.output import render_fields


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
    try:
        from serving.errors import NoPreviousVersionError, NoProductionVersionError  # type: ignore[import-not-found,unused-ignore]
        from serving.rollback import rollback_group  # type: ignore[import-not-found,unused-ignore]
    except ImportError as error:
        raise CliError(
            f"rollback is not available in this installation ({error})",
            hint="the serving package (lambdas/serving/rollback.py) provides it",
        ) from error
    actor = ctx.aws.caller_arn
    ctx.progress.step(f"rolling back {group} as {actor}")
    started = time.monotonic()

    def sleep(seconds: float) -> None:  # the rollback polls its stack update: report while it waits
        ctx.progress.tick(f"waiting for the serving stack of {group} to settle", started)
        time.sleep(seconds)

    extra: dict[str, Any] = {"sleep": sleep} if "sleep" in inspect.signature(rollback_group).parameters else {}
    with ctx.aws.exported_environment():
        try:
            result = rollback_group(group, actor, ctx.args.reason.strip(), env_name=ctx.env_name, **extra)
        except (NoProductionVersionError, NoPreviousVersionError) as error:
            raise NotFoundError(str(error), hint=f"`registry history --group {group}` shows what served") from error
    data = dict(result) if isinstance(result, dict) else {"result": result}
    data.setdefault("group", group)
    data.setdefault("actor", actor)
    ctx.emit(data, lambda out: render_fields(f"rollback of {group}", list(data.items()), out))
    return EXIT_OK
