"""``RegistryKeys``: the two customer-managed KMS keys of the registry, and scoped grants on them.

- ``artifacts``: encrypts the shareable model artifacts only (the models bucket). Registry-reader
  accounts may decrypt with it, and only through S3 in this region for objects of that bucket
  (``kms:ViaService`` + the ``aws:s3:arn`` encryption context, see ``ArtifactStore``).
- ``internal``: encrypts everything else (ledger, approvals, idempotency and lock tables, the internal
  bucket with reports, baselines and data capture, logs, topic, queues). Never granted outside the
  account.

Every grant to a role goes through ``grant_key_use``: named actions (no wildcards) and a
``kms:ViaService`` condition naming the services allowed to use the key on the role's behalf.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra import constants

# What a caller needs on a store's key, per kind of use (the stores call KMS on the caller's behalf).
DECRYPT = ("kms:Decrypt",)
ENCRYPT_DECRYPT = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
PUBLISH = ("kms:Decrypt", "kms:GenerateDataKey")


def via(stack: Stack, *services: str) -> dict[str, dict[str, list[str]]]:
    """The ``kms:ViaService`` condition for ``services`` (e.g. ``s3``, ``dynamodb``) in the stack's region."""
    return {"StringEquals": {"kms:ViaService": [f"{service}.{stack.region}.amazonaws.com" for service in services]}}


def key_statement(
    stack: Stack,
    key: kms.IKey,
    *,
    actions: Sequence[str],
    services: Sequence[str],
    sid: str | None = None,
    context: dict[str, str] | None = None,
) -> iam.PolicyStatement:
    """``actions`` on ``key`` only when one of ``services`` uses it (and, when given, only for that
    encryption context, e.g. ``{"aws:s3:arn": bucket_arn}``)."""
    if not services:
        raise ValueError("key_statement: a key grant names the services that may use it (kms:ViaService)")
    conditions = via(stack, *sorted(set(services)))
    if context:
        conditions["StringEquals"].update({f"kms:EncryptionContext:{k}": [v] for k, v in context.items()})
    return iam.PolicyStatement(sid=sid, actions=sorted(set(actions)), resources=[key.key_arn], conditions=conditions)


def grant_key_use(
    key: kms.IKey,
    grantee: iam.IGrantable,
    *,
    actions: Sequence[str],
    services: Sequence[str],
    sid: str | None = None,
    context: dict[str, str] | None = None,
) -> None:
    """Allow ``actions`` on ``key`` only when one of ``services`` uses it for the grantee (and, when
    given, only for that encryption context)."""
    stack = Stack.of(grantee.grant_principal) if isinstance(grantee.grant_principal, Construct) else Stack.of(key)
    grantee.grant_principal.add_to_principal_policy(
        key_statement(stack, key, actions=actions, services=services, sid=sid, context=context)
    )


class RegistryKeys(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env_name: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.artifacts = kms.Key(
            self,
            "ArtifactsKey",
            alias=f"{constants.KMS_ALIAS}-{env_name}-artifacts",
            description=f"Encrypts the {env_name} registry's shareable model artifacts (models bucket) only",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.internal = kms.Key(
            self,
            "InternalKey",
            alias=f"{constants.KMS_ALIAS}-{env_name}-internal",
            description=f"Encrypts the {env_name} registry's internal data: ledger, approvals, capture, "
            "reports, logs, topic, queues",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudWatch Logs encrypts the functions' and state machine's log groups with the internal key.
        self.internal.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    }
                },
            )
        )
        # CloudWatch alarms and EventBridge publish to the encrypted notification topic.
        self.internal.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsAndEventsPublishToTheTopic",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
