"""The named people of the sandbox and the demo, as IAM identities of the emulated account.

- ``alice``, a data scientist: an IAM user (path ``/data-scientists/``) with access keys.
- ``bob``, on the review board: an IAM user (path ``/review-board/``) whose profile holds a session of
  the review-board principal (the role the stack creates, or the environment's first configured
  board role), assumed with session name and source identity ``bob``. The pipeline accepts a decision
  only from a board principal (docs/security.md), so bob decides as that session, exactly as a board
  member does in an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_registry.core.names import review_board_role_arn


@dataclass(frozen=True)
class Person:
    name: str
    role: str  # what they do, for people reading the sandbox's output
    path: str
    board: bool = False


PEOPLE = (
    Person("alice", "data scientist", "/data-scientists/"),
    Person("bob", "review board", "/review-board/", board=True),
)


def board_role_arn(config: Any, account: str) -> str:
    """The role a board member assumes: the first configured board role, else the stack's own."""
    for principal in getattr(config, "review_board_principals", ()):
        if ":role/" in principal:
            return str(principal)
    return review_board_role_arn(config.name, account)


def create_people(session: Any, config: Any, account: str) -> dict[str, dict[str, str]]:
    """Create every person; returns name → {arn, role, access_key_id, secret_access_key[, session_token]}."""
    iam = session.client("iam")
    created: dict[str, dict[str, str]] = {}
    for person in PEOPLE:
        user = iam.create_user(UserName=person.name, Path=person.path)["User"]
        key = iam.create_access_key(UserName=person.name)["AccessKey"]
        credentials = {
            "arn": user["Arn"],
            "role": person.role,
            "access_key_id": key["AccessKeyId"],
            "secret_access_key": key["SecretAccessKey"],
        }
        if person.board:
            sts = session.client(
                "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
            )
            assumed = sts.assume_role(
                RoleArn=board_role_arn(config, account),
                RoleSessionName=person.name,
                SourceIdentity=person.name,
                DurationSeconds=43200,
            )
            token = assumed["Credentials"]
            credentials.update(
                arn=assumed["AssumedRoleUser"]["Arn"],
                access_key_id=token["AccessKeyId"],
                secret_access_key=token["SecretAccessKey"],
                session_token=token["SessionToken"],
            )
        created[person.name] = credentials
    return created


def role_session(session: Any, role_arn: str, name: str) -> dict[str, str]:
    """Credentials of a session of ``role_arn`` named ``name`` (the emulator's STS), as a profile entry."""
    assumed = session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=name)
    token = assumed["Credentials"]
    return {
        "arn": assumed["AssumedRoleUser"]["Arn"],
        "access_key_id": token["AccessKeyId"],
        "secret_access_key": token["SecretAccessKey"],
        "session_token": token["SessionToken"],
    }


def credentials_file(people: dict[str, dict[str, str]]) -> str:
    """An AWS shared-credentials file with one profile per person."""
    lines: list[str] = []
    for name, person in people.items():
        lines += [
            f"[{name}]",
            f"aws_access_key_id = {person['access_key_id']}",
            f"aws_secret_access_key = {person['secret_access_key']}",
        ]
        if "session_token" in person:
            lines.append(f"aws_session_token = {person['session_token']}")
        lines.append("")
    return "\n".join(lines)
