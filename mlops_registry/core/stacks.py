"""What a serving stack's state means for a deployment, and the port its adapter satisfies.

Services (``serving.deployment``, ``mlops_registry.core.rollback``) depend on this module; the
CloudFormation adapter is ``mlops_registry.core.serving_stacks.ServingStacks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# The CloudFormation statuses a serving stack can be in, by what they mean for a deployment.
SETTLED_OK = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
ROLLED_BACK = frozenset({"UPDATE_ROLLBACK_COMPLETE"})
IN_PROGRESS = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "REVIEW_IN_PROGRESS",
        "IMPORT_IN_PROGRESS",
    }
)


@dataclass(frozen=True)
class StackView:
    name: str
    status: str
    parameters: dict[str, str] = field(default_factory=dict)
    status_reason: str | None = None

    @property
    def settled(self) -> bool:
        return self.status in SETTLED_OK or self.status in ROLLED_BACK

    def serves(self, target: dict[str, str]) -> bool:
        return all(self.parameters.get(key, "") == value for key, value in target.items())


class Stacks(Protocol):
    """A group's serving stack: read what it serves, change it, explain a failed update."""

    def describe(self, stack_name: str) -> StackView: ...

    def deploy(self, stack_name: str, target: dict[str, str], role_arn: str) -> bool: ...

    def failure(self, stack_name: str, since: datetime) -> dict[str, Any]: ...
