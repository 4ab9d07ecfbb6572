"""``AuditLedger``: the append-only DynamoDB table that records every lifecycle transition.

Keys are designed so that both questions the registry must answer are a single Query:
- history of group G: ``group_name = G`` on the table (sort key ``entry_id`` starts with the ISO time);
- which version was in stage S for G at time T: ``stage_key = "G#S" and at <= T`` on the sparse
  ``ByStageEntry`` index (only entries that *entered* a stage carry ``stage_key``), newest first, limit 1.

No function receives UpdateItem or DeleteItem on it: ``grant_append`` gives PutItem (the entry and the
group's chain head, written together in one TransactWriteItems, which has no IAM action of its own)
and GetItem (reading the chain head).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.constructs.encryption import DECRYPT, ENCRYPT_DECRYPT, grant_key_use
from mlops_registry.core import contracts


class AuditLedger(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, table_name: str) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=table_name,
            partition_key=dynamodb.Attribute(name="group_name", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="entry_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=contracts.LEDGER_STAGE_INDEX,
            partition_key=dynamodb.Attribute(name="stage_key", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )

    def grant_append(self, grantee: iam.IGrantable) -> None:
        """PutItem (conditional on a new key in the code) and GetItem for the chain head: entries can be
        added, never changed or deleted."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["dynamodb:GetItem", "dynamodb:PutItem"], resource_arns=[self.table.table_arn]
        )
        grant_key_use(self.key, grantee, actions=ENCRYPT_DECRYPT, services=["dynamodb"])

    def grant_verify(self, grantee: iam.IGrantable) -> None:
        """What recomputing a group's hash chain reads: its partition (Query) and its chain head (GetItem)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["dynamodb:Query", "dynamodb:GetItem"], resource_arns=[self.table.table_arn]
        )
        grant_key_use(self.key, grantee, actions=DECRYPT, services=["dynamodb"])

    def grant_query(self, grantee: iam.IGrantable) -> None:
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query", "dynamodb:GetItem"],
            resource_arns=[self.table.table_arn, f"{self.table.table_arn}/index/{contracts.LEDGER_STAGE_INDEX}"],
        )
        grant_key_use(self.key, grantee, actions=DECRYPT, services=["dynamodb"])
