"""``Notifications``: the encrypted, TLS-only topic the review board and operators subscribe to.

Each e-mail subscription has a dead-letter queue (encrypted with the internal key, TLS only): a
message SNS cannot deliver (the endpoint's mail server refusing it past SNS's retries, a deleted
subscription) lands there instead of being dropped, so a review request is never silently lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.constructs.dead_letters import dead_letter_queue


class Notifications(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, topic_name: str, emails: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name="Model registry notifications",
            master_key=key,
            enforce_ssl=True,
        )
        self.dead_letters = dead_letter_queue(
            self, "SubscriptionDeadLetters", key=key, collects="the topic's e-mail subscriptions"
        )
        # SNS writes undeliverable messages to the encrypted queue: it needs the key, for this topic only.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TopicDeadLettersToEncryptedQueue",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                # The ARN from the topic's name: a reference to the topic would make key and topic circular.
                conditions={
                    "ArnEquals": {"aws:SourceArn": Stack.of(self).format_arn(service="sns", resource=topic_name)}
                },
            )
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email, dead_letter_queue=self.dead_letters))
