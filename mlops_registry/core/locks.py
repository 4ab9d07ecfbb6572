"""Per-group promotion lock: a conditional write with an expiry, so promotions to Production are serialized."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.core.aws import client
from mlops_registry.core.errors import PromotionLockHeld


class PromotionLock:
    def __init__(self, table_name: str, ttl_seconds: int, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self._ddb = dynamodb or client("dynamodb")

    def acquire(self, group: str, owner: str, package_arn: str) -> None:
        """Take the group's lock for ``owner`` (an execution ARN); re-entrant for the same owner."""
        now = int(time.time())
        try:
            self._ddb.put_item(
                TableName=self.table_name,
                Item={
                    "group_name": {"S": group},
                    "owner": {"S": owner},
                    "package_arn": {"S": package_arn},
                    "acquired_at": {"N": str(now)},
                    "expires_at": {"N": str(now + self.ttl_seconds)},
                },
                ConditionExpression="attribute_not_exists(group_name) OR expires_at < :now OR #o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":owner": {"S": owner}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise PromotionLockHeld(f"another promotion of group {group!r} to Production is in progress") from error
            raise

    def release(self, group: str, owner: str) -> bool:
        """Release the lock if ``owner`` holds it; False when it does not (already released or expired)."""
        try:
            self._ddb.delete_item(
                TableName=self.table_name,
                Key={"group_name": {"S": group}},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
