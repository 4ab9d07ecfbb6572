"""``registry approve`` / ``registry reject``: the review board's decision, exactly as in SageMaker Studio.

The command sets the version's approval status (with the reason as its approval description) using
the caller's own credentials; SageMaker records who did it and emits the state change, and the
pipeline's dispatcher decides: a review-board principal who did not register the version resumes the
waiting execution; anyone else is refused (status set back, ``unauthorized_approval`` in the ledger,
the board notified). The board never holds task tokens, and the identity the pipeline acts on is the
one SageMaker recorded, not one the command reports. ``--wait`` follows the dispatcher's verdict and
then the execution.
"""

from __future__ import annotations

import time
from typing import Any

from mlops_registry.cli.context import CliContext
from mlops_registry.cli.errors import EXIT_ERROR, EXIT_OK, NotFoundError, UsageError
from mlops_registry.cli.output import poll_delay, render_fields
from mlops_registry.core.contracts import APPROVED, PENDING_APPROVAL, REJECTED

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def add_parsers(subparsers: Any, add_common: Any) -> None:
    for name, decision, verb in (("approve", APPROVED, "approve"), ("reject", REJECTED, "reject")):
        parser = subparsers.add_parser(name, help=f"{verb} a version awaiting the review board")
        target = parser.add_argument_group("the version (--arn, or --group with --version)")
        target.add_argument("--arn", help="model package ARN")
        target.add_argument("--group", "-g", help="managed model package group")
        target.add_argument("--version", type=int, help="version number in the group")
        parser.add_argument("--reason", required=True, help="why (recorded in the audit ledger)")
        parser.add_argument("--wait", action="store_true", help="wait until the promotion execution finishes")
        parser.add_argument("--timeout", type=float, default=900.0, help="seconds --wait waits (default 900)")
        add_common(parser)
        parser.set_defaults(handler=run, decision=decision)


def run(ctx: CliContext) -> int:
    args = ctx.args
    if not args.reason.strip():
        raise UsageError("--reason must not be empty: the audit ledger records why")
    view = ctx.resolve_package(args.arn, args.group, args.version)
    pending = ctx.approvals.get(view.arn)
    if pending is None:
        raise NotFoundError(
            f"no review-board approval is pending for {view.group} v{view.version} "
            f"(stage {view.stage or '-'}/{view.stage_status or '-'}, approval {view.approval_status})",
            hint=f"`registry status --group {view.group}` shows which versions await the board",
        )
    actor = ctx.aws.caller_arn
    ctx.progress.step(f"{args.decision.lower()} {view.group} v{view.version} as {actor}")
    ctx.aws.client("sagemaker").update_model_package(
        ModelPackageArn=view.arn, ModelApprovalStatus=args.decision, ApprovalDescription=args.reason.strip()[:1024]
    )
    data: dict[str, Any] = {
        "package_arn": view.arn,
        "group": view.group,
        "version": view.version,
        "decision": args.decision,
        "actor": actor,
        "reason": args.reason.strip(),
        "execution_arn": pending.execution_arn,
    }
    code = EXIT_OK
    if args.wait:
        deadline = time.monotonic() + args.timeout
        verdict = _wait_for_verdict(ctx, view.arn, args.timeout)
        data["verdict"] = verdict
        if verdict == "refused":
            ctx.progress.warn(
                "the pipeline refused the decision (see `registry history`): not a review-board "
                "principal, or the version's registrant"
            )
            code = EXIT_ERROR
        elif verdict == "resumed":
            status = _wait(ctx, pending.execution_arn, max(deadline - time.monotonic(), 0.0))
            after = ctx.registry.describe(view.arn)
            data.update({"execution_status": status, "stage": after.stage, "stage_status": after.stage_status})
            if status not in ("SUCCEEDED", "RUNNING"):
                code = EXIT_ERROR
    ctx.emit(
        data,
        lambda out: render_fields(
            f"{args.decision} {view.group} v{view.version}", [(k, v) for k, v in data.items() if k != "group"], out
        ),
    )
    return code


def _wait_for_verdict(ctx: CliContext, package_arn: str, timeout: float) -> str:
    """``resumed`` once the pipeline claimed the approval, ``refused`` once it set the status back,
    ``pending`` when neither happened within ``timeout``."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    polls = 0
    while True:
        if ctx.approvals.get(package_arn) is None:
            ctx.progress.step("the pipeline accepted the decision")
            return "resumed"
        if ctx.registry.describe(package_arn).approval_status == PENDING_APPROVAL:
            return "refused"
        if time.monotonic() >= deadline:
            ctx.progress.warn(f"no verdict from the pipeline after {timeout:.0f}s")
            return "pending"
        ctx.progress.tick("waiting for the pipeline to accept the decision", started)
        time.sleep(poll_delay(polls))
        polls += 1


def _wait(ctx: CliContext, execution_arn: str, timeout: float) -> str:
    sfn = ctx.aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    polls = 0
    while True:
        status = str(sfn.describe_execution(executionArn=execution_arn)["status"])
        if status in TERMINAL:
            ctx.progress.step(f"promotion execution {status.lower()}")
            return status
        if time.monotonic() >= deadline:
            ctx.progress.warn(f"still {status.lower()} after {timeout:.0f}s; not waiting any longer")
            return status
        ctx.progress.tick(f"waiting for the promotion execution ({status.lower()})", started)
        time.sleep(poll_delay(polls))
        polls += 1
