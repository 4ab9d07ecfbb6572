"""``registry groups``: the managed groups and their current Production version."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.cli.config import InvalidPolicyError
from mlops_registry.cli.context import NOT_FOUND_CODES, CliContext
from mlops_registry.cli.errors import EXIT_OK
from mlops_registry.core.contracts import STAGE_PRODUCTION
from mlops_registry.core.ledger import now_iso

COLUMNS = [
    ("group", "GROUP"),
    ("deployment", "DEPLOYMENT"),
    ("risk_rating", "RISK"),
    ("versions", "VERSIONS"),
    ("production_version", "PRODUCTION"),
    ("production_since", "SINCE"),
    ("production_arn", "PRODUCTION ARN"),
]


def add_parsers(subparsers: Any, add_common: Any) -> None:
    parser = subparsers.add_parser("groups", help="managed groups and their current Production version")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(ctx: CliContext) -> int:
    rows = []
    sm = ctx.aws.client("sagemaker")
    for name in ctx.managed_groups:
        ctx.progress.step(f"reading group {name}")
        row: dict[str, Any] = {
            "group": name,
            "description": None,
            "deployment": None,
            "risk_rating": None,
            "policy_error": None,
            "exists": True,
            "versions": None,
            "production_version": None,
            "production_arn": None,
            "production_since": None,
        }
        try:
            policy = ctx.group_config(name)
            row.update(
                description=policy.description, deployment=policy.deployment.mode, risk_rating=policy.risk_rating
            )
        except InvalidPolicyError as error:  # listed, named and reported; every other group still shows
            row.update(deployment="(invalid policy)", policy_error=str(error))
            ctx.progress.warn(str(error))
        try:
            sm.describe_model_package_group(ModelPackageGroupName=name)
        except ClientError as error:
            if error.response["Error"]["Code"] not in NOT_FOUND_CODES:
                raise
            row["exists"] = False
            row["production_version"] = "(group not deployed)"
            rows.append(row)
            continue
        row["versions"] = len(ctx.registry.version_arns(name))
        production = ctx.registry.current_production(name)
        if production is not None:
            row["production_version"] = production.version
            row["production_arn"] = production.arn
            row["production_since"] = _since(ctx, name, production.arn)
        rows.append(row)
    ctx.emit({"environment": ctx.env_name, "groups": rows}, lambda out: _table(ctx, rows, out))
    return EXIT_OK


def _since(ctx: CliContext, group: str, arn: str) -> str | None:
    """When the Production version entered Production: one query of the ledger's stage index."""
    try:
        entry = ctx.ledger.in_stage_at(group, STAGE_PRODUCTION, now_iso())
    except ClientError:
        return None
    return entry.at if entry is not None and entry.package_arn == arn else None


def _table(ctx: CliContext, rows: list[dict[str, Any]], out: Any) -> None:
    from mlops_registry.cli.output import render_table

    out.write(f"environment {ctx.env_name} ({ctx.aws.describe_target()})\n")
    shown = [{**row, "production_version": _version(row["production_version"])} for row in rows]
    render_table(shown, COLUMNS, out)


def _version(value: Any) -> Any:
    if value is None:
        return "none"
    return f"v{value}" if isinstance(value, int) else value
