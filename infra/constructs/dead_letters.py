"""Dead-letter queues: where failed asynchronous deliveries wait for an operator.

Every one is encrypted with the registry's key, TLS-only and kept for ``DLQ_RETENTION``; it is itself
a dead-letter queue, so cdk-nag's "has no dead-letter queue" finding (SQS3) is acknowledged with what
it collects.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants


def dead_letter_queue(scope: Construct, construct_id: str, *, key: kms.IKey, collects: str) -> sqs.Queue:
    """A dead-letter queue for ``collects`` (e.g. "the function's asynchronous invocations")."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=constants.DLQ_RETENTION,
    )
    Validations.of(queue).acknowledge(
        Acknowledgment(id="AwsSolutions-SQS3", reason=f"This queue is itself the dead-letter queue of {collects}.")
    )
    return queue
