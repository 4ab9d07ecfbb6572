"""The CLI's exit codes and typed errors; ``main`` maps every other exception onto them in one place."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNREACHABLE = 4
EXIT_LEDGER_BROKEN = 5  # verify-ledger: the hash chain has a broken link
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A failure with a message meant for the operator (no traceback)."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(CliError):
    """Invalid arguments or input documents (validated before anything is called)."""

    exit_code = EXIT_USAGE


class NotFoundError(CliError):
    """An unknown group, version, ARN, card, or nothing pending."""

    exit_code = EXIT_NOT_FOUND
