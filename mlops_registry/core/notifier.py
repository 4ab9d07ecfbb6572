"""Publishes decisions to the notification topic (subject + a JSON body operators can parse)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mlops_registry.core.aws import client


def publish(topic_arn: str, subject: str, body: dict[str, Any], *, sns: Any | None = None) -> str:
    response = (sns or client("sns")).publish(
        TopicArn=topic_arn,
        Subject=subject[:100],
        Message=json.dumps(body, indent=2, sort_keys=True, default=str),
        MessageAttributes={
            "decision": {"DataType": "String", "StringValue": str(body.get("decision", "info"))},
            "group": {"DataType": "String", "StringValue": str(body.get("group", "-"))},
        },
    )
    return str(response["MessageId"])


def topic(topic_arn: str, *, sns: Any | None = None) -> Callable[[str, dict[str, Any]], str]:
    """The ``Notify`` port bound to one topic."""
    return lambda subject, body: publish(topic_arn, subject, body, sns=sns)
