"""One logical window, every encoding: identical drift statistics (property-based, Hypothesis).

The same rows are written as CSV capture lines, JSON capture lines, BASE64 capture lines (CSV and JSON
inside) and NumPy columns; each goes through its own path (the column-wise Arrow decoder, the
line-by-line decoder, the accumulators fed arrays) and every count, PSI and KS must be equal.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from monitoring.capture import BatchDecoder, CaptureDecoder, CorruptCaptureError, capture_line, line_blocks
from monitoring.drift import FeatureDrift, VariantWindow

from mlops_registry.core.baseline import build_feature_baseline, category_key, numeric_value, read_feature_baseline

FEATURES = ("x", "y", "c")
AT = datetime(2026, 1, 31, 10, 15, tzinfo=UTC)
START, END = datetime(2026, 1, 31, 10, 0, tzinfo=UTC), datetime(2026, 1, 31, 11, 0, tzinfo=UTC)
_rng = np.random.default_rng(5)
BASELINE = read_feature_baseline(
    build_feature_baseline(
        {
            "x": _rng.normal(0, 10, 2000),
            "y": _rng.integers(-5, 5, 2000),
            "c": np.array([["a", 1.0, 2.5, True, "b"][i % 5] for i in range(2000)], dtype=object),
        },
        categorical=["c"],
    )
)

numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=True, width=64),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**400, -(10**400), 0, 1, -1]),
)
numeric_values = st.one_of(numbers, st.booleans(), st.none())
category_values = st.one_of(
    st.sampled_from(["a", "b", "zz", "2.50", "1.0", "true", "False", "NA"]),
    st.sampled_from([1, 1.0, 2.5, 3, 0.1, 10**400]),
    st.booleans(),
    st.none(),
)
rows_strategy = st.lists(st.tuples(numeric_values, numeric_values, category_values), min_size=1, max_size=60)


def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def json_value(value: Any) -> Any:
    return value  # json.dumps writes inf as Infinity and big ints exactly; the decoder reads both


def numpy_numeric(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else numeric_value(v) for v in values], dtype=np.float64)


def numpy_categorical(values: Sequence[Any]) -> np.ndarray:
    def scalar(value: Any) -> Any:
        if isinstance(value, bool):
            return np.bool_(value)
        if isinstance(value, int) and abs(value) < 2**62:
            return np.int64(value)
        if isinstance(value, float):
            return np.float64(value)
        if isinstance(value, str):
            return np.str_(value)
        return value

    out = np.empty(len(values), dtype=object)
    out[:] = [scalar(v) for v in values]
    return out


def lines_for(rows: Sequence[tuple[Any, ...]], encoding: str, per_record: int) -> list[bytes]:
    lines = []
    for offset in range(0, len(rows), per_record):
        chunk = rows[offset : offset + per_record]
        if encoding in ("CSV", "BASE64-CSV"):
            data = "\n".join(",".join(csv_text(v) for v in row) for row in chunk)
            content_type = "text/csv"
        else:
            data = json.dumps([{f: json_value(v) for f, v in zip(FEATURES, row, strict=True)} for row in chunk])
            content_type = "application/json"
        kind = "BASE64" if encoding.startswith("BASE64") else encoding.split("-")[0]
        lines.append(capture_line(data, content_type=content_type, encoding=kind, inference_time=AT).encode())
    return lines


def statistics(window: VariantWindow) -> list[tuple[Any, ...]]:
    result = window.finish(min_samples=1)
    counts = (result.rows, result.records, result.malformed_rows, result.corrupt_records, result.unexpected_values)
    return [_key(f) for f in result.features] + [counts]


def _key(feature: FeatureDrift) -> tuple[Any, ...]:
    return (feature.feature, feature.samples, feature.missing, feature.non_numeric, feature.psi, feature.ks)


def through_batches(lines: list[bytes]) -> list[tuple[Any, ...]]:
    window = VariantWindow("Primary", FEATURES, BASELINE)
    decoder = BatchDecoder(FEATURES, categorical=["c"])
    for offset in range(0, len(lines), 7):  # several chunks
        window.add_batch(decoder.decode(lines[offset : offset + 7], START, END))
    return statistics(window)


def through_lines(lines: list[bytes]) -> list[tuple[Any, ...]]:
    window = VariantWindow("Primary", FEATURES, BASELINE, chunk_rows=5)
    decoder = CaptureDecoder(FEATURES)
    for line in lines:
        try:
            record = decoder.decode(line)
        except CorruptCaptureError:
            window.corrupt_records += 1
            continue
        window.add_rows(record.rows)
        window.malformed_rows += record.malformed_rows
        window.unexpected_values += record.unexpected_values
        window.records -= 1
    window.records = len(lines) - window.corrupt_records
    return statistics(window)


def through_numpy(rows: Sequence[tuple[Any, ...]], records: int) -> list[tuple[Any, ...]]:
    window = VariantWindow("Primary", FEATURES, BASELINE)
    accumulators = dict(zip(FEATURES, [a for _, a in window._accumulators], strict=True))
    columns = list(zip(*rows, strict=True))
    accumulators["x"].add_raw(numpy_numeric(columns[0]))
    accumulators["y"].add_raw(numpy_numeric(columns[1]))
    accumulators["c"].add_raw(numpy_categorical(columns[2]))
    window.rows, window.records = len(rows), records
    return statistics(window)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy, per_record=st.integers(min_value=1, max_value=4))
def test_every_encoding_of_the_same_rows_gives_identical_statistics(
    rows: list[tuple[Any, ...]], per_record: int
) -> None:
    # Given one logical window, When it arrives as CSV, JSON, BASE64 (CSV or JSON inside) or NumPy columns
    records = math.ceil(len(rows) / per_record)
    reference = through_numpy(rows, records)
    results = {"numpy": reference}
    for encoding in ("CSV", "JSON", "BASE64-CSV", "BASE64-JSON"):
        lines = lines_for(rows, encoding, per_record)
        results[f"{encoding} batch"] = through_batches(lines)
        results[f"{encoding} line"] = through_lines(lines)
    # Then every path counts the same values and computes the same PSI and KS
    for name, result in results.items():
        assert result == reference, name


def test_a_corrupt_line_in_a_chunk_costs_only_that_line() -> None:
    rows = [(1.0, 2, "a")] * 10
    lines = lines_for(rows, "CSV", 1)
    window = VariantWindow("Primary", FEATURES, BASELINE)
    batch = BatchDecoder(FEATURES, categorical=["c"]).decode([*lines[:5], b"{not json", *lines[5:]], START, END)
    window.add_batch(batch)
    assert (batch.corrupt_records, batch.records, batch.rows) == (1, 10, 10)
    assert statistics(window)[:3] == through_batches(lines)[:3]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("1.0", 1.0),
        (np.float32(1.0), 1),
        (np.float32(0.1), "0.1"),
        (np.bool_(True), True),
        ("TRUE", np.bool_(True)),
        ("2.50", 2.5),
        (" 2.5 ", np.float64(2.5)),
        (10**400, "1" + "0" * 400),
        (np.int64(3), "3.0"),
        ("1e3", 1000),
    ],
)
def test_a_category_has_one_key_whatever_its_encoding(left: Any, right: Any) -> None:
    assert category_key(left) == category_key(right) is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10**400, math.inf),
        (-(10**400), -math.inf),
        ("1e400", math.inf),
        ("-inf", -math.inf),
        (True, 1.0),
        ("false", 0.0),
        (np.bool_(True), 1.0),
        (np.float32(0.1), 0.1),
        (" 7 ", 7.0),
        ("", None),
        ("nan", None),
        (None, None),
    ],
)
def test_numeric_values_read_alike_on_every_path(value: Any, expected: float | None) -> None:
    # the reference reading, and the NumPy fast path the drift Lambda takes first, agree
    assert numeric_value(value) == expected
    window = VariantWindow("Primary", ("x",), BASELINE)
    accumulator = window._accumulators[0][1]
    accumulator.add_raw([value])
    finite = expected is not None and math.isfinite(expected)
    assert (accumulator.samples, accumulator.missing, accumulator.non_numeric) == (
        int(finite),
        int(expected is None),
        int(expected is not None and not finite),
    )


def test_text_and_number_encodings_of_one_category_do_not_drift() -> None:
    # Given a categorical baseline trained on floats, When the capture sends the same values as CSV text
    training = np.array([1.0, 2.0, 2.5] * 300, dtype=object)
    baseline = read_feature_baseline(build_feature_baseline({"c": training}, categorical=["c"]))
    lines = [capture_line(v, inference_time=AT).encode() for v in ["1.0", "2.0", "2.50"] * 100]
    window = VariantWindow("Primary", ("c",), baseline)
    window.add_batch(BatchDecoder(("c",), categorical=["c"]).decode(lines, START, END))
    # Then the PSI is zero, not the ~17 of two disjoint category sets
    (feature,) = window.finish(min_samples=1).features
    assert feature.psi == pytest.approx(0.0, abs=1e-12)


def test_training_column_with_infinities_stays_numeric() -> None:
    document = build_feature_baseline({"x": [1.0, 2.0, float("inf"), 3.0, -(10**400), None]})
    assert document["features"]["x"]["type"] == "numeric"
    assert (document["features"]["x"]["count"], document["features"]["x"]["missing"]) == (3, 3)
    as_array = build_feature_baseline({"x": np.array([1.0, 2.0, np.inf, 3.0, -np.inf, np.nan])})
    assert as_array["features"]["x"] == document["features"]["x"]


# --- the column-wise JSON reading, every payload shape ----------------------------------------------
finite_values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.integers(min_value=2**53 + 1, max_value=10**30),  # beyond a double's integers: the reference's reading
    st.booleans(),
    st.none(),
    st.sampled_from(["1.5", "x", ""]),
)
one_type_values = st.sampled_from(
    [
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.booleans(),
        st.sampled_from(["a", "b", "1.5", "TRUE"]),
        finite_values,  # types mixed in one column: Arrow refuses, the reference reads
    ]
)


@st.composite
def finite_rows(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Rows whose columns mostly hold one JSON type each (with gaps), as real payloads do."""
    columns = [st.one_of(draw(one_type_values), st.none()) for _ in FEATURES]
    return draw(st.lists(st.tuples(*columns), min_size=1, max_size=40))


