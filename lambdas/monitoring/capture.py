"""Decoding SageMaker data-capture lines into feature rows (pure Python, no AWS).

SageMaker writes one JSON object per line to
``s3://<bucket>/datacapture/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "1,2.5,a", "encoding": "CSV"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2026-01-31T10:00:00Z"},
     "eventVersion": "0"}

``encoding`` is ``CSV``, ``JSON`` or ``BASE64`` (then ``observedContentType`` says how to read the
decoded text). CSV input holds one row per line, values in the group's configured feature order;
JSON input is an object of feature -> value, a list of such objects (or of positional lists), or
``{"instances": [...]}`` (an instance may also be ``{"features": [...]}``, positional).
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from registry_core.errors import RegistryError


class CorruptCaptureError(RegistryError):
    """A capture line cannot be decoded; the record is counted and skipped, never fatal."""


@dataclass
class DecodedRecord:
    inference_time: datetime | None
    rows: list[Sequence[Any]] = field(default_factory=list)
    malformed_rows: int = 0
    unexpected_values: int = 0


class CaptureDecoder:
    """Decodes capture lines for one group's feature order."""

    def __init__(self, features: Sequence[str]) -> None:
        self.features = tuple(features)
        self._feature_set = frozenset(self.features)
        self._width = len(self.features)

    def decode(self, line: bytes | str) -> DecodedRecord:
        try:
            record = json.loads(line.decode("utf-8") if isinstance(line, bytes) else line)
            endpoint_input = record["captureData"]["endpointInput"]
            data = endpoint_input["data"]
            encoding = str(endpoint_input.get("encoding", "CSV")).upper()
            content_type = str(endpoint_input.get("observedContentType", "")).lower()
        except (ValueError, KeyError, TypeError) as error:
            raise CorruptCaptureError(f"not a data-capture record: {error}") from error
        if not isinstance(data, str):
            raise CorruptCaptureError("endpointInput.data is not a string")
        if encoding == "BASE64":
            try:
                data = base64.b64decode(data, validate=True).decode("utf-8")
            except (binascii.Error, ValueError) as error:
                raise CorruptCaptureError(f"invalid BASE64 payload: {error}") from error
            encoding = "JSON" if "json" in content_type else "CSV" if "csv" in content_type else ""
        decoded = DecodedRecord(inference_time=_inference_time(record))
        if encoding == "CSV":
            self._decode_csv(data, decoded)
        elif encoding == "JSON":
            self._decode_json(data, decoded)
        else:
            raise CorruptCaptureError(f"unsupported encoding/content type {encoding!r}/{content_type!r}")
        return decoded

    def _decode_csv(self, data: str, decoded: DecodedRecord) -> None:
        lines = [line for line in data.splitlines() if line.strip()]
        if any('"' in line for line in lines):
            rows: Sequence[Sequence[str]] = list(csv.reader(lines))
        else:
            rows = [line.split(",") for line in lines]
        for row in rows:
            if len(row) == self._width:
                decoded.rows.append(row)
            else:
                decoded.malformed_rows += 1

    def _decode_json(self, data: str, decoded: DecodedRecord) -> None:
        try:
            payload = json.loads(data)
        except ValueError as error:
            raise CorruptCaptureError(f"invalid JSON payload: {error}") from error
        if isinstance(payload, dict) and isinstance(payload.get("instances"), list):
            items: list[Any] = payload["instances"]
        elif isinstance(payload, dict):
            items = [payload]
        elif isinstance(payload, list) and payload and all(isinstance(i, dict | list) for i in payload):
            items = payload
        elif isinstance(payload, list):
            items = [payload]  # one positional row
        else:
            raise CorruptCaptureError(f"unsupported JSON payload of type {type(payload).__name__}")
        for item in items:
            self._json_row(item, decoded)

    def _json_row(self, item: Any, decoded: DecodedRecord) -> None:
        if isinstance(item, dict) and isinstance(item.get("features"), list) and "features" not in self._feature_set:
            item = item["features"]
        if isinstance(item, dict):
            decoded.rows.append([item.get(feature) for feature in self.features])
            decoded.unexpected_values += sum(1 for key in item if key not in self._feature_set)
        elif isinstance(item, list) and len(item) == self._width:
            decoded.rows.append(item)
        else:
            decoded.malformed_rows += 1


def _inference_time(record: Any) -> datetime | None:
    metadata = record.get("eventMetadata") if isinstance(record, dict) else None
    value = metadata.get("inferenceTime") if isinstance(metadata, dict) else None
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise CorruptCaptureError(f"invalid eventMetadata.inferenceTime {value!r}") from error
    if moment.tzinfo is None:
        raise CorruptCaptureError(f"eventMetadata.inferenceTime {value!r} has no time zone")
    return moment


def capture_line(
    data: str,
    *,
    content_type: str = "text/csv",
    encoding: str = "CSV",
    inference_time: datetime | None = None,
    event_id: str = "0",
) -> str:
    """One SageMaker data-capture line (the inverse of ``CaptureDecoder.decode``).

    Used to rehearse drift runs offline: the tests, the demo and the benchmark write captures with it.
    """
    payload = base64.b64encode(data.encode()).decode() if encoding == "BASE64" else data
    record: dict[str, Any] = {
        "captureData": {
            "endpointInput": {
                "observedContentType": content_type,
                "mode": "INPUT",
                "data": payload,
                "encoding": encoding,
            },
            "endpointOutput": {
                "observedContentType": "text/csv",
                "mode": "OUTPUT",
                "data": "0.5",
                "encoding": "CSV",
            },
        },
        "eventMetadata": {"eventId": event_id},
        "eventVersion": "0",
    }
    if inference_time is not None:
        record["eventMetadata"]["inferenceTime"] = inference_time.isoformat().replace("+00:00", "Z")
    return json.dumps(record)
