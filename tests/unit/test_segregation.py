"""Who may decide an approval: board membership by IAM principal, four eyes by the person behind it.

Expected values are written from IAM's ARN formats (AWS docs: an assumed-role session is
``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``; role ARNs may carry a path; Studio user profiles
are ``...:user-profile/DOMAIN/NAME``), not from the code under test.
"""

from __future__ import annotations

import pytest

from mlops_registry.core.segregation import ReviewBoard, identity_of

BOARD_ROLE = "arn:aws:iam::123456789012:role/governance/ml-board"
RISK_OFFICER = "arn:aws:iam::123456789012:user/risk-officer"


def _session(role: str, session: str, account: str = "123456789012") -> dict[str, object]:
    return {"IamIdentity": {"Arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}"}}


BOARD = ReviewBoard([BOARD_ROLE, RISK_OFFICER])
DANA = _session("data-scientists", "dana")


@pytest.mark.parametrize(
    ("decider", "registrant", "authorized", "fragment"),
    [
        (_session("ml-board", "alice"), DANA, True, "is a review-board principal"),
        ({"IamIdentity": {"Arn": RISK_OFFICER}}, DANA, True, "is a review-board principal"),
        (DANA, DANA, False, "not a review-board principal"),
        (_session("data-scientists", "mallory"), DANA, False, "not a review-board principal"),
        (_session("ml-board", "alice", account="999999999999"), DANA, False, "not a review-board principal"),
        (_session("ml-board-2", "alice"), DANA, False, "not a review-board principal"),
        (_session("ml-board", "alice"), _session("ml-board", "alice"), False, "registered this version"),
        (_session("ml-board", "alice"), _session("data-scientists", "Alice"), False, "registered this version"),
        (
            {
                **_session("ml-board", "x"),
                "IamIdentity": {
                    "Arn": "arn:aws:sts::123456789012:assumed-role/ml-board/x",
                    "SourceIdentity": "alice@corp",
                },
            },
            {
                "IamIdentity": {
                    "Arn": "arn:aws:sts::123456789012:assumed-role/data-scientists/y",
                    "SourceIdentity": "alice@corp",
                }
            },
            False,
            "registered this version",
        ),
        (
            {
                "UserProfileArn": "arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-1/bob",
                **_session("ml-board", "SageMaker"),
            },
            {
                "UserProfileArn": "arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-1/dana",
                **_session("data-scientists", "SageMaker"),
            },
            True,
            "is a review-board principal",
        ),
        (
            {
                "UserProfileArn": "arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-1/dana",
                **_session("ml-board", "SageMaker"),
            },
            {
                "UserProfileArn": "arn:aws:sagemaker:eu-west-1:123456789012:user-profile/d-1/dana",
                **_session("data-scientists", "SageMaker"),
            },
            False,
            "registered this version",
        ),
        ({}, DANA, False, "no identity"),
        ({"UserProfileName": "someone"}, DANA, False, "no identity"),
    ],
    ids=[
        "board-session",
        "board-user",
        "registrant-data-scientist",
        "other-data-scientist",
        "board-role-name-in-another-account",
        "similar-role-name",
        "board-member-registered-with-board-role",
        "board-member-registered-with-another-role",
        "same-source-identity",
        "studio-board-profile",
        "studio-own-profile",
        "no-identity",
        "profile-name-only",
    ],
)
def test_who_may_decide(
    decider: dict[str, object], registrant: dict[str, object], authorized: bool, fragment: str
) -> None:
    verdict = BOARD.authorize(identity_of(decider), identity_of(registrant))
    assert verdict.authorized is authorized
    assert fragment in verdict.reason


def test_board_principals_must_be_iam_roles_or_users() -> None:
    with pytest.raises(ValueError, match="arn:aws:iam::123456789012:group/board"):
        ReviewBoard(["arn:aws:iam::123456789012:group/board"])
