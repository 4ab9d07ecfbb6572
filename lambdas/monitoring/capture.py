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

Two decoders with one meaning: ``CaptureDecoder.decode`` reads one line (orjson; the reference, and
the fallback), ``BatchDecoder.decode`` reads a chunk of lines column-wise with Arrow (the JSON lines
with ``pyarrow.json``, every CSV payload of the chunk in one ``pyarrow.csv`` read, BASE64 payloads
decoded per record), which is what makes the drift run fast. Any line Arrow cannot take sends the
chunk through the line decoder, so a corrupt line costs speed, never correctness.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
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
            record = orjson.loads(line)
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
            self.decode_json_payload(data, decoded)
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

    def decode_json_payload(self, data: str | bytes, decoded: DecodedRecord) -> None:
        payload = parse_json_payload(data)
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


def parse_json_payload(data: str | bytes) -> Any:
    """A JSON payload; numbers orjson refuses (beyond a double: 1e400, 10**400) are read by the
    standard library instead, as ±inf and exact ints, so they count as values, not corrupt records."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise CorruptCaptureError(f"invalid JSON payload: {error}") from error


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


# --- the column-wise decoder --------------------------------------------------------------------
@dataclass
class DecodedBatch:
    """A chunk of capture lines, decoded column-wise: per feature, a list of column parts (Arrow
    arrays from CSV payloads, Python lists from JSON payloads), all rows in window."""

    columns: dict[str, list[Any]]
    records: int = 0  # decoded records inside the window
    corrupt_records: int = 0
    rows: int = 0
    malformed_rows: int = 0
    unexpected_values: int = 0


def _arrow() -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson

    return pa, pc, pcsv, pjson


class BatchDecoder:
    """Decodes chunks of capture lines for one group's feature order and categorical features."""

    def __init__(self, features: Sequence[str], categorical: Sequence[str] = ()) -> None:
        self.features = tuple(features)
        self.categorical = frozenset(categorical)
        self.line_decoder = CaptureDecoder(self.features)

    def decode(
        self, lines: Sequence[bytes], start: datetime | None = None, end: datetime | None = None
    ) -> DecodedBatch:
        lines = [line for line in lines if line.strip()]
        batch = DecodedBatch(columns={feature: [] for feature in self.features})
        if not lines:
            return batch
        pa, pc, _, pjson = _arrow()
        try:
            table = pjson.read_json(
                io.BytesIO(b"\n".join(lines)),
                read_options=pjson.ReadOptions(use_threads=False, block_size=max(1 << 20, sum(map(len, lines)) + 1)),
                parse_options=pjson.ParseOptions(
                    explicit_schema=_capture_schema(pa), unexpected_field_behavior="ignore"
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return self._decode_by_line(lines, start, end, batch)
        if table.num_rows != len(lines):
            return self._decode_by_line(lines, start, end, batch)
        endpoint_input = table.column("captureData").combine_chunks().field("endpointInput")
        data = endpoint_input.field("data")
        usable = pc.is_valid(data)
        times = table.column("eventMetadata").combine_chunks().field("inferenceTime")
        in_window = self._in_window(times, start, end, batch)
        if in_window is None:
            return self._decode_by_line(lines, start, end, batch)
        keep = pc.and_(usable, in_window)
        batch.corrupt_records += len(lines) - int(pc.sum(usable).as_py() or 0)
        batch.records = int(pc.sum(keep).as_py() or 0)
        encoding = pc.utf8_upper(pc.fill_null(endpoint_input.field("encoding"), "CSV"))
        content_type = pc.utf8_lower(pc.fill_null(endpoint_input.field("observedContentType"), ""))
        csv_direct = pc.and_(keep, pc.equal(encoding, "CSV"))
        csv_parts: list[bytes] = []
        direct = pc.filter(data, csv_direct)
        if len(direct):
            joined = pc.binary_join_element_wise(direct, pa.scalar(""), "\n")
            csv_parts.append(_string_values(joined))
        json_payloads: list[str] = []
        other = pc.and_(keep, pc.invert(pc.equal(encoding, "CSV")))
        for payload, kind, media in zip(
            pc.filter(data, other).to_pylist(),
            pc.filter(encoding, other).to_pylist(),
            pc.filter(content_type, other).to_pylist(),
            strict=True,
        ):
            if kind == "BASE64":
                try:
                    text = base64.b64decode(payload, validate=True)
                except (binascii.Error, ValueError):
                    batch.corrupt_records += 1
                    batch.records -= 1
                    continue
                kind = "JSON" if "json" in media else "CSV" if "csv" in media else ""
                if kind == "CSV":
                    csv_parts.append(text if text.endswith(b"\n") else text + b"\n")
                    continue
                payload = text
            if kind == "JSON":
                json_payloads.append(payload)
            else:
                batch.corrupt_records += 1
                batch.records -= 1
        self._add_csv(b"".join(csv_parts), batch)
        self._add_json(json_payloads, batch)
        return batch

    # --- pieces -----------------------------------------------------------------------------
    def _in_window(self, times: Any, start: datetime | None, end: datetime | None, batch: DecodedBatch) -> Any:
        """A boolean mask of the rows inside [start, end) (no time: inside); ``None`` when a time is not
        ISO-8601 with a zone, which the line decoder then reports record by record."""
        pa, pc, _, _ = _arrow()
        if start is None or end is None:
            return pa.array([True] * len(times))
        try:
            moments = pc.cast(times, pa.timestamp("us", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        low = pa.scalar(start.astimezone(UTC), type=pa.timestamp("us", tz="UTC"))
        high = pa.scalar(end.astimezone(UTC), type=pa.timestamp("us", tz="UTC"))
        inside = pc.and_(pc.greater_equal(moments, low), pc.less(moments, high))
        return pc.fill_null(inside, True)

    def _add_csv(self, blob: bytes, batch: DecodedBatch) -> None:
        if not blob.strip():
            return
        pa, _, pcsv, _ = _arrow()
        malformed = 0

        def skip(_row: Any) -> str:
            nonlocal malformed
            malformed += 1
            return "skip"

        def read(numeric_type: Any) -> Any:
            types = {f: pa.string() if f in self.categorical else numeric_type for f in self.features}
            return pcsv.read_csv(
                io.BytesIO(blob),
                read_options=pcsv.ReadOptions(
                    use_threads=False, column_names=list(self.features), block_size=max(1 << 20, len(blob) + 1)
                ),
                parse_options=pcsv.ParseOptions(invalid_row_handler=skip),
                convert_options=pcsv.ConvertOptions(
                    column_types={f: t for f, t in types.items() if t is not None},
                    null_values=[""],
                    true_values=["true", "True", "TRUE"],
                    false_values=["false", "False", "FALSE"],
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )

        try:  # the common case, every numeric column plain numbers: no type inference
            table = read(pa.float64())
        except pa.ArrowInvalid:
            malformed = 0
            table = read(None)  # let Arrow infer per column; text columns take the reference reading
        batch.malformed_rows += malformed
        batch.rows += table.num_rows
        for feature in self.features:
            batch.columns[feature].append(table.column(feature).combine_chunks())

    def _add_json(self, payloads: list[Any], batch: DecodedBatch) -> None:
        if not payloads:
            return
        rows: list[Sequence[Any]] = []
        for payload in payloads:
            record = DecodedRecord(inference_time=None)
            try:
                self.line_decoder.decode_json_payload(payload, record)
            except CorruptCaptureError:
                batch.corrupt_records += 1
                batch.records -= 1
                continue
            rows.extend(record.rows)
            batch.malformed_rows += record.malformed_rows
            batch.unexpected_values += record.unexpected_values
        if rows:
            batch.rows += len(rows)
            for position, feature in enumerate(self.features):
                batch.columns[feature].append([row[position] for row in rows])

    def _decode_by_line(
        self, lines: Sequence[bytes], start: datetime | None, end: datetime | None, batch: DecodedBatch
    ) -> DecodedBatch:
        rows: list[Sequence[Any]] = []
        for line in lines:
            try:
                record = self.line_decoder.decode(line)
            except CorruptCaptureError:
                batch.corrupt_records += 1
                continue
            moment = record.inference_time
            if start is not None and end is not None and moment is not None and not start <= moment < end:
                continue
            batch.records += 1
            rows.extend(record.rows)
            batch.malformed_rows += record.malformed_rows
            batch.unexpected_values += record.unexpected_values
        if rows:
            batch.rows += len(rows)
            for position, feature in enumerate(self.features):
                batch.columns[feature].append([row[position] for row in rows])
        return batch


def _string_values(array: Any) -> bytes:
    """The concatenated values of an Arrow string array, straight from its data buffer."""
    import numpy as np

    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    return memoryview(data_buffer)[int(offsets[0]) : int(offsets[-1])].tobytes()


def _capture_schema(pa: Any) -> Any:
    endpoint_input = pa.struct([("observedContentType", pa.string()), ("data", pa.string()), ("encoding", pa.string())])
    return pa.schema(
        [
            ("captureData", pa.struct([("endpointInput", endpoint_input)])),
            ("eventMetadata", pa.struct([("inferenceTime", pa.string())])),
        ]
    )