JSON_SHAPES = ("object", "list of objects", "instances", "positional", "list of positional", "instances positional")


def json_payload(shape: str, chunk: Sequence[tuple[Any, ...]]) -> Any:
    objects = [dict(zip(FEATURES, row, strict=False)) for row in chunk]
    positional = [list(row) for row in chunk]
    return {
        "object": objects[0],
        "list of objects": objects,
        "instances": {"instances": objects},
        "positional": positional[0],
        "list of positional": positional,
        "instances positional": {"instances": positional},
    }[shape]


def json_lines(rows: Sequence[tuple[Any, ...]], shape: str, per_record: int, base64: bool = False) -> list[bytes]:
    per_record = 1 if shape in ("object", "positional") else per_record
    encoding = "BASE64" if base64 else "JSON"
    return [
        capture_line(
            json.dumps(json_payload(shape, rows[offset : offset + per_record])),
            content_type="application/json",
            encoding=encoding,
            inference_time=AT,
        ).encode()
        for offset in range(0, len(rows), per_record)
    ]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=finite_rows(),
    shape=st.sampled_from(JSON_SHAPES),
    per_record=st.integers(min_value=1, max_value=5),
    base64=st.booleans(),
)
def test_json_payloads_read_column_wise_as_the_line_decoder_reads_them(
    rows: list[tuple[Any, ...]], shape: str, per_record: int, base64: bool
) -> None:
    # Given JSON payloads of one shape (direct or BASE64), When decoded column-wise and line by line
    lines = json_lines(rows, shape, per_record, base64)
    # Then every count, PSI and KS is the same
    assert through_batches(lines) == through_lines(lines)


