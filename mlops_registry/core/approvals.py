"""The review-board approval store and the resume operation shared by the dispatcher and the CLI.

A waiting ``waitForTaskToken`` task stores its token here, keyed by model package ARN (the table is
encrypted with the registry's KMS key). Resuming claims the record with a conditional update first,
so a decision delivered twice (Studio event duplicates, CLI + Studio) resumes the execution once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from botocore.exceptions import ClientError

from mlops_registry.core.aws import client
from mlops_registry.core.contracts import APPROVED, REJECTED
from mlops_registry.core.errors import ApprovalNotPendingError, InvalidEventError

if TYPE_CHECKING:
    from mlops_registry.core.ports import ApprovalDecisions, TaskTokens

Decision = Literal["Approved", "Rejected"]


@dataclass(frozen=True)
class RecordedRequest:
    """What the store holds for an execution's approval request (the first attempt's time)."""

    requested_at: str
    notified: bool
    first_attempt: bool


@dataclass(frozen=True)
class PendingApproval:
    package_arn: str
    task_token: str
    execution_arn: str
    group: str
    version: int
    requested_at: str


class ApprovalStore:
    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._ddb = dynamodb or client("dynamodb")

    def put(self, pending: PendingApproval, timeout_hours: int) -> None:
        self._ddb.put_item(TableName=self.table_name, Item=self._item(pending, timeout_hours))

    def request(self, pending: PendingApproval, timeout_hours: int) -> RecordedRequest:
        """Store the execution's approval request once; a retried request task (same execution) keeps
        the first attempt's time and notification state and takes the retry's task token (the earlier
        attempt's token is dead once Step Functions retries). Raises ``ApprovalNotPendingError`` when
        this execution's approval was already decided."""
        try:
            self._ddb.put_item(
                TableName=self.table_name,
                Item=self._item(pending, timeout_hours),
                ConditionExpression="attribute_not_exists(package_arn) OR execution_arn <> :e",
                ExpressionAttributeValues={":e": {"S": pending.execution_arn}},
            )
            return RecordedRequest(pending.requested_at, notified=False, first_attempt=True)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        try:
            stored = self._ddb.update_item(
                TableName=self.table_name,
                Key={"package_arn": {"S": pending.package_arn}},
                UpdateExpression="SET task_token = :t",
                ConditionExpression="execution_arn = :e AND #s = :p",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":t": {"S": pending.task_token},
                    ":e": {"S": pending.execution_arn},
                    ":p": {"S": "PENDING"},
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ApprovalNotPendingError(
                    f"the approval for {pending.package_arn} in {pending.execution_arn} was already decided"
                ) from error
            raise
        return RecordedRequest(stored["requested_at"]["S"], notified="notified_at" in stored, first_attempt=False)

    def mark_notified(self, package_arn: str, execution_arn: str) -> None:
        """Remember that the board was told about this execution's request (a retry does not tell it again)."""
        self._ddb.update_item(
            TableName=self.table_name,
            Key={"package_arn": {"S": package_arn}},
            UpdateExpression="SET notified_at = :t",
            ConditionExpression="execution_arn = :e",
            ExpressionAttributeValues={":t": {"S": datetime.now(UTC).isoformat()}, ":e": {"S": execution_arn}},
        )

    @staticmethod
    def _item(pending: PendingApproval, timeout_hours: int) -> dict[str, Any]:
        expires = datetime.now(UTC) + timedelta(hours=timeout_hours, days=7)
        return {
            "package_arn": {"S": pending.package_arn},
            "task_token": {"S": pending.task_token},
            "execution_arn": {"S": pending.execution_arn},
            "group_name": {"S": pending.group},
            "version": {"N": str(pending.version)},
            "requested_at": {"S": pending.requested_at},
            "status": {"S": "PENDING"},
            "expires_at": {"N": str(int(expires.timestamp()))},
        }

    def get(self, package_arn: str) -> PendingApproval | None:
        item = self._ddb.get_item(
            TableName=self.table_name, Key={"package_arn": {"S": package_arn}}, ConsistentRead=True
        ).get("Item")
        if not item or item.get("status", {}).get("S") != "PENDING":
            return None
        return PendingApproval(
            package_arn=item["package_arn"]["S"],
            task_token=item["task_token"]["S"],
            execution_arn=item["execution_arn"]["S"],
            group=item["group_name"]["S"],
            version=int(item["version"]["N"]),
            requested_at=item["requested_at"]["S"],
        )

    def claim(self, package_arn: str, decision: Decision, actor: str) -> bool:
        """Mark the pending approval decided; False when somebody else decided it first."""
        try:
            self._ddb.update_item(
                TableName=self.table_name,
                Key={"package_arn": {"S": package_arn}},
                UpdateExpression="SET #s = :d, decided_by = :a, decided_at = :t",
                ConditionExpression="#s = :p",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":d": {"S": decision.upper()},
                    ":a": {"S": actor},
                    ":t": {"S": datetime.now(UTC).isoformat()},
                    ":p": {"S": "PENDING"},
                },
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def note_unauthorized(self, package_arn: str, modified_at: str) -> bool:
        """Claim the refusal of one unauthorized modification (``modified_at``: SageMaker's
        LastModifiedTime); False when that modification was already refused (a duplicate delivery)."""
        try:
            self._ddb.update_item(
                TableName=self.table_name,
                Key={"package_arn": {"S": package_arn}},
                UpdateExpression="ADD refused_modifications :m",
                ConditionExpression="attribute_exists(package_arn) AND NOT contains(refused_modifications, :v)",
                ExpressionAttributeValues={":m": {"SS": [modified_at]}, ":v": {"S": modified_at}},
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise


def resume_approval(
    store: ApprovalDecisions, package_arn: str, decision: str, actor: str, reason: str, tasks: TaskTokens
) -> PendingApproval:
    """Resume the execution waiting on ``package_arn`` with the board's decision.

    Raises ``ApprovalNotPendingError`` when nothing waits (or it was already decided), and
    ``InvalidEventError`` for a decision other than Approved/Rejected or an empty reason/actor.
    """
    if decision not in (APPROVED, REJECTED):
        raise InvalidEventError(f"decision: must be 'Approved' or 'Rejected', got {decision!r}")
    if not actor:
        raise InvalidEventError("actor: the approver's identity is required")
    if not reason or not reason.strip():
        raise InvalidEventError("reason: a reason is required for the audit trail")
    pending = store.get(package_arn)
    if pending is None:
        raise ApprovalNotPendingError(f"no approval is pending for {package_arn}")
    if not store.claim(package_arn, cast(Decision, decision), actor):
        raise ApprovalNotPendingError(f"the approval for {package_arn} was already decided")
    output = {
        "decision": decision,
        "actor": actor,
        "reason": reason.strip(),
        "decided_at": datetime.now(UTC).isoformat(),
    }
    tasks.send_task_success(pending.task_token, output)
    return pending
