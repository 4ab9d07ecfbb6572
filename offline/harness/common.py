"""What every part of the harness shares: the emulated account, the identities, the harness's error."""

from __future__ import annotations

REGION = "eu-west-1"
ACCOUNT = "123456789012"
PARTITION = "aws"
LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/offline-lambda-role"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
HARNESS_ENV = "dev"


class HarnessError(AssertionError):
    """The emulated system did not behave as the test expected (timeouts, unexpected states)."""


def board_member(name: str) -> str:
    """A review-board member's session: the board role the stack creates, assumed as ``name``."""
    from mlops_registry.core.names import review_board_role_name

    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{review_board_role_name(HARNESS_ENV)}/{name}"


def data_scientist(name: str) -> str:
    """A data scientist's session (a role holding the data-scientists policy), assumed as ``name``."""
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{HARNESS_ENV}-data-scientists/{name}"


REGISTRANT = data_scientist("dana")
