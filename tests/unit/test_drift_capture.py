"""Decoding data-capture lines: CSV, JSON shapes, BASE64, and every kind of corrupt record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from monitoring.capture import CaptureDecoder, CorruptCaptureError, capture_line

FEATURES = ("age", "income", "segment")
AT = datetime(2026, 1, 31, 10, 15, tzinfo=UTC)


@pytest.fixture
def decoder() -> CaptureDecoder:
    return CaptureDecoder(FEATURES)


def test_drift_capture_csv_rows_in_feature_order(decoder: CaptureDecoder) -> None:
    record = decoder.decode(capture_line("31,5000.5,gold\n42,,silver\n1,2", inference_time=AT))
    assert record.inference_time == AT
    assert record.rows == [["31", "5000.5", "gold"], ["42", "", "silver"]]
    assert record.malformed_rows == 1  # wrong number of columns


def test_drift_capture_csv_with_quoted_commas(decoder: CaptureDecoder) -> None:
    record = decoder.decode(capture_line('31,5000,"gold, plus"'))
    assert record.rows == [["31", "5000", "gold, plus"]]


@pytest.mark.parametrize(
    "payload",
    [
        {"age": 31, "income": 5000, "segment": "gold", "extra": 1},
        [{"age": 31, "income": 5000, "segment": "gold", "extra": 1}],
        {"instances": [{"age": 31, "income": 5000, "segment": "gold", "extra": 1}]},
    ],
)
def test_drift_capture_json_objects(decoder: CaptureDecoder, payload: object) -> None:
    record = decoder.decode(capture_line(json.dumps(payload), content_type="application/json", encoding="JSON"))
    assert record.rows == [[31, 5000, "gold"]]
    assert record.unexpected_values == 1


def test_drift_capture_json_positional_rows(decoder: CaptureDecoder) -> None:
    payload = {"instances": [[31, 5000, "gold"], {"features": [42, 1, "silver"]}, [1, 2]]}
    record = decoder.decode(capture_line(json.dumps(payload), content_type="application/json", encoding="JSON"))
    assert record.rows == [[31, 5000, "gold"], [42, 1, "silver"]]
    assert record.malformed_rows == 1
    single = decoder.decode(capture_line('[7, 8, "x"]', content_type="application/json", encoding="JSON"))
    assert single.rows == [[7, 8, "x"]]


def test_drift_capture_missing_feature_in_json_is_a_gap(decoder: CaptureDecoder) -> None:
    record = decoder.decode(capture_line('{"age": 31}', content_type="application/json", encoding="JSON"))
    assert record.rows == [[31, None, None]]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("31,5000,gold", "text/csv"), ('{"age":31,"income":5000,"segment":"gold"}', "application/json")],
)
def test_drift_capture_base64_payloads(decoder: CaptureDecoder, data: str, content_type: str) -> None:
    record = decoder.decode(capture_line(data, content_type=content_type, encoding="BASE64"))
    assert [str(v) for v in record.rows[0]] == ["31", "5000", "gold"]


@pytest.mark.parametrize(
    "line",
    [
        "not json at all",
        "{}",
        '{"captureData": {"endpointInput": {"data": 5, "encoding": "CSV"}}}',
        '{"captureData": {"endpointInput": {"data": "!!", "encoding": "BASE64", "observedContentType": "text/csv"}}}',
        '{"captureData": {"endpointInput": {"data": "a", "encoding": "BASE64", "observedContentType": "image/png"}}}',
        '{"captureData": {"endpointInput": {"data": "{broken", "encoding": "JSON"}}}',
        '{"captureData": {"endpointInput": {"data": "42", "encoding": "JSON"}}}',
        '{"captureData": {"endpointInput": {"data": "1,2,3", "encoding": "CSV"}}, "eventMetadata": {"inferenceTime": "yesterday"}}',
        '{"captureData": {"endpointInput": {"data": "1,2,3", "encoding": "CSV"}}, "eventMetadata": {"inferenceTime": "2026-01-31T10:00:00"}}',
    ],
)
def test_drift_capture_corrupt_lines_raise_a_typed_error(decoder: CaptureDecoder, line: str) -> None:
    with pytest.raises(CorruptCaptureError):
        decoder.decode(line)
