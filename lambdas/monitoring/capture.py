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
import contextlib
import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pybase64

from mlops_registry.core.errors import RegistryError


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
            self.decode_csv_payload(data, decoded)
        elif encoding == "JSON":
            self.decode_json_payload(data, decoded)
        else:
            raise CorruptCaptureError(f"unsupported encoding/content type {encoding!r}/{content_type!r}")
        return decoded

    def decode_csv_payload(self, data: str, decoded: DecodedRecord) -> None:
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
    return json.dumps(record, separators=(",", ":"))  # compact, as SageMaker writes it


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

    def count(self, record: DecodedRecord, rows: list[Sequence[Any]]) -> None:
        """Take a line-decoded record's rows (into ``rows``, appended as columns by ``add_rows``) and counts."""
        rows.extend(record.rows)
        self.malformed_rows += record.malformed_rows
        self.unexpected_values += record.unexpected_values

    def add_rows(self, rows: list[Sequence[Any]], features: Sequence[str]) -> None:
        """Rows in the feature order, appended as one column part per feature."""
        if rows:
            self.rows += len(rows)
            for position, feature in enumerate(features):
                self.columns[feature].append([row[position] for row in rows])


def _arrow() -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson

    return pa, pc, pcsv, pjson


class BatchDecoder:
    """Decodes chunks of capture lines for one group's feature order and categorical features.

    Every step is one call over the whole chunk, never a Python loop over its records: one
    ``pyarrow.json`` read of the JSON lines (the envelopes), one ``pyarrow.csv`` read of every CSV
    payload (direct, and BASE64 ones decoded), one ``pyarrow.json`` read of every JSON payload (each
    wrapped as ``{"p": payload}``, so objects, lists of objects, positional rows and ``instances`` all
    come out as Arrow columns), and one ``pybase64`` (SIMD) decode of every BASE64 payload's
    concatenation (the padding checked first, the alphabet by the decode itself). Whatever Arrow reads differently from the reference
    (``CaptureDecoder``: duplicate keys, mixed types in a column, keys outside the feature order, huge
    integers in a categorical column, payloads spread over lines) sends that part of the chunk to the
    reference, so a strange payload costs speed, never a different statistic.
    """

    def __init__(self, features: Sequence[str], categorical: Sequence[str] = ()) -> None:
        self.features = tuple(features)
        self.categorical = frozenset(categorical)
        self.line_decoder = CaptureDecoder(self.features)
        self._feature_set = frozenset(self.features)

    def decode(
        self, lines: Sequence[bytes], start: datetime | None = None, end: datetime | None = None
    ) -> DecodedBatch:
        """Decode capture lines (blank ones are skipped)."""
        lines = [line for line in lines if line.strip()]
        if not lines:
            return DecodedBatch(columns={feature: [] for feature in self.features})
        return self._decode_block(b"\n".join(lines), lines, start, end)

    def decode_block(self, block: bytes, start: datetime | None = None, end: datetime | None = None) -> DecodedBatch:
        """Decode a block of whole capture lines as it lies in a capture object (``\n``-separated):
        no per-line split at all unless a line is corrupt (see ``line_blocks``)."""
        return self._decode_block(block, None, start, end)

    def _decode_block(
        self, blob: bytes, lines: Sequence[bytes] | None, start: datetime | None, end: datetime | None
    ) -> DecodedBatch:
        batch = DecodedBatch(columns={feature: [] for feature in self.features})
        if _blank(blob):
            return batch
        pa, pc, _, pjson = _arrow()
        try:
            table = pjson.read_json(
                io.BytesIO(blob),
                read_options=pjson.ReadOptions(use_threads=False, block_size=max(1 << 20, len(blob) + 1)),
                parse_options=pjson.ParseOptions(
                    explicit_schema=_capture_schema(pa), unexpected_field_behavior="ignore"
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
            return self._decode_by_line(lines if lines is not None else _split_lines(blob), start, end, batch)
        # Arrow reads `{..}{..}` on one line as two records: the record count must be the line count
        if lines is None and table.num_rows != _count_newlines(blob) + (not blob.endswith(b"\n")):
            lines = _split_lines(blob)  # blank lines in the block, or more than one object on a line
        if lines is not None and table.num_rows != len(lines):
            return self._decode_by_line(lines if lines is not None else _split_lines(blob), start, end, batch)
        endpoint_input = table.column("captureData").combine_chunks().field("endpointInput")
        data = endpoint_input.field("data")
        usable = pc.is_valid(data)
        times = table.column("eventMetadata").combine_chunks().field("inferenceTime")
        in_window = self._in_window(times, start, end, batch)
        if in_window is None:
            return self._decode_by_line(lines if lines is not None else _split_lines(blob), start, end, batch)
        keep = pc.and_(usable, in_window)
        batch.corrupt_records += table.num_rows - int(pc.sum(usable).as_py() or 0)
        batch.records = int(pc.sum(keep).as_py() or 0)
        encoding = pc.utf8_upper(pc.fill_null(endpoint_input.field("encoding"), "CSV"))
        content_type = pc.utf8_lower(pc.fill_null(endpoint_input.field("observedContentType"), ""))
        is_csv, is_json, is_base64 = (pc.and_(keep, pc.equal(encoding, kind)) for kind in ("CSV", "JSON", "BASE64"))
        unsupported = int(pc.sum(keep).as_py() or 0) - sum(
            int(pc.sum(mask).as_py() or 0) for mask in (is_csv, is_json, is_base64)
        )
        batch.corrupt_records += unsupported
        batch.records -= unsupported

        json_direct = _selected(data, is_json)
        csv_decoded, json_decoded = self._decode_base64(
            _selected(data, is_base64), _selected(content_type, is_base64), batch
        )
        self._add_csv_payloads([_selected(data, is_csv), csv_decoded], batch)
        self._add_json_payloads([json_direct, json_decoded], batch)
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

    def _decode_base64(self, payloads: Any, content_types: Any, batch: DecodedBatch) -> tuple[Any, Any]:
        """BASE64 payloads decoded as ``base64.b64decode(validate=True)`` and ``.decode("utf-8")`` read
        them, all at once: returns the CSV and the JSON payloads as Arrow string arrays.

        A payload ``b64decode`` takes is the alphabet with at most two ``=`` at its end and a length a
        multiple of 4 (checked for the whole array). Then every payload is a run of whole quartets, so
        the concatenation decodes in one call once each ``=`` is read as ``A`` (zero bits: the bytes
        before it are unchanged); the one or two bytes each padded payload gains are dropped by index."""
        import numpy as np

        pa, pc, _, _ = _arrow()
        if not len(payloads):
            return None, None
        kind_json = pc.match_substring(content_types, "json")
        kind_csv = pc.and_(pc.invert(kind_json), pc.match_substring(content_types, "csv"))
        usable = pc.or_(kind_json, kind_csv)
        texts, as_json = pc.filter(payloads, usable), pc.filter(kind_json, usable)
        rejected = len(payloads) - len(texts)
        encoded, offsets = _string_values(texts), _offsets(texts)
        lengths = np.diff(offsets)
        equals = np.frombuffer(encoded, dtype=np.uint8) == ord("=")
        last = np.zeros(len(texts), dtype=bool)
        last[lengths >= 1] = equals[offsets[1:][lengths >= 1] - 1]
        before_last = np.zeros(len(texts), dtype=bool)
        before_last[lengths >= 2] = equals[offsets[1:][lengths >= 2] - 2]
        pads = last.astype(np.int64) + (last & before_last)
        valid = lengths % 4 == 0
        # "=" only as one or two final characters (then it reads as "A": zero bits), and the alphabet,
        # which pybase64 checks as it decodes: one SIMD decode of every payload at once (~20x binascii)
        csv_only = not as_json.true_count
        decode = pybase64.b64decode_as_bytearray if csv_only else pybase64.b64decode  # CSV: written to below
        raw: bytes | bytearray | None = None
        if valid.all() and int(equals.sum()) == int(pads.sum()):
            with contextlib.suppress(binascii.Error):  # a character outside the alphabet
                raw = decode(encoded.replace(b"=", b"A"), validate=True)
        if raw is None:
            pattern = r"^[A-Za-z0-9+/]*={0,2}$"  # some payload is not BASE64: find which, one by one
            valid &= pc.match_substring_regex(texts, pattern).to_numpy(zero_copy_only=False)
            rejected += int((~valid).sum())
            mask = pa.array(valid)
            texts, as_json, lengths, pads = texts.filter(mask), as_json.filter(mask), lengths[valid], pads[valid]
            if len(texts):  # every payload left is BASE64 now
                raw = decode(_string_values(texts).replace(b"=", b"A"), validate=True)
        batch.corrupt_records += rejected
        batch.records -= rejected
        if not len(texts) or raw is None:
            return None, None
        whole = np.frombuffer(raw, dtype=np.uint8)
        ends = np.cumsum(lengths) // 4 * 3
        offsets = np.zeros(len(texts) + 1, dtype=np.int32)
        if csv_only:  # a padding byte becomes a line end: a blank line, which both CSV readers skip (no copy)
            whole[ends[pads >= 1] - 1] = ord("\n")
            whole[ends[pads == 2] - 2] = ord("\n")
            offsets[1:] = ends
            data = whole
        else:  # JSON payloads are read one per line: the padding bytes are dropped
            keep = np.ones(whole.size, dtype=bool)
            keep[ends[pads >= 1] - 1] = False
            keep[ends[pads == 2] - 2] = False
            np.cumsum(lengths // 4 * 3 - pads, out=offsets[1:])
            data = whole[keep] if pads.any() else whole
        decoded = pa.Array.from_buffers(pa.string(), len(texts), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
        try:
            decoded.validate(full=True)  # UTF-8, every payload
        except pa.ArrowInvalid:
            return self._decode_base64_slowly(texts, as_json, batch)
        json_count = as_json.true_count
        if json_count in (0, len(decoded)):  # one kind of payload: no copies
            return (None, decoded) if json_count else (decoded, None)
        return pc.filter(decoded, pc.invert(as_json)), pc.filter(decoded, as_json)

    def _decode_base64_slowly(self, texts: Any, as_json: Any, batch: DecodedBatch) -> tuple[Any, Any]:
        """Payload by payload (some are not UTF-8): those are counted corrupt."""
        pa, _, _, _ = _arrow()
        kept: dict[bool, list[str]] = {True: [], False: []}
        for text, is_json in zip(texts.to_pylist(), as_json.to_pylist(), strict=True):
            try:
                kept[is_json].append(base64.b64decode(text, validate=True).decode("utf-8"))
            except (binascii.Error, ValueError):
                batch.corrupt_records += 1
                batch.records -= 1
        return pa.array(kept[False], pa.string()), pa.array(kept[True], pa.string())

    def _add_csv_payloads(self, arrays: list[Any], batch: DecodedBatch) -> None:
        """CSV payloads (Arrow string arrays: direct, and decoded BASE64): one ``pyarrow.csv`` read of
        all of them joined. A payload holding a quote is read on its own by the reference: in one
        joined read, a quote left open in one payload would swallow the payloads after it."""
        _, pc, _, _ = _arrow()
        arrays = [array for array in arrays if array is not None and len(array)]
        parts = [
            _string_values(array) if _all_end_with(array, ord("\n")) else _joined(array, "", "\n") for array in arrays
        ]
        if any(b'"' in part for part in parts):  # rare: one more pass to isolate the quoted payloads
            quoted = [pc.match_substring(array, '"') for array in arrays]
            self._add_csv_by_reference(
                [text for a, q in zip(arrays, quoted, strict=True) for text in a.filter(q).to_pylist()], batch
            )
            plain = [array.filter(pc.invert(q)) for array, q in zip(arrays, quoted, strict=True)]
            parts = [_joined(array, "", "\n") for array in plain if len(array)]
        self._add_csv(b"".join(parts), batch)

    def _add_csv_by_reference(self, payloads: list[str], batch: DecodedBatch) -> None:
        rows: list[Sequence[Any]] = []
        for payload in payloads:
            record = DecodedRecord(inference_time=None)
            self.line_decoder.decode_csv_payload(payload, record)
            batch.count(record, rows)
        batch.add_rows(rows, self.features)

    def _add_csv(self, blob: bytes, batch: DecodedBatch) -> None:
        if _blank(blob):
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

    def _add_json_payloads(self, arrays: list[Any], batch: DecodedBatch) -> None:
        """JSON payloads (Arrow string arrays: direct, and decoded BASE64): one Arrow read for all of
        them, or the reference reading when Arrow's would differ."""
        arrays = [array for array in arrays if array is not None and len(array)]
        if not arrays:
            return
        blob = b"".join(_joined(array, '{"p":', "}\n") for array in arrays)
        if not self._add_json_columnar(blob, sum(map(len, arrays)), batch):
            self._add_json([payload for array in arrays for payload in array.to_pylist()], batch)

    def _add_json_columnar(self, blob: bytes, count: int, batch: DecodedBatch) -> bool:
        """Read ``count`` wrapped payloads (one per line) into columns; ``False`` (nothing added) when
        the reading could differ from ``CaptureDecoder.decode_json_payload``."""
        pa, pc, _, pjson = _arrow()
        if not self.features or _count_newlines(blob) != count or b"\r" in blob:  # a payload over several lines
            return False
        read_options = pjson.ReadOptions(use_threads=False, block_size=max(1 << 20, len(blob) + 1))
        failures = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeDecodeError)
        # the common shape first, typed (no inference: ~20% faster): one object per payload, numbers
        # in the numeric features, text in the categorical ones; any other payload is read inferred
        typed = pa.struct([(f, pa.string() if f in self.categorical else pa.float64()) for f in self.features])
        try:
            table = pjson.read_json(
                io.BytesIO(blob),
                read_options=read_options,
                parse_options=pjson.ParseOptions(
                    explicit_schema=pa.schema([("p", typed)]), unexpected_field_behavior="error"
                ),
            )
        except failures:
            try:
                table = pjson.read_json(io.BytesIO(blob), read_options=read_options)
            except failures:
                return False
        # exactly one value per payload: one record per line, and no key but the wrapper's
        if table.num_rows != count or table.column_names != ["p"]:
            return False
        try:  # nothing is added to the batch before every column is read
            payload = table.column("p").combine_chunks()
            shape = None if payload.null_count else _json_rows(pa, pc, payload)
            read = None if shape is None else self._json_columns(pa, pc, shape[0])
        except pa.ArrowException:  # e.g. Arrow's own limits on lists of nulls
            return False
        if shape is None or read is None:
            return False
        empty = shape[1]
        columns, count, malformed = read
        batch.malformed_rows += malformed + empty
        batch.rows += count
        for feature, column in zip(self.features, columns, strict=True):
            batch.columns[feature].append(column)
        return True

    def _json_columns(self, pa: Any, pc: Any, rows: Any) -> tuple[list[Any], int, int] | None:
        """Per feature, the Arrow column of ``rows`` (a struct array of objects, or a list array of
        positional rows), the row count and the malformed rows; ``None`` if a value would read
        differently from the reference."""
        malformed = 0
        if pa.types.is_struct(rows.type):
            names = [rows.type.field(i).name for i in range(rows.type.num_fields)]
            if any(name not in self._feature_set for name in names):
                return None  # unexpected keys are counted by the reference
            columns = [rows.field(f) if f in names else pa.nulls(len(rows)) for f in self.features]
        else:  # positional rows: those of another width are malformed
            wide = pc.equal(pc.list_value_length(rows), len(self.features))
            malformed = len(rows) - int(pc.sum(wide).as_py() or 0)
            if malformed:
                rows = rows.filter(wide)
            columns = [pc.list_element(rows, position) for position in range(len(self.features))]
        checked = []
        for feature, column in zip(self.features, columns, strict=True):
            column = _plain_json_column(pa, pc, column, categorical=feature in self.categorical)
            if column is None:
                return None
            checked.append(column)
        return checked, len(rows), malformed

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
            batch.count(record, rows)
        batch.add_rows(rows, self.features)

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
            batch.count(record, rows)
        batch.add_rows(rows, self.features)
        return batch


def line_blocks(chunks: Iterable[bytes], block_bytes: int = 4 << 20) -> Iterator[bytes]:
    """Cut a byte stream of capture lines (e.g. an S3 body's ``iter_chunks()``) into blocks of whole
    lines of about ``block_bytes`` each, for ``BatchDecoder.decode_block``."""
    parts: list[bytes] = []  # joined once per block (appending to one bytes object copies it each time)
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size < block_bytes:
            continue
        pending = b"".join(parts)
        cut = pending.rfind(b"\n") + 1
        if cut:
            yield pending[:cut] if cut < len(pending) else pending
            pending = pending[cut:]
        parts, size = [pending], len(pending)
    pending = b"".join(parts)
    if not _blank(pending):
        yield pending


def _blank(blob: bytes) -> bool:
    """Empty or only whitespace, without the copy ``blob.strip()`` makes of a whole block (``isspace``
    stops at the first character that is not)."""
    return not blob or blob.isspace()


def _count_newlines(blob: bytes) -> int:
    """``blob.count(b"\\n")``, vectorised (several times faster on a block of capture)."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(blob, dtype=np.uint8) == ord("\n")))


def _selected(array: Any, mask: Any) -> Any:
    """``pc.filter(array, mask)``, without the copy when the mask keeps everything (one kind of payload)."""
    import pyarrow.compute as pc

    return array if mask.true_count == len(array) and not mask.null_count else pc.filter(array, mask)


def _all_end_with(array: Any, byte: int) -> bool:
    """Whether every value of an Arrow string array is non-empty and ends with ``byte``."""
    import numpy as np

    if not len(array):
        return True
    if array.null_count:
        return False
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    if not (np.diff(offsets) > 0).all():
        return False
    return bool((np.frombuffer(data_buffer, dtype=np.uint8)[offsets[1:] - 1] == byte).all())


def _split_lines(blob: bytes) -> list[bytes]:
    return [line for line in blob.split(b"\n") if line.strip()]


def _json_rows(pa: Any, pc: Any, payload: Any) -> tuple[Any, int] | None:
    """The rows of wrapped JSON payloads as the reference takes them apart, and the count of empty
    positional rows: a struct array (objects) or a list array (positional rows, any width yet).

    - an object: one row (``{"instances": [...]}``: its instances, each an object or a list);
    - a list of objects, or of lists: one row per element;
    - a list of anything else: one positional row (an empty list too: a row of width 0)."""
    if pa.types.is_struct(payload.type):
        names = [payload.type.field(i).name for i in range(payload.type.num_fields)]
        if "instances" not in names:
            return payload, 0
        instances = payload.field("instances")
        if names != ["instances"] or instances.null_count or not pa.types.is_list(instances.type):
            return None
        items = instances.flatten()
        if items.null_count or not (pa.types.is_struct(items.type) or pa.types.is_list(items.type)):
            return None  # instances of plain values: one-value rows in the reference
        return items, 0
    if not pa.types.is_list(payload.type):
        return None  # a bare number or text: not a payload the reference reads
    items = payload.flatten()
    if pa.types.is_struct(items.type) or pa.types.is_list(items.type):
        if items.null_count:
            return None
        empty = int(pc.sum(pc.equal(pc.list_value_length(payload), 0)).as_py() or 0)
        return items, empty  # an empty list is one positional row of width 0
    return payload, 0


def _plain_json_column(pa: Any, pc: Any, column: Any, *, categorical: bool) -> Any:
    """A JSON-read column the accumulators read exactly as they read orjson's values, or ``None``.

    Arrow reads a column of integers as int64 (or as doubles next to a fraction or beyond int64),
    booleans as bool, text as string. Numbers are kept only where the double is the value the
    reference reads: integers beyond 2**53 (rounded) and ±inf in a categorical column (a huge integer,
    keyed exactly by the reference) go to the reference."""
    kind = column.type
    if pa.types.is_null(kind) or pa.types.is_boolean(kind) or pa.types.is_string(kind):
        return column
    if not (pa.types.is_int64(kind) or pa.types.is_floating(kind)):
        return None  # nested values: the reference's reading of containers
    if len(column) - column.null_count:
        low, high = pc.min_max(column).values()
        magnitude = max(abs(low.as_py()), abs(high.as_py()))
        if pa.types.is_int64(kind):
            if magnitude > 2**53:
                return None
            return column.cast(pa.float64()) if not categorical else column
        if categorical and not magnitude <= 2**53:  # inf, or a double that may be a rounded integer
            return None
    return column


def _joined(array: Any, prefix: str, suffix: str) -> bytes:
    """``prefix + value + suffix`` for every value of an Arrow string array, concatenated (one pass)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wrapped = pc.binary_join_element_wise(pa.scalar(prefix), array, pa.scalar(suffix), "")
    return _string_values(wrapped)


def _offsets(array: Any) -> Any:
    """Where each value of an Arrow string array starts in ``_string_values(array)`` (and the end)."""
    import numpy as np

    _, offsets_buffer, _ = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    return offsets.astype(np.int64) - int(offsets[0])


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
