"""In-memory fakes of the service ports (``mlops_registry.core.ports``) for unit tests.

They keep what the adapters would write (lifecycle updates, ledger entries, notifications, lock
holders) in plain lists and dicts, so a test states the expected outcome of a scenario directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mlops_registry.core.approvals import PendingApproval, RecordedRequest
from mlops_registry.core.config import GroupPolicy
from mlops_registry.core.errors import LedgerEntryExists, PromotionLockHeld, UnknownGroupError, UnknownPackageError
from mlops_registry.core.ledger import Ledger, LedgerEntry
from mlops_registry.core.model_registry import PackageView, production_version
from mlops_registry.core.stacks import StackView

ACCOUNT = "123456789012"


def package_arn(group: str, version: int) -> str:
    return f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:model-package/{group}/{version}"


def package(group: str, version: int, **fields: Any) -> PackageView:
    defaults: dict[str, Any] = {
        "approval_status": "PendingManualApproval",
        "stage": "Development",
        "stage_status": "InProgress",
        "created": datetime(2026, 1, version, tzinfo=UTC),
    }
    return PackageView(arn=package_arn(group, version), group=group, version=version, **{**defaults, **fields})


def policy(group: str) -> GroupPolicy:
    return GroupPolicy(
        name=group,
        features=("a",),
        metrics=({"name": "auc", "baseline": 0.7},),  # type: ignore[arg-type]
        fairness_waiver={"reason": "no people in this data set", "approved_by": "risk"},  # type: ignore[arg-type]
        deployment={"mode": "blue_green", "instance_type": "ml.m5.large"},  # type: ignore[arg-type]
        validation={"holdout": {"key": f"holdout/{group}.csv", "label_column": "y"}},  # type: ignore[arg-type]
    )


@dataclass
class FakeRegistry:
    packages: dict[str, PackageView] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def ensure_group(self, group: str) -> None:
        if not any(v.group == group for v in self.packages.values()):
            raise UnknownGroupError(f"model package group {group!r} does not exist")

    def add(self, view: PackageView) -> PackageView:
        self.packages[view.arn] = view
        return view

    def describe(self, package_arn: str) -> PackageView:
        if package_arn not in self.packages:
            raise UnknownPackageError(f"model package {package_arn} does not exist")
        return self.packages[package_arn]

    def current_production(self, group: str, exclude: str | None = None) -> PackageView | None:
        return production_version(v for v in self.packages.values() if v.group == group and v.arn != exclude)

    def set_approval(self, package_arn: str, status: str, description: str) -> None:
        self.updates.append({"arn": package_arn, "approval": status, "description": description})
        self.packages[package_arn] = replace(self.describe(package_arn), approval_status=status)

    def set_lifecycle(
        self,
        package_arn: str,
        stage: str,
        status: str,
        description: str,
        approval_status: str | None = None,
        approval_description: str | None = None,
        customer_metadata: dict[str, str] | None = None,
    ) -> None:
        view = self.describe(package_arn)
        self.updates.append({"arn": package_arn, "stage": stage, "status": status, "approval": approval_status})
        self.packages[package_arn] = replace(
            view,
            stage=stage,
            stage_status=status,
            approval_status=approval_status or view.approval_status,
            customer_metadata={**view.customer_metadata, **(customer_metadata or {})},
        )


@dataclass
class FakeLedger:
    entries: list[LedgerEntry] = field(default_factory=list)

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        if any(e.group == entry.group and e.entry_id == entry.entry_id for e in self.entries):
            raise LedgerEntryExists(entry.entry_id)
        self.entries.append(entry)
        return entry

    append_once = Ledger.append_once  # the real "already recorded" rule, over this fake's append

    def history(self, group: str) -> list[LedgerEntry]:
        return [e for e in self.entries if e.group == group]

    def entered(self, group: str, stage: str, *, before: str | None = None) -> list[LedgerEntry]:
        """Like the ``ByStageEntry`` index: entered/rolled_back entries into ``stage``, newest first."""
        found = [
            e
            for e in self.entries
            if e.group == group and e.to_stage == stage and e.decision in ("entered", "rolled_back")
            and (before is None or e.at <= before)
        ]  # fmt: skip
        return sorted(found, key=lambda e: e.at, reverse=True)


@dataclass
class FakeTopic:
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, subject: str, body: dict[str, Any]) -> str:
        self.messages.append((subject, body))
        return f"message-{len(self.messages)}"


@dataclass
class FakeLock:
    holders: dict[str, str] = field(default_factory=dict)
    released: list[tuple[str, str]] = field(default_factory=list)

    def acquire(self, group: str, owner: str, package_arn: str) -> None:
        if self.holders.get(group, owner) != owner:
            raise PromotionLockHeld(f"group {group} is held by {self.holders[group]}")
        self.holders[group] = owner

    def release(self, group: str, owner: str) -> bool:
        self.released.append((group, owner))
        if self.holders.get(group) == owner:
            del self.holders[group]
            return True
        return False


@dataclass
class FakeApprovalStore:
    """Keyed by package ARN like the table: one request per execution, the first attempt's time kept."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def request(self, pending: PendingApproval, timeout_hours: int) -> RecordedRequest:
        stored = self.items.get(pending.package_arn)
        if stored is None or stored["pending"].execution_arn != pending.execution_arn:
            self.items[pending.package_arn] = {"pending": pending, "notified": False, "timeout": timeout_hours}
            return RecordedRequest(pending.requested_at, notified=False, first_attempt=True)
        stored["pending"] = replace(pending, requested_at=stored["pending"].requested_at)
        return RecordedRequest(stored["pending"].requested_at, notified=stored["notified"], first_attempt=False)

    def mark_notified(self, package_arn: str, execution_arn: str) -> None:
        assert self.items[package_arn]["pending"].execution_arn == execution_arn
        self.items[package_arn]["notified"] = True

    def get(self, package_arn: str) -> PendingApproval | None:
        stored = self.items.get(package_arn)
        return None if stored is None or stored.get("decision") else stored["pending"]

    def claim(self, package_arn: str, decision: str, actor: str) -> bool:
        if self.get(package_arn) is None:
            return False
        self.items[package_arn].update(decision=decision, decided_by=actor)
        return True

    def note_unauthorized(self, package_arn: str, modified_at: str) -> bool:
        stored = self.items.get(package_arn)
        refused = stored.setdefault("refused", set()) if stored is not None else None
        if refused is None or modified_at in refused:
            return False
        refused.add(modified_at)
        return True


