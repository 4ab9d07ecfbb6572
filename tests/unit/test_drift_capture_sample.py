"""The decoders on the capture records SageMaker's developer guide publishes (see capture/README.md)."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from monitoring.capture import BatchDecoder, CaptureDecoder
from monitoring.drift import VariantWindow

from mlops_registry.core.baseline import build_feature_baseline, read_feature_baseline

SAMPLE = Path(__file__).parent / "capture" / "sagemaker_guide_csv_capture.jsonl"
FEATURES = tuple(f"c{index:02d}" for index in range(69))
START, END = datetime(2022, 2, 14, 17, 0, tzinfo=UTC), datetime(2022, 2, 14, 18, 0, tzinfo=UTC)


def published_rows() -> list[list[float]]:
    """The oracle: the standard library's json and csv modules, and float()."""
    rows = []
    for line in SAMPLE.read_text().splitlines():
        data = json.loads(line)["captureData"]["endpointInput"]["data"]
        rows += [[float(v) for v in row] for row in csv.reader(io.StringIO(data)) if row]
    return rows


def test_the_published_records_decode_to_their_values() -> None:
    lines = SAMPLE.read_bytes().splitlines()
    batch = BatchDecoder(FEATURES).decode(lines, START, END)
    assert (batch.records, batch.rows, batch.corrupt_records, batch.malformed_rows) == (2, 2, 0, 0)
    columns = [np.asarray(batch.columns[f][0].cast("double").to_numpy()) for f in FEATURES]
    assert np.array_equal(np.column_stack(columns), np.asarray(published_rows()))
    line_rows = [CaptureDecoder(FEATURES).decode(line).rows[0] for line in lines]
    assert [[float(v) for v in row] for row in line_rows] == published_rows()


def test_the_same_rows_as_json_and_base64_payloads_give_the_same_statistics() -> None:
    rows = published_rows()
    baseline = read_feature_baseline(
        build_feature_baseline({f: np.asarray([r[i] for r in rows] * 3) for i, f in enumerate(FEATURES)})
    )
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines()]

    def with_input(record: dict, data: str, content_type: str, encoding: str) -> bytes:
        copy = json.loads(json.dumps(record))
        copy["captureData"]["endpointInput"].update(data=data, observedContentType=content_type, encoding=encoding)
        return json.dumps(copy).encode()

    shapes = {
        "csv": [json.dumps(r).encode() for r in records],
        "json": [
            with_input(r, json.dumps(dict(zip(FEATURES, row, strict=True))), "application/json", "JSON")
            for r, row in zip(records, rows, strict=True)
        ],
        "base64 csv": [
            with_input(
                r, base64.b64encode(r["captureData"]["endpointInput"]["data"].encode()).decode(), "text/csv", "BASE64"
            )
            for r in records
        ],
        "base64 json": [
            with_input(
                r, base64.b64encode(json.dumps({"instances": [row]}).encode()).decode(), "application/json", "BASE64"
            )
            for r, row in zip(records, rows, strict=True)
        ],
    }
    results = {}
    for name, lines in shapes.items():
        window = VariantWindow("AllTraffic", FEATURES, baseline)
        window.add_batch(BatchDecoder(FEATURES).decode(lines, START, END))
        drift = window.finish(min_samples=1)
        results[name] = [(f.samples, f.missing, f.non_numeric, f.psi, f.ks) for f in drift.features]
        assert drift.rows == 2 and drift.corrupt_records == 0, name
    assert results["json"] == results["csv"] == results["base64 csv"] == results["base64 json"]
    assert all(ks == 0.0 for *_, ks in results["csv"])  # the window is the baseline's own rows
