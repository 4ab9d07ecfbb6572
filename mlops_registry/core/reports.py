"""Reads the JSON reports a model package references (metrics, bias, explainability, baseline).

``ReportUnavailableError`` is a definitive fact the gates deny on: no report referenced, not an S3 URI,
the object does not exist or may not be read (any 4xx), too large, not a JSON object. Throttling, 5xx
and transport failures that outlived the client's retries raise ``TransientServiceError`` instead: the
state machine retries the gate, and nothing is denied (or stored by idempotency) on them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from mlops_registry.core.aws import client
from mlops_registry.core.aws_errors import as_transient, is_transient
from mlops_registry.core.errors import ReportUnavailableError

MAX_REPORT_BYTES = 20 * 1024 * 1024
DATASET_SECTION = "dataset"  # Model Monitor's item count and evaluation time: facts about the data, not metrics


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri or "")
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ReportUnavailableError(f"{uri!r} is not an s3://bucket/key URI")
    return parsed.netloc, parsed.path.lstrip("/")


def read_json_report(uri: str | None, what: str) -> dict[str, Any]:
    """The report as a JSON object; ``ReportUnavailableError`` naming ``what`` when absent or unreadable."""
    if not uri:
        raise ReportUnavailableError(f"{what} report: the package references none")
    bucket, key = parse_s3_uri(uri)
    try:
        obj = client("s3").get_object(Bucket=bucket, Key=key)
        if int(obj.get("ContentLength", 0)) > MAX_REPORT_BYTES:
            raise ReportUnavailableError(f"{what} report {uri}: larger than {MAX_REPORT_BYTES} bytes")
        body = obj["Body"].read()
    except (ClientError, BotoCoreError) as error:
        if is_transient(error):
            raise as_transient(error, f"{what} report {uri}") from error
        raise ReportUnavailableError(f"{what} report {uri}: cannot be read ({error})") from error
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ReportUnavailableError(f"{what} report {uri}: not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise ReportUnavailableError(f"{what} report {uri}: expected a JSON object")
    return document


def flatten_metrics(report: Mapping[str, Any]) -> dict[str, Any]:
    """``{metric: value as written}`` of a model-quality report in SageMaker's model-quality
    ``statistics.json`` format (sections of ``{metric: {"value": x, ...}}``, e.g.
    ``binary_classification_metrics``). The ``dataset`` section and top-level entries that are not
    sections (``version``) are left out. A metric name in two sections raises ``ValueError`` naming
    it: which of the two values a gate, a card or a baseline should take is not for us to guess."""
    found: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for section, metrics in report.items():
        if section == DATASET_SECTION or not isinstance(metrics, Mapping):
            continue
        for name, body in metrics.items():
            if name in found:
                raise ValueError(f"metric {name!r} appears in more than one section ({origin[name]!r} and {section!r})")
            found[name] = body.get("value") if isinstance(body, Mapping) else body
            origin[name] = section
    return found


def finite_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """``flatten_metrics`` keeping finite numbers only (a confusion matrix, a curve, NaN, text and
    booleans are left out)."""
    return {
        str(name): float(value)
        for name, value in flatten_metrics(report).items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
