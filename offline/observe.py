"""Observation helpers for the offline emulator: invoke a function, capture EventBridge events."""

from __future__ import annotations

import json
from typing import Any


def invoke(harness: Any, function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Invoke a deployed function synchronously; a function error raises with its message."""
    response = harness.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
    body = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise RuntimeError(f"{function_name} failed: {body}")
    return dict(body)


def capture_events(harness: Any, source: str, name: str = "offline-captured-events") -> str:
    """A rule on the default bus that copies events of ``source`` into a queue; returns the queue URL."""
    events = harness.session.client("events")
    queue_url = harness.sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = harness.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return str(queue_url)


def drain(harness: Any, queue_url: str) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    while True:
        messages = harness.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return received
        for message in messages:
            harness.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            received.append(json.loads(message["Body"]))
