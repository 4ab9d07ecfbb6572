"""``registry``: operate the governed model registry.

    registry groups                                    managed groups and what is in Production
    registry register --group G --model-data S3 ...    register a version (validated locally first)
    registry status --group G                          versions, stages, approvals, what serves
    registry approve|reject --arn A --reason R         the review board's decision; resumes the pipeline
    registry history --group G [--at TIME]             the audit ledger; who served at TIME, approved by whom
    registry rollback --group G --reason R             put the previous version back in service
    registry describe --arn A                          one version: lineage, card, reports, serving, ledger
    registry verify-ledger --group G                   recompute the ledger's hash chain; name the first broken link
    registry completion bash|zsh|fish                  print a shell completion script

Exit codes: 0 ok, 1 other failure, 2 usage or validation error, 3 not found (group, version, ARN,
nothing pending), 4 AWS or the endpoint unreachable (or refusing the credentials), 5 verify-ledger
found a broken link in the ledger's hash chain.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TextIO

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from mlops_registry.cli import __version__, completion
from mlops_registry.cli.commands import approvals, describe, groups, history, register, rollback, status, verify_ledger
from mlops_registry.cli.context import CliContext
from mlops_registry.cli.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
)
from mlops_registry.core.errors import (
    ApprovalNotPendingError,
    InvalidEventError,
    RegistryError,
    ReportUnavailableError,
    UnknownGroupError,
    UnknownPackageError,
)
from mlops_registry.core.lineage import RegistrationError

AUTH_ERROR_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)

Command = Callable[[CliContext], int]


def _common_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options every subcommand takes; on subcommands they only override when given."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("common options")
    group.add_argument(
        "--output", "-o", choices=("table", "json", "yaml"), default=default("table"), help="data format on stdout"
    )
    group.add_argument(
        "--region",
        default=default(None),
        help="AWS region (default: AWS_REGION or the profile; with --config, its region)",
    )
    group.add_argument("--profile", default=default(None), help="AWS named profile")
    group.add_argument(
        "--endpoint-url",
        default=default(None),
        help="send every AWS call to this AWS-compatible endpoint (e.g. an emulator)",
    )
    group.add_argument("--env", default=default(None), help="registry environment (default: REGISTRY_ENV, else dev)")
    group.add_argument(
        "--config",
        default=default(None),
        metavar="PATH",
        help="read the managed groups from this cdk.json (or context JSON) instead of the deployed SSM parameters",
    )
    group.add_argument("--quiet", "-q", action="store_true", default=default(False), help="no progress on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registry",
        description="Operate the governed SageMaker model registry.",
        epilog="exit codes: 0 ok, 1 failure, 2 usage/validation, 3 not found, 4 AWS/endpoint unreachable, "
        "5 ledger chain broken",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (groups, register, status, approvals, history, rollback, describe, verify_ledger, completion):
        module.add_parsers(commands, lambda sub: _common_options(sub, suppress=True))
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run one command; its exit code. Without ``argv`` (the ``registry`` command, ``python -m
    mlops_registry.cli``) the process then ends at once (``exit_now``)."""
    if argv is None and stdout is None and stderr is None:
        exit_now(_run(None, sys.stdout, sys.stderr))
    return _run(argv, stdout or sys.stdout, stderr or sys.stderr)


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once stdout and stderr are flushed, skipping the interpreter's
    teardown: freeing the loaded AWS service models takes ~0.3 s, a third of a quick command. The CLI
    leaves no file open and no thread running, so nothing else is lost."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`registry ... | head`): nothing to write
            stream.flush()
    os._exit(code)


def _run(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help/--version (0) or a usage error (2)
        return int(exit_.code) if isinstance(exit_.code, int) else EXIT_USAGE
    context = CliContext(args=args, stdout=out, stderr=err)
    command: Command = args.handler
    try:
        return command(context)
    except KeyboardInterrupt:
        err.write("registry: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as error:  # every failure becomes one message and one exit code, here
        code, message, hint = classify(error, context)
        err.write(f"registry: error: {message}\n")
        if hint:
            err.write(f"registry: hint: {hint}\n")
        return code


def classify(error: BaseException, context: CliContext) -> tuple[int, str, str | None]:
    """(exit code, message, hint) of an exception; the one place errors are mapped."""
    if isinstance(error, CliError):
        return error.exit_code, str(error), error.hint
    if isinstance(error, RegistrationError):
        return EXIT_USAGE, "\n  - ".join(["the registration is invalid:", *error.problems]), None
    if isinstance(error, InvalidEventError | ReportUnavailableError):
        return EXIT_USAGE, str(error), None
    if isinstance(error, UnknownGroupError | UnknownPackageError):
        return EXIT_NOT_FOUND, str(error), None
    if isinstance(error, ApprovalNotPendingError):
        return EXIT_NOT_FOUND, str(error), "`registry status --group G` shows which versions await the board"
    if isinstance(error, RegistryError):  # e.g. DeploymentError, PromotionLockHeld: a message for the operator
        return EXIT_ERROR, f"{type(error).__name__}: {error}", None
    if isinstance(error, ProfileNotFound | NoRegionError):
        return EXIT_USAGE, str(error), None
    target = _target(context)
    if isinstance(error, ConnectionError | HTTPClientError):
        return EXIT_UNREACHABLE, f"cannot reach {target}: {error}", "check --endpoint-url/--region and the network"
    if isinstance(error, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return EXIT_UNREACHABLE, f"no usable AWS credentials for {target}: {error}", "set --profile or AWS credentials"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        operation = getattr(error, "operation_name", "?")
        detail = error.response.get("Error", {}).get("Message", "")
        if code in AUTH_ERROR_CODES:
            return EXIT_UNREACHABLE, f"{target} refused the credentials ({code}: {detail})", None
        if code == "ResourceNotFoundException" and operation in ("Query", "GetItem", "PutItem", "UpdateItem"):
            return (
                EXIT_NOT_FOUND,
                f"a registry table does not exist in {target} ({detail})",
                f"is the registry deployed for environment {_env(context)!r}?",
            )
        return EXIT_ERROR, f"AWS {operation} failed with {code}: {detail}", None
    if isinstance(error, BotoCoreError):
        return EXIT_ERROR, f"AWS call failed: {error}", None
    return EXIT_ERROR, f"unexpected {type(error).__name__}: {error}", None


def _target(context: CliContext) -> str:
    try:
        return context.aws.describe_target()
    except Exception:
        return str(getattr(context.args, "endpoint_url", None) or "AWS")


def _env(context: CliContext) -> str:
    try:
        return context.env_name
    except Exception:
        return str(getattr(context.args, "env", None) or "dev")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["EXIT_OK", "main", "build_parser"]