@dataclass
class FakeExecutions:
    """The promotion state machine: executions by name (their input and status) and resumed task tokens."""

    state_machine_arn: str = f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:promotion"
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def execution_arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, name: str, payload: dict[str, Any]) -> tuple[bool, str]:
        arn = self.execution_arn(name)
        if arn in self.executions:
            return False, arn
        self.executions[arn] = {"executionArn": arn, "status": "RUNNING", "input": json.dumps(payload)}
        return True, arn

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        return self.executions.get(execution_arn)

    def ended(self, status: str) -> list[dict[str, Any]]:
        return [e for e in self.executions.values() if e["status"] == status]

    def send_task_success(self, task_token: str, output: dict[str, Any]) -> None:
        self.resumed.append((task_token, output))


@dataclass
class FakeModelCards:
    stages: dict[str, list[str]] = field(default_factory=dict)

    def ensure(self, package_arn: str, risk_rating: str, fairness_waiver: Any = None) -> None:
        self.stages.setdefault(package_arn, ["Draft"])

    def advance(self, package_arn: str, stage: str) -> None:
        self.stages.setdefault(package_arn, []).append(stage)


@dataclass
class FakeBaselineStore:
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def write(self, group: str, version: int, document: Any) -> str:
        uri = f"s3://artifacts/baselines/{group}/{version}/performance.json"
        self.documents[uri] = dict(document)
        return uri


@dataclass
class FakeStacks:
    """A serving stack whose next update ends in ``outcome`` (a CloudFormation stack status)."""

    stacks: dict[str, StackView] = field(default_factory=dict)
    outcome: str = "UPDATE_COMPLETE"
    deployed: list[tuple[str, dict[str, str], str]] = field(default_factory=list)

    def describe(self, stack_name: str) -> StackView:
        return self.stacks[stack_name]

    def deploy(self, stack_name: str, target: dict[str, str], role_arn: str) -> bool:
        self.deployed.append((stack_name, target, role_arn))
        view = self.stacks[stack_name]
        parameters = {**view.parameters, **target} if self.outcome == "UPDATE_COMPLETE" else view.parameters
        self.stacks[stack_name] = replace(view, status=self.outcome, parameters=parameters)
        return True

    def failure(self, stack_name: str, since: datetime) -> dict[str, Any]:
        return {"reason": "Endpoint update failed: the new model does not start"}
