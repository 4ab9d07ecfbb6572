"""Segregation of duties: who may decide a review-board approval.

A decision counts only when it comes from a review-board principal (the environment's configured IAM
roles/users, or the role the stack creates for the board) **and** not from the version's registrant
(four eyes). Identities come from SageMaker (``CreatedBy`` / ``LastModifiedBy`` of the package), which
records them from the caller's credentials, never from what a caller claims.

Matching rules (documented in docs/security.md):
- board membership is decided on the IAM principal: an assumed-role session
  ``arn:aws:sts::A:assumed-role/R/session`` is principal ``arn:aws:iam::A:role/R`` (role paths are
  not part of a session ARN, so roles compare by account and name); a user by its ARN;
- "the same person" compares the human behind the call: a Studio user profile, else the session's
  source identity, else the role session name, else the IAM user name (account included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SESSION = re.compile(r"^arn:(?P<p>aws[a-z-]*):sts::(?P<a>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)$")
_ROLE = re.compile(r"^arn:(?P<p>aws[a-z-]*):iam::(?P<a>\d{12}):role/(?:.*/)?(?P<role>[^/]+)$")
_USER = re.compile(r"^arn:(?P<p>aws[a-z-]*):(?:iam|sts)::(?P<a>\d{12}):user/(?:.*/)?(?P<user>[^/]+)$")
_PROFILE = re.compile(
    r"^arn:(?P<p>aws[a-z-]*):sagemaker:[a-z0-9-]+:(?P<a>\d{12}):user-profile/(?P<d>[^/]+)/(?P<n>[^/]+)$"
)


@dataclass(frozen=True)
class Identity:
    """One caller as SageMaker recorded it."""

    arn: str  # what the ledger shows (the session, user or Studio profile ARN)
    principal: str | None  # ("role"|"user", partition, account, name) flattened: role:aws:123:Board
    person: str | None  # the human: account + profile / source identity / session / user name

    @property
    def known(self) -> bool:
        return self.principal is not None or self.person is not None


def principal_key(arn: str) -> str | None:
    """The IAM principal an ARN acts as (``role:<partition>:<account>:<name>`` / ``user:...``)."""
    for pattern, kind in ((_SESSION, "role"), (_ROLE, "role")):
        match = pattern.match(arn or "")
        if match:
            return f"{kind}:{match['p']}:{match['a']}:{match['role']}"
    match = _USER.match(arn or "")
    if match:
        return f"user:{match['p']}:{match['a']}:{match['user']}"
    return None


def identity_of(user_context: dict[str, Any] | None) -> Identity:
    """An ``Identity`` from a SageMaker ``UserContext`` (``CreatedBy`` / ``LastModifiedBy``)."""
    context = user_context or {}
    iam = context.get("IamIdentity") or {}
    iam_arn = str(iam.get("Arn") or "")
    profile_arn = str(context.get("UserProfileArn") or "")
    principal = principal_key(iam_arn) if iam_arn else None
    person: str | None = None
    profile = _PROFILE.match(profile_arn)
    session = _SESSION.match(iam_arn)
    user = _USER.match(iam_arn)
    if profile:
        person = f"{profile['a']}:studio:{profile['d']}/{profile['n']}"
    elif iam.get("SourceIdentity"):
        account = (session or user or _ROLE.match(iam_arn) or {"a": "?"})["a"]  # type: ignore[index]
        person = f"{account}:source:{iam['SourceIdentity']}"
    elif session:
        person = f"{session['a']}:name:{session['session'].lower()}"
    elif user:
        person = f"{user['a']}:name:{user['user'].lower()}"
    # The ledger names the human where SageMaker knows one (a Studio user profile), else the session.
    shown = profile_arn or iam_arn or str(context.get("UserProfileName") or "")
    return Identity(arn=shown, principal=principal, person=person)


@dataclass(frozen=True)
class Verdict:
    authorized: bool
    reason: str


class ReviewBoard:
    """The principals allowed to decide, and the four-eyes rule."""

    def __init__(self, principals: list[str] | tuple[str, ...]) -> None:
        keys = {principal_key(arn): arn for arn in principals}
        if None in keys:
            raise ValueError(f"review board principals must be IAM role or user ARNs, got {list(principals)!r}")
        self.principals = tuple(principals)
        self._keys = set(keys)

    def authorize(self, decider: Identity, registrant: Identity) -> Verdict:
        if not decider.known:
            return Verdict(False, "the decision carries no identity SageMaker recorded")
        if decider.principal not in self._keys:
            return Verdict(
                False, f"{decider.arn or 'unknown'} is not a review-board principal ({', '.join(self.principals)})"
            )
        same_principal_session = decider.arn and decider.arn == registrant.arn
        if same_principal_session or (decider.person is not None and decider.person == registrant.person):
            return Verdict(False, f"{decider.arn} registered this version; four eyes: the registrant cannot decide")
        return Verdict(True, f"{decider.arn} is a review-board principal and not the registrant")