@pytest.mark.parametrize("shape", JSON_SHAPES)
def test_plain_json_payloads_take_one_arrow_read(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given JSON payloads of a common shape, one type per column (Arrow's lists hold one type: positional
    # rows with text beside numbers take the reference reading), and a positional row of the wrong width
    categories: list[Any] = [1, 2.5, 3] if "positional" in shape else ["a", "b", "zz"]
    rows = [(float(i), i % 7, categories[i % 3]) for i in range(30)]
    lines = json_lines(rows, shape, 4)
    if "positional" in shape:
        short = json.dumps(json_payload(shape, [(1, 2)]))  # type: ignore[list-item]
        lines.append(capture_line(short, content_type="application/json", encoding="JSON", inference_time=AT).encode())
    expected = through_lines(lines)

    def reference(*_: Any) -> None:
        raise AssertionError("the per-payload reference reading was used")

    # When decoded column-wise, Then no payload is read one by one, and the statistics are the reference's
    monkeypatch.setattr(BatchDecoder, "_add_json", reference)
    assert through_batches(lines) == expected


def test_json_payloads_arrow_cannot_mirror_take_the_reference_reading() -> None:
    odd = [
        '{"x": 1, "x": 2, "y": 3, "c": "a"}',  # a duplicate key: the last one counts
        '{"x": 1, "y": 2, "c": "a", "extra": 5}',  # an unexpected key is counted
        '{"x": [1, 2], "y": 2, "c": "a"}',  # a container where a value belongs
        '{"x": 1e400, "y": Infinity, "c": NaN}',  # beyond a double; the standard library's spellings
        '[{"x": 1, "y": 2, "c": "a"}, null]',  # a positional row of two values
        '"text"',  # not a payload: a corrupt record
        '{"instances": [1, 2, 3]}',  # instances of plain values: malformed rows
        '{"x": 1,\n "y": 2, "c": "a"}',  # a payload over two lines
    ]
    lines = [capture_line(p, content_type="application/json", encoding="JSON", inference_time=AT).encode() for p in odd]
    for line in lines:
        assert through_batches([line]) == through_lines([line]), line
    assert through_batches(lines) == through_lines(lines)


def test_base64_payloads_the_reference_refuses_are_counted_corrupt() -> None:
    good = capture_line("1,2,a", encoding="BASE64", inference_time=AT)
    lines = [good.encode()]
    for payload in ("MSwyLGE", "MSwy*GE=", "//79/w==", "MSwyLGE==", "MS=yLGE="):  # length, alphabet, UTF-8, "="
        lines.append(good.replace(json.loads(good)["captureData"]["endpointInput"]["data"], payload).encode())
    batch = BatchDecoder(FEATURES, categorical=["c"]).decode(lines, START, END)
    reference = [CaptureDecoder(FEATURES).decode(lines[0])]
    assert (batch.records, batch.corrupt_records, batch.rows) == (1, 5, len(reference[0].rows))
    assert through_batches(lines)[:3] == through_batches(lines[:1])[:3]


def test_a_block_of_capture_lines_decodes_as_its_lines() -> None:
    # Given a capture object's bytes: blank lines, a corrupt line, two records on one line, CRLF
    lines = lines_for([(1.5, 2, "a"), (None, 3, "b"), (2.5, True, 2.5)] * 5, "CSV", 2)
    body = b"\n".join([lines[0], b"", b"  ", *lines[1:4], b"{not json", lines[4] + lines[5], *lines[6:]]) + b"\r\n"
    decoder = BatchDecoder(FEATURES, categorical=["c"])
    window = VariantWindow("Primary", FEATURES, BASELINE)
    # When decoded as one block, and as blocks cut at line ends
    window.add_batch(decoder.decode_block(body, START, END))
    pieces = [body[offset : offset + 100] for offset in range(0, len(body), 100)]
    blocks = list(line_blocks(pieces, 300))
    assert b"".join(blocks) == body and all(block.endswith(b"\n") for block in blocks[:-1])
    cut = VariantWindow("Primary", FEATURES, BASELINE)
    for block in blocks:
        cut.add_batch(decoder.decode_block(block, START, END))
    # Then each gives the statistics of the lines, the corrupt line and the double line counted corrupt
    by_lines = VariantWindow("Primary", FEATURES, BASELINE)
    by_lines.add_batch(decoder.decode([*lines[:4], b"{not json", lines[4] + lines[5], *lines[6:]], START, END))
    assert statistics(window) == statistics(cut) == statistics(by_lines)
    assert (by_lines.corrupt_records, by_lines.records) == (2, len(lines) - 2)


# CSV payloads as clients send them, quotes included (well-formed, left open, or in mid-field): the
# column-wise reading must count exactly what the line decoder counts, payload by payload.
csv_cells = st.sampled_from(["1", "2.5", "-3", "", "a", "zz", '"4"', '"a,b"', '"5', 'x"y', '""', '"1\n2"', "true"])


@st.composite
def csv_payloads(draw: Any) -> list[str]:
    payloads = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        rows = draw(st.lists(st.lists(csv_cells, min_size=2, max_size=4), min_size=1, max_size=3))
        payloads.append("\n".join(",".join(row) for row in rows))
    return payloads


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads=csv_payloads(), base64=st.booleans())
def test_csv_payloads_with_quotes_read_column_wise_as_the_line_decoder_reads_them(
    payloads: list[str], base64: bool
) -> None:
    # Given CSV payloads, some with a quote left open, When decoded column-wise and line by line
    encoding = "BASE64" if base64 else "CSV"
    lines = [capture_line(p, encoding=encoding, inference_time=AT).encode() for p in payloads]
    # Then every count, PSI and KS is the same: an open quote never swallows the payloads after it
    assert through_batches(lines) == through_lines(lines)


def test_an_unclosed_quote_in_one_csv_payload_does_not_spill_into_the_next() -> None:
    lines = [capture_line(p, inference_time=AT).encode() for p in ('"1,2,a\n4,5,b', "7,8,a\n10,11,b", "13,14,a")]
    batch = BatchDecoder(FEATURES, categorical=["c"]).decode(lines, START, END)
    # the first payload is one malformed row (its quote runs to its end); the next two payloads: 3 rows
    assert (batch.rows, batch.malformed_rows, batch.records) == (3, 1, 3)
    assert through_batches(lines) == through_lines(lines)


def _json_capture(payload: str, base64: bool = False) -> bytes:
    encoding = "BASE64" if base64 else "JSON"
    return capture_line(payload, content_type="application/json", encoding=encoding, inference_time=AT).encode()


def test_object_payloads_arrow_cannot_mirror_read_as_the_reference_reads_them() -> None:
    # Given object payloads each with something a typed Arrow read must not take as a plain row
    odd = [
        '{"instances": null, "x": 1, "y": 2, "c": "a"}',  # an unexpected key for the reference
        '{"\\u0069nstances": null, "x": 1}',  # the same key, escaped
        '{"instances": [null, {"x": 1, "y": 2, "c": "a"}]}',  # a null instance: a malformed row
        '{"instances": [{"x": 1, "y": 2, "c": "a"}], "x": 5}',  # a feature key beside instances: ignored
        '{"instances": [{"x": 1, "y": 2, "c": "a", "extra": 3}]}',  # an unexpected key in an instance
        '{"instances": [[1, 2, "a"]]}',  # positional instances
        '{"instances": "x"}',  # instances that are not a list
        '{"x": 1, "y": 2, "c": "a"}{"x": 3}',  # two objects in one payload: corrupt
        ' {"x": 1, "y": 2, "c": "a"}',  # leading white space
        '{"x": 1' + "0" * 400 + ', "y": -1' + "0" * 400 + ', "c": "a"}',  # integers beyond a double
        '{"x": NaN, "y": Infinity, "c": "a"}',  # the standard library's spellings
        '{"x": true, "y": false, "c": "a"}',  # booleans where numbers belong
        '{"x": "2.5", "y": 2, "c": 1.0}',  # text where a number belongs, a number where text does
        '{"x": 1, "x": 2, "y": 3, "c": "a"}',  # a duplicate key: the last one counts
        '{"c": "caf\\u00e9", "x": 1}',  # an escape in a value
    ]
    plain = '{"x": 1.5, "y": 2, "c": "b"}'
    for payload in odd:
        for base64 in (False, True):
            # When each sits in a block of plain payloads (alone, and with instances payloads beside)
            lines = [_json_capture(plain, base64), _json_capture(payload, base64), _json_capture(plain, base64)]
            mixed = [*lines, _json_capture('{"instances": [' + plain + "]}", base64)]
            # Then the column-wise reading gives the reference's counts and statistics
            assert through_batches(lines) == through_lines(lines), payload
            assert through_batches(mixed) == through_lines(mixed), payload


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=finite_rows(), kinds=st.lists(st.sampled_from(["object", "instances"]), min_size=1, max_size=12))
def test_object_and_instances_payloads_mixed_in_a_block_read_as_the_reference_reads_them(
    rows: list[tuple[Any, ...]], kinds: list[str]
) -> None:
    # Given object payloads and {"instances": [...]} payloads mixed in one block
    lines = []
    for index, kind in enumerate(kinds):
        chunk = rows[index :: len(kinds)] or rows[:1]
        lines.append(_json_capture(json.dumps(json_payload(kind, chunk))))
    # Then column-wise and line by line agree on every count, PSI and KS
    assert through_batches(lines) == through_lines(lines)


