"""The ports every service depends on: small Protocols the boto3 adapters satisfy in production and
in-memory fakes satisfy in unit tests.

A service (``promotion.approval``, ``promotion.gates.service``, ``promotion.lifecycle``,
``mlops_registry.core.rollback``, ...) takes these, never a boto3 client; a handler builds the
adapters (``ModelRegistry``, ``Ledger``, ``PromotionLock``, ``ApprovalStore``, ...) and passes them in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mlops_registry.core.approvals import Decision, PendingApproval, RecordedRequest
    from mlops_registry.core.ledger import LedgerEntry
    from mlops_registry.core.model_registry import PackageView

# (subject, body) -> message id: the notification topic (``mlops_registry.core.notifier.topic``).
Notify = Callable[[str, dict[str, Any]], Any]


class Registry(Protocol):
    """The model registry (``mlops_registry.core.model_registry.ModelRegistry``)."""

    def describe(self, package_arn: str) -> PackageView: ...

    def current_production(self, group: str, exclude: str | None = None) -> PackageView | None: ...

    def set_lifecycle(
        self,
        package_arn: str,
        stage: str,
        status: str,
        description: str,
        approval_status: str | None = None,
        approval_description: str | None = None,
        customer_metadata: dict[str, str] | None = None,
    ) -> None: ...


class LedgerAppender(Protocol):
    """The write side of the audit ledger (``mlops_registry.core.ledger.Ledger``)."""

    def append(self, entry: LedgerEntry) -> LedgerEntry: ...

    def append_once(self, entry: LedgerEntry) -> bool: ...


class Lock(Protocol):
    """The per-group promotion lock (``mlops_registry.core.locks.PromotionLock``)."""

    def acquire(self, group: str, owner: str, package_arn: str) -> None: ...

    def release(self, group: str, owner: str) -> bool: ...


class ApprovalRequests(Protocol):
    """The review-board approval store, request side (``mlops_registry.core.approvals.ApprovalStore``)."""

    def request(self, pending: PendingApproval, timeout_hours: int) -> RecordedRequest: ...

    def mark_notified(self, package_arn: str, execution_arn: str) -> None: ...


class ApprovalDecisions(Protocol):
    """The review-board approval store, decision side (``mlops_registry.core.approvals.ApprovalStore``)."""

    def get(self, package_arn: str) -> PendingApproval | None: ...

    def claim(self, package_arn: str, decision: Decision, actor: str) -> bool: ...

    def note_unauthorized(self, package_arn: str, modified_at: str) -> bool: ...


class TaskTokens(Protocol):
    """Resumes a Step Functions task waiting for its token (``promotion.adapters.StepFunctionsExecutions``)."""

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> None: ...


class ReportReader(Protocol):
    """Reads a JSON evidence document (``mlops_registry.core.reports.read_json_report``)."""

    def __call__(self, uri: str | None, what: str) -> dict[str, Any]: ...
