"""The performance baseline a version takes into Production, from its validated quality evidence.

When a version enters Production, the lifecycle function writes the version's model-quality metrics
(metric name -> value) as its performance baseline (``mlops_registry.core.baseline``: the document, its key
and the package property the drift function reads), so performance drift is computed for it from the
first scheduled drift run on, with no manual step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from mlops_registry.core.aws import client
from mlops_registry.core.baseline import CONTENT_TYPE, performance_baseline_s3_key
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.reports import finite_metrics, read_json_report


@dataclass(frozen=True)
class QualityEvidence:
    source: str  # the report's S3 URI
    metrics: Mapping[str, float]  # every finite numeric metric of the report


def validated_quality_evidence(view: PackageView) -> QualityEvidence:
    """The version's validated model-quality evidence: the model-quality report the metrics gate
    judged and passed for it (``ModelMetrics.ModelQuality.Statistics``, SageMaker's model-quality
    ``statistics.json`` format). This is the one place the performance baseline takes its values
    from: evidence the platform computes itself on the holdout set is read here.

    Non-numeric entries (a confusion matrix, a curve) and the ``dataset`` section (Model Monitor's
    item count and evaluation time: facts about the data, not metrics) are left out. Raises ``ReportUnavailableError``
    when the report is absent or unreadable, ``ValueError`` when a metric appears in two sections."""
    report = read_json_report(view.metrics_report_uri, "model-quality")
    metrics = finite_metrics(report)
    return QualityEvidence(source=str(view.metrics_report_uri), metrics=metrics)


class PerformanceBaselineStore(Protocol):
    def write(self, group: str, version: int, document: Mapping[str, Any]) -> str: ...


class S3PerformanceBaselineStore:
    """Writes a version's performance baseline to its key in the registry's artifacts bucket."""

    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3

    def write(self, group: str, version: int, document: Mapping[str, Any]) -> str:
        key = performance_baseline_s3_key(group, version)
        body = json.dumps(document, sort_keys=True, allow_nan=False).encode()
        # A transient failure propagates (the handler types it; the state machine retries the task).
        (self._s3 or client("s3")).put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=CONTENT_TYPE)
        return f"s3://{self.bucket}/{key}"
