"""The scheduled ledger check: recompute every managed group's hash chain, publish the result as
CloudWatch metrics (an alarm notifies on a break) and name the first broken link in a notification.

Metrics (namespace from ``LEDGER_METRICS_NAMESPACE``): ``LedgerChainBroken`` (groups whose chain is
broken; also per group with the ``ModelPackageGroup`` dimension) and ``LedgerGroupsVerified``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from pydantic import Field

from mlops_registry.core import notifier
from mlops_registry.core.aws import client
from mlops_registry.core.aws_errors import transient_errors_are_typed
from mlops_registry.core.chain import ChainReport
from mlops_registry.core.contracts import LEDGER_CHAIN_BROKEN_METRIC
from mlops_registry.core.ledger import Ledger
from mlops_registry.core.observability import instrumented, logger
from mlops_registry.core.settings import FunctionSettings
from promotion.settings import load

METRIC_VERIFIED = "LedgerGroupsVerified"
DIMENSION_GROUP = "ModelPackageGroup"


class LedgerCheckSettings(FunctionSettings):
    LEDGER_TABLE: str = Field(min_length=3)
    MANAGED_GROUPS: str = Field(min_length=1)  # comma-separated group names
    LEDGER_METRICS_NAMESPACE: str = Field(min_length=1)
    TOPIC_ARN: str = Field(min_length=20)

    @property
    def groups(self) -> list[str]:
        return [g.strip() for g in self.MANAGED_GROUPS.split(",") if g.strip()]


class ChainVerifier(Protocol):
    def verify(self, group: str) -> ChainReport: ...


def check_groups(
    ledger: ChainVerifier,
    groups: Sequence[str],
    publish_metrics: Callable[[list[dict[str, Any]]], None],
    notify: Callable[[ChainReport], None],
) -> list[ChainReport]:
    """Verify each group; publish the metrics; notify each break (naming its first broken link)."""
    reports = [ledger.verify(group) for group in groups]
    broken = [r for r in reports if not r.intact]
    data: list[dict[str, Any]] = [
        {"MetricName": LEDGER_CHAIN_BROKEN_METRIC, "Value": len(broken), "Unit": "Count"},
        {"MetricName": METRIC_VERIFIED, "Value": len(reports), "Unit": "Count"},
    ]
    data += [
        {
            "MetricName": LEDGER_CHAIN_BROKEN_METRIC,
            "Dimensions": [{"Name": DIMENSION_GROUP, "Value": r.group}],
            "Value": 0 if r.intact else 1,
            "Unit": "Count",
        }
        for r in reports
    ]
    publish_metrics(data)
    for report in reports:  # every head is logged: a later wholesale rewrite disagrees with it
        logger.info("ledger chain verified", extra=report.as_dict())
    for report in broken:
        logger.error("ledger chain broken", extra=report.as_dict())
        notify(report)
    return reports


@instrumented
@transient_errors_are_typed
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = load(LedgerCheckSettings)
    cloudwatch = client("cloudwatch")

    def publish_metrics(data: list[dict[str, Any]]) -> None:
        cloudwatch.put_metric_data(Namespace=settings.LEDGER_METRICS_NAMESPACE, MetricData=data)

    def notify(report: ChainReport) -> None:
        broken = report.broken
        notifier.publish(
            settings.TOPIC_ARN,
            f"[{report.group}] audit ledger chain broken",
            {
                "group": report.group,
                "decision": "ledger_chain_broken",
                "first_broken_link": broken.as_dict() if broken else None,
                "verify": f"registry verify-ledger --group {report.group}",
                "report": report.as_dict(),
            },
        )

    reports = check_groups(Ledger(settings.LEDGER_TABLE), settings.groups, publish_metrics, notify)
    return {
        "verified": len(reports),
        "broken": [r.group for r in reports if not r.intact],
        "groups": {r.group: r.as_dict() for r in reports},
    }