def test_csv_integers_beyond_a_double_read_as_float_reads_them() -> None:
    # Given a CSV column Arrow infers as int64 (text beside it elsewhere) holding integers beyond 2**53
    rows = [(False, 0, None), (None, 2**53 + 1, None), (1.5, -(2**62) - 1, "a")]
    for encoding in ("CSV", "BASE64-CSV", "JSON"):
        lines = lines_for(rows, encoding, 2)
        # Then they round as float(int) does, on every path
        assert through_batches(lines) == through_lines(lines) == through_numpy(rows, 2), encoding


def test_a_base64_payload_outside_the_alphabet_is_counted_corrupt_and_the_rest_decoded() -> None:
    # Given BASE64 payloads of valid lengths and padding, one with a character outside the alphabet
    # (the URL-safe "-", "*", a space) so only the decoder itself can refuse it, and CSV and JSON inside
    good_csv = capture_line("1,2,a", encoding="BASE64", inference_time=AT)
    good_json = capture_line(
        '{"x": 1.5, "y": 2, "c": "b"}', content_type="application/json", encoding="BASE64", inference_time=AT
    )
    encoded = json.loads(good_csv)["captureData"]["endpointInput"]["data"]
    for bad in ("MSwy-GE=", "MSwy*GE=", "MSwy GE="):
        line = good_csv.replace(encoded, bad).encode()
        for lines in ([good_csv.encode(), line], [good_json.encode(), line, good_json.encode(), good_csv.encode()]):
            # When decoded column-wise, Then the bad payload is one corrupt record and the others read as the reference
            batch = BatchDecoder(FEATURES, categorical=["c"]).decode(lines, START, END)
            assert batch.corrupt_records == 1, bad
            assert through_batches(lines) == through_lines(lines), bad


def test_base64_csv_payloads_of_every_padding_read_as_the_reference_reads_them() -> None:
    # Given BASE64 CSV payloads whose encodings end in no, one and two "=", with and without a final
    # newline, a blank line and a row of the wrong width, all in one block of CSV only
    texts = ["1,2,a", "1.5,2,ab", "10,2,abc\n", "1,2,b\n\n3,4,ab", "7,8", "2.5,-1,zz\r\n"]
    lines = [capture_line(text, encoding="BASE64", inference_time=AT).encode() for text in texts]
    pads = {json.loads(line)["captureData"]["endpointInput"]["data"].count("=") for line in lines}
    assert pads == {0, 1, 2}
    # When decoded column-wise, Then rows, malformed rows and statistics are the reference's
    batch = BatchDecoder(FEATURES, categorical=["c"]).decode(lines, START, END)
    assert (batch.rows, batch.malformed_rows) == (6, 1)
    assert through_batches(lines) == through_lines(lines)
