"""CloudWatch alarm evaluation for the offline emulator (moto stores alarms but never evaluates them).

Reads the synthesized alarm definitions (top-level and nested templates), evaluates each against the
datapoints in moto's CloudWatch exactly as its definition says (metric or metric math over
``MAX/MIN/SUM/AVG([...])``, statistic, period, threshold, comparison, missing-data treatment), and
records the resulting state in moto with ``PutMetricAlarm`` + ``SetAlarmState``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

COMPARATORS = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
FUNCTIONS: dict[str, Callable[[list[float]], float]] = {
    "MAX": max,
    "MIN": min,
    "SUM": sum,
    "AVG": lambda xs: sum(xs) / len(xs),
}


def alarm_definitions(outdir: Path) -> list[dict[str, Any]]:
    definitions = []
    for path in sorted(Path(outdir).glob("*.template.json")):
        for resource in json.loads(path.read_text()).get("Resources", {}).values():
            if resource["Type"] == "AWS::CloudWatch::Alarm" and isinstance(
                resource["Properties"].get("AlarmName"), str
            ):
                definitions.append(resource["Properties"])
    return definitions


def _latest(cloudwatch: Any, metric: dict[str, Any], period: int, stat: str) -> float | None:
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=metric["Namespace"],
        MetricName=metric["MetricName"],
        Dimensions=metric.get("Dimensions", []),
        StartTime=now - timedelta(days=2),
        EndTime=now + timedelta(days=1),
        Period=period,
        Statistics=[stat],
    )["Datapoints"]
    if not points:
        return None
    return float(max(points, key=lambda p: p["Timestamp"])[stat])


def _value(cloudwatch: Any, alarm: dict[str, Any]) -> float | None:
    if "MetricName" in alarm:
        metric: dict[str, Any] = {k: alarm[k] for k in ("Namespace", "MetricName") if k in alarm}
        metric["Dimensions"] = alarm.get("Dimensions", [])
        return _latest(cloudwatch, metric, int(alarm.get("Period", 300)), alarm.get("Statistic", "Average"))
    values: dict[str, float | None] = {}
    expression = None
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            stat = query["MetricStat"]
            values[query["Id"]] = _latest(cloudwatch, stat["Metric"], int(stat["Period"]), stat["Stat"])
        elif query.get("ReturnData", True):
            expression = query["Expression"]
    if expression is None:
        return next((v for v in values.values() if v is not None), None)
    match = re.fullmatch(r"\s*(MAX|MIN|SUM|AVG)\(\[([^\]]*)\]\)\s*", expression)
    if match:
        present = [values.get(i.strip()) for i in match.group(2).split(",")]
        numbers = [v for v in present if v is not None]
        return float(FUNCTIONS[match.group(1)](numbers)) if numbers else None
    if expression.strip() in values:
        return values[expression.strip()]
    raise ValueError(f"unsupported metric math expression {expression!r}")


def evaluate_alarms(harness: Any, namespace_prefix: str = "") -> dict[str, str]:
    """Evaluate every synthesized metric alarm (optionally only those on ``namespace_prefix``)."""
    cloudwatch = harness.session.client("cloudwatch")
    states: dict[str, str] = {}
    for alarm in alarm_definitions(harness.outdir):
        namespaces = [alarm.get("Namespace", "")] + [
            q["MetricStat"]["Metric"]["Namespace"] for q in alarm.get("Metrics", []) if "MetricStat" in q
        ]
        if namespace_prefix and not any(n.startswith(namespace_prefix) for n in namespaces):
            continue
        value = _value(cloudwatch, alarm)
        if value is None:
            state = (
                "ALARM"
                if alarm.get("TreatMissingData") == "breaching"
                else "OK"
                if alarm.get("TreatMissingData") in ("notBreaching", "ignore")
                else "INSUFFICIENT_DATA"
            )
        else:
            state = "ALARM" if COMPARATORS[alarm["ComparisonOperator"]](value, float(alarm["Threshold"])) else "OK"
        name = alarm["AlarmName"]
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            ComparisonOperator=alarm["ComparisonOperator"],
            EvaluationPeriods=int(alarm.get("EvaluationPeriods", 1)),
            Threshold=float(alarm["Threshold"]),
            MetricName=alarm.get("MetricName", "expression"),
            Namespace=namespaces[0] or namespaces[-1],
            Period=60,
            Statistic="Maximum",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"offline evaluation: value {value}")
        states[name] = state
    return states
