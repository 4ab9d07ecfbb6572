"""Reads the JSON reports a model package references (metrics, bias, explainability, baseline).

``ReportUnavailableError`` is a definitive fact the gates deny on: no report referenced, not an S3 URI,
the object does not exist or may not be read (any 4xx), too large, not a JSON object. Throttling, 5xx
and transport failures that outlived the client's retries raise ``TransientServiceError`` instead: the
state machine retries the gate, and nothing is denied (or stored by idempotency) on them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from mlops_registry.core.aws import client
from mlops_registry.core.aws_errors import as_transient, is_transient
from mlops_registry.core.errors import ReportUnavailableError

MAX_REPORT_BYTES = 20 * 1024 * 1024


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
