"""The feature baseline a model version carries: its format, a validated reader and a builder.

A version registered in a managed group references one JSON document from its model package, at
``DriftCheckBaselines.ModelDataQuality.Statistics.S3Uri`` (``ContentType: application/json``). The
drift Lambda compares each window of data capture with it; the registry CLI writes it at
registration with ``build_feature_baseline`` and the promotion pipeline adds the performance baseline
at promotion with ``with_performance_baseline``. The format (``schemaVersion`` 1)::

    {
      "schema": "mlops-registry/feature-baseline",
      "schemaVersion": 1,
      "createdAt": "2026-01-31T12:00:00Z",
      "rowCount": 10000,
      "features": {
        "<numeric feature>": {
          "type": "numeric",
          "count": 9990,                 # usable (finite) training values
          "missing": 10,                 # missing or non-numeric training values
          "binEdges": [e0, ..., ek],     # strictly increasing; PSI bins (see below)
          "proportions": [p0, ..., pk+1],# len(binEdges) + 1 values >= 0 summing to 1
          "cdf": {"values": [...], "cumulative": [...]},   # for the KS statistic
          "exactCdf": true               # cdf holds every distinct training value
        },
        "<categorical feature>": {
          "type": "categorical",
          "count": 10000, "missing": 0,
          "frequencies": {"<category>": 0.55, ...},
          "otherProportion": 0.0         # categories beyond the kept ones, and unseen ones
        }
      },
      "performance": {                   # optional: a performance baseline kept with the features
        "recordedAt": "2026-02-01T09:00:00Z",
        "metrics": {"ModelLatency": 41250.0, "Invocation5XXErrors": 0.001, "auc": 0.86}
      }
    }

The performance baseline written at promotion is a document of its own (the registrant's feature
baseline is left as registered, wherever it is): when a version enters Production the pipeline
writes ``performance_baseline_document`` to ``performance_baseline_s3_key(group, version)`` in the
registry's artifacts bucket and names it on the package, in the same ``UpdateModelPackage`` call that
sets the stage, as ``CustomerMetadataProperties[PERFORMANCE_BASELINE_PROPERTY]``. The drift function
reads the URI that property names (``performance_baseline_uri_from_package``); it replaces any
``performance`` section of the feature baseline. A version promoted before the pipeline wrote one
carries no property: its drift runs as before (the feature baseline's own section, if any)::

    {
      "schema": "mlops-registry/performance-baseline",
      "schemaVersion": 1,
      "packageArn": "arn:aws:sagemaker:...:model-package/churn-classifier/3",
      "recordedAt": "2026-02-01T09:00:00Z",
      "source": "s3://.../metrics.json",  # the validated model-quality evidence the values come from
      "metrics": {"auc": 0.86, "f1": 0.66}
    }

PSI bins of a numeric feature: a value ``x`` falls into bin ``searchsorted(binEdges, x, "right")``,
so bin 0 holds values below ``e0`` and bin ``k+1`` values at or above ``ek``. The builder puts ``e0``
at the training minimum and ``ek`` just above the training maximum, so the two outer bins have a
training proportion of 0 and count values outside the training range; a constant feature gets one
inner bin. The CDF is a right-continuous step function: ``F(x) = cumulative[i]`` for the largest
``values[i] <= x`` (0 below ``values[0]``). It is exact when the training data has at most
``cdf_points`` distinct values; otherwise it holds ``cdf_points`` training quantiles and the KS
statistic computed against it is within about ``1 / cdf_points`` of the exact one.

A Model Monitor data-quality ``statistics.json`` (what SageMaker Pipelines' ``QualityCheckStep`` and
``DefaultModelMonitor.suggest_baseline`` write, and what ``DriftCheckBaselines.ModelDataQuality.
Statistics`` of existing packages references) is accepted too, so an existing Model Monitor user need
not rebaseline: ``read_feature_baseline`` recognises it (``"features"`` is a list) and converts it with
``from_model_monitor_statistics``:

- a numerical feature's KLL ``buckets`` (``lower_bound``, ``upper_bound``, ``count``; the last bucket
  includes its upper bound) become the PSI bins: edges at each bucket's lower bound and just above the
  last upper bound, proportions ``count / sum(counts)``, 0 outside the range. PSI from them is exact
  for those bins (Model Monitor writes 10 equal-width buckets);
- its CDF is the step function at the bucket upper bounds: the KS statistic against it is exact at the
  bucket boundaries and within one bucket's proportion of the exact value in between (the KLL sketch
  itself is not expanded);
- a string feature's categorical ``buckets`` become category frequencies (keys normalised with
  ``category_key``); values beyond the listed buckets count as ``otherProportion``;
- ``num_missing`` becomes ``missing``, ``dataset.item_count`` the row count. A feature with no
  distribution (``inferred_type`` ``Unknown``) is skipped: drift is not computed for it.

This module is imported by every function family, so the reader needs only the standard library;
NumPy is imported by the builder alone.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from mlops_registry.core.contracts import BASELINE_PREFIX
from mlops_registry.core.errors import ReportUnavailableError

SCHEMA = "mlops-registry/feature-baseline"
SCHEMA_VERSION = 1
CONTENT_TYPE = "application/json"
PERFORMANCE_SCHEMA = "mlops-registry/performance-baseline"
PERFORMANCE_BASELINE_FILE = "performance-baseline.json"
PERFORMANCE_BASELINE_PROPERTY = "PerformanceBaselineS3Uri"  # CustomerMetadataProperties key
DEFAULT_BINS = 10
DEFAULT_CDF_POINTS = 1000
DEFAULT_MAX_CATEGORIES = 100
PROPORTION_TOLERANCE = 1e-6


class BaselineFormatError(ReportUnavailableError):
    """The baseline document does not follow the format; ``path`` names the offending field."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(f"invalid feature baseline at '{path}': {problem}")


# --- typed model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NumericFeatureBaseline:
    name: str
    count: int
    missing: int
    bin_edges: tuple[float, ...]
    proportions: tuple[float, ...]
    cdf_values: tuple[float, ...]
    cdf_cumulative: tuple[float, ...]
    exact_cdf: bool
    type: Literal["numeric"] = "numeric"


@dataclass(frozen=True)
class CategoricalFeatureBaseline:
    name: str
    count: int
    missing: int
    categories: tuple[str, ...]
    frequencies: tuple[float, ...]
    other_proportion: float
    type: Literal["categorical"] = "categorical"

    def frequency(self, category: str) -> float:
        return dict(zip(self.categories, self.frequencies, strict=True)).get(category, 0.0)


FeatureSpec = NumericFeatureBaseline | CategoricalFeatureBaseline


@dataclass(frozen=True)
class PerformanceBaseline:
    metrics: Mapping[str, float]
    recorded_at: str | None = None


@dataclass(frozen=True)
class FeatureBaseline:
    features: Mapping[str, FeatureSpec]
    row_count: int
    created_at: str | None = None
    performance: PerformanceBaseline | None = None


# --- locations --------------------------------------------------------------------------------
def baseline_s3_key(group_name: str, version: int | str) -> str:
    """Where the CLI stores a version's baseline in the artifacts bucket (the drift Lambda may read it)."""
    return f"{BASELINE_PREFIX}/{group_name}/{version}/feature-baseline.json"


def performance_baseline_s3_key(group_name: str, version: int | str) -> str:
    """Where the promotion pipeline writes a version's performance baseline in the artifacts bucket."""
    return f"{BASELINE_PREFIX}/{group_name}/{version}/{PERFORMANCE_BASELINE_FILE}"


def performance_baseline_uri_from_package(description: Mapping[str, Any]) -> str | None:
    """The performance baseline's S3 URI the package names (set at promotion), or ``None``."""
    uri = (description.get("CustomerMetadataProperties") or {}).get(PERFORMANCE_BASELINE_PROPERTY)
    return uri if isinstance(uri, str) and uri.startswith("s3://") else None


def drift_check_baselines(s3_uri: str) -> dict[str, Any]:
    """The ``DriftCheckBaselines`` value of ``CreateModelPackage`` that references a baseline document."""
    return {"ModelDataQuality": {"Statistics": {"ContentType": CONTENT_TYPE, "S3Uri": s3_uri}}}


def baseline_uri_from_package(description: Mapping[str, Any]) -> str | None:
    """The baseline's S3 URI from a ``DescribeModelPackage`` response, or ``None`` when it has none."""
    statistics = description.get("DriftCheckBaselines", {}).get("ModelDataQuality", {}).get("Statistics", {})
    uri = statistics.get("S3Uri")
    return uri if isinstance(uri, str) and uri.startswith("s3://") else None


# --- reader -----------------------------------------------------------------------------------
def _document(source: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    """A baseline document given parsed or as JSON text; ``BaselineFormatError`` at ``$`` otherwise."""
    if isinstance(source, str | bytes):
        try:
            source = json.loads(source)
        except (ValueError, UnicodeDecodeError) as error:
            raise BaselineFormatError("$", f"not valid JSON ({error})") from error
    return _mapping(source, "$")


def read_feature_baseline(source: Mapping[str, Any] | str | bytes) -> FeatureBaseline:
    """Parse and validate a baseline document; raises ``BaselineFormatError`` naming the field."""
    doc = _document(source)
    if isinstance(doc.get("features"), list) and "schema" not in doc:
        doc = from_model_monitor_statistics(doc)
    if doc.get("schema") != SCHEMA:
        raise BaselineFormatError("schema", f"must be {SCHEMA!r} (got {doc.get('schema')!r})")
    if doc.get("schemaVersion") != SCHEMA_VERSION:
        raise BaselineFormatError("schemaVersion", f"unsupported version {doc.get('schemaVersion')!r}")
    features_raw = _mapping(doc.get("features"), "features")
    if not features_raw:
        raise BaselineFormatError("features", "must name at least one feature")
    features: dict[str, FeatureSpec] = {}
    for name, raw in features_raw.items():
        path = f"features.{name}"
        if not isinstance(name, str) or not name:
            raise BaselineFormatError(path, "feature names must be non-empty strings")
        raw = _mapping(raw, path)
        kind = raw.get("type")
        if kind == "numeric":
            features[name] = _read_numeric(name, raw, path)
        elif kind == "categorical":
            features[name] = _read_categorical(name, raw, path)
        else:
            raise BaselineFormatError(f"{path}.type", f"must be 'numeric' or 'categorical' (got {kind!r})")
    performance = None
    if doc.get("performance") is not None:
        performance = _read_performance(_mapping(doc["performance"], "performance"))
    created_at = doc.get("createdAt")
    return FeatureBaseline(
        features=features,
        row_count=_count(doc.get("rowCount", 0), "rowCount"),
        created_at=str(created_at) if created_at is not None else None,
        performance=performance,
    )


MODEL_MONITOR_FORMAT = "sagemaker-model-monitor/statistics"


def from_model_monitor_statistics(statistics: Mapping[str, Any]) -> dict[str, Any]:
    """A Model Monitor data-quality ``statistics.json`` as a baseline document (see the module doc)."""
    features_raw = statistics.get("features")
    if not isinstance(features_raw, list) or not features_raw:
        raise BaselineFormatError("features", "a Model Monitor statistics file needs a non-empty features list")
    features: dict[str, Any] = {}
    for index, raw in enumerate(features_raw):
        path = f"features[{index}]"
        raw = _mapping(raw, path)
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise BaselineFormatError(f"{path}.name", f"must be a non-empty string (got {name!r})")
        path = f"features[{index}] ({name})"
        if name in features:
            raise BaselineFormatError(path, "duplicate feature name")
        if isinstance(raw.get("numerical_statistics"), Mapping):
            entry = _model_monitor_numeric(raw["numerical_statistics"], f"{path}.numerical_statistics")
        elif isinstance(raw.get("string_statistics"), Mapping):
            entry = _model_monitor_categorical(raw["string_statistics"], f"{path}.string_statistics")
        else:
            continue  # inferred_type Unknown: no distribution to compare with
        if entry is not None:
            features[name] = entry
    if not features:
        raise BaselineFormatError("features", "no feature with numerical or string statistics")
    dataset = statistics.get("dataset") if isinstance(statistics.get("dataset"), Mapping) else {}
    item_count = dataset.get("item_count", 0) if isinstance(dataset, Mapping) else 0
    converted: dict[str, Any] = {
        "schema": SCHEMA,
        "schemaVersion": SCHEMA_VERSION,
        "source": MODEL_MONITOR_FORMAT,
        "rowCount": _count(
            int(item_count) if isinstance(item_count, float) and item_count.is_integer() else item_count,
            "dataset.item_count",
        ),
        "features": features,
    }
    if statistics.get("performance") is not None:  # added at promotion (with_performance_baseline)
        converted["performance"] = statistics["performance"]
    return converted


def _common(raw: Mapping[str, Any], path: str) -> tuple[int, int]:
    common = _mapping(raw.get("common"), f"{path}.common")
    present = _whole(common.get("num_present"), f"{path}.common.num_present")
    missing = _whole(common.get("num_missing", 0), f"{path}.common.num_missing")
    return present, missing


def _whole(value: Any, path: str) -> int:
    """A count Model Monitor may write as 418 or 418.0."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _count(value, path)


def _model_monitor_numeric(raw: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    present, missing = _common(raw, path)
    if present == 0:
        return None
    kll = _mapping(_mapping(raw.get("distribution"), f"{path}.distribution").get("kll"), f"{path}.distribution.kll")
    buckets = kll.get("buckets")
    if not isinstance(buckets, list) or not buckets:
        raise BaselineFormatError(f"{path}.distribution.kll.buckets", "must be a non-empty list")
    bounds: list[tuple[float, float, float]] = []
    for index, bucket in enumerate(buckets):
        where = f"{path}.distribution.kll.buckets[{index}]"
        bucket = _mapping(bucket, where)
        lower = _float(bucket.get("lower_bound"), f"{where}.lower_bound", non_negative=False)
        upper = _float(bucket.get("upper_bound"), f"{where}.upper_bound", non_negative=False)
        if upper < lower or (bounds and lower < bounds[-1][0]):
            raise BaselineFormatError(where, f"bounds must be ordered (lower {lower}, upper {upper})")
        bounds.append((lower, upper, _float(bucket.get("count"), f"{where}.count")))
    total = math.fsum(count for _, _, count in bounds)
    if total <= 0:
        raise BaselineFormatError(f"{path}.distribution.kll.buckets", "bucket counts sum to 0")
    # Merge buckets that share a lower bound (a constant feature: every bucket is [v, v]).
    edges: list[float] = []
    counts: list[float] = []
    uppers: list[float] = []
    for lower, upper, count in bounds:
        if edges and lower <= edges[-1]:
            counts[-1] += count
            uppers[-1] = max(uppers[-1], upper)
        else:
            edges.append(lower)
            counts.append(count)
            uppers.append(upper)
    edges.append(math.nextafter(uppers[-1], math.inf))
    proportions = [0.0, *(count / total for count in counts), 0.0]
    cdf_values: list[float] = []
    cumulative: list[float] = []
    running = 0.0
    for upper, count in zip(uppers, counts, strict=True):
        running += count
        if cdf_values and upper <= cdf_values[-1]:
            cumulative[-1] = running / total
        else:
            cdf_values.append(upper)
            cumulative.append(running / total)
    cumulative[-1] = 1.0
    return {
        "type": "numeric",
        "count": present,
        "missing": missing,
        "binEdges": edges,
        "proportions": proportions,
        "cdf": {"values": cdf_values, "cumulative": cumulative},
        "exactCdf": False,
    }


def _model_monitor_categorical(raw: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    present, missing = _common(raw, path)
    if present == 0:
        return None
    categorical = _mapping(
        _mapping(raw.get("distribution"), f"{path}.distribution").get("categorical"), f"{path}.distribution.categorical"
    )
    buckets = categorical.get("buckets")
    if not isinstance(buckets, list):
        raise BaselineFormatError(f"{path}.distribution.categorical.buckets", "must be a list")
    counts: dict[str, float] = {}
    for index, bucket in enumerate(buckets):
        where = f"{path}.distribution.categorical.buckets[{index}]"
        bucket = _mapping(bucket, where)
        key = category_key(bucket.get("value"))
        if key is not None:
            counts[key] = counts.get(key, 0.0) + _float(bucket.get("count"), f"{where}.count")
    listed = math.fsum(counts.values())
    denominator = max(float(present), listed)
    frequencies = {category: count / denominator for category, count in counts.items()}
    return {
        "type": "categorical",
        "count": present,
        "missing": missing,
        "frequencies": frequencies,
        "otherProportion": max(0.0, 1.0 - math.fsum(frequencies.values())),
    }


def _read_numeric(name: str, raw: Mapping[str, Any], path: str) -> NumericFeatureBaseline:
    count = _count(raw.get("count"), f"{path}.count", minimum=1)
    edges = _floats(raw.get("binEdges"), f"{path}.binEdges", minimum_length=1)
    _strictly_increasing(edges, f"{path}.binEdges")
    proportions = _floats(raw.get("proportions"), f"{path}.proportions", minimum_length=2)
    if len(proportions) != len(edges) + 1:
        raise BaselineFormatError(
            f"{path}.proportions", f"must have len(binEdges) + 1 = {len(edges) + 1} values (got {len(proportions)})"
        )
    _distribution(proportions, f"{path}.proportions")
    cdf = _mapping(raw.get("cdf"), f"{path}.cdf")
    values = _floats(cdf.get("values"), f"{path}.cdf.values", minimum_length=1)
    _strictly_increasing(values, f"{path}.cdf.values")
    cumulative = _floats(cdf.get("cumulative"), f"{path}.cdf.cumulative", minimum_length=1)
    if len(cumulative) != len(values):
        raise BaselineFormatError(f"{path}.cdf.cumulative", "must have as many values as cdf.values")
    previous = 0.0
    for index, value in enumerate(cumulative):
        if not previous <= value <= 1.0 + PROPORTION_TOLERANCE:
            raise BaselineFormatError(f"{path}.cdf.cumulative[{index}]", f"must be non-decreasing in [0, 1] ({value})")
        previous = value
    if abs(cumulative[-1] - 1.0) > PROPORTION_TOLERANCE:
        raise BaselineFormatError(f"{path}.cdf.cumulative", f"must end at 1 (got {cumulative[-1]})")
    return NumericFeatureBaseline(
        name=name,
        count=count,
        missing=_count(raw.get("missing", 0), f"{path}.missing"),
        bin_edges=tuple(edges),
        proportions=tuple(proportions),
        cdf_values=tuple(values),
        cdf_cumulative=tuple(min(c, 1.0) for c in cumulative),
        exact_cdf=bool(raw.get("exactCdf", False)),
    )


def _read_categorical(name: str, raw: Mapping[str, Any], path: str) -> CategoricalFeatureBaseline:
    count = _count(raw.get("count"), f"{path}.count", minimum=1)
    frequencies = _mapping(raw.get("frequencies"), f"{path}.frequencies")
    categories = tuple(str(c) for c in frequencies)
    values = [_float(frequencies[c], f"{path}.frequencies.{c}") for c in frequencies]
    other = _float(raw.get("otherProportion", 0.0), f"{path}.otherProportion")
    _distribution([*values, other], f"{path}.frequencies")
    if not categories and other <= 0:
        raise BaselineFormatError(f"{path}.frequencies", "must name at least one category")
    return CategoricalFeatureBaseline(
        name=name,
        count=count,
        missing=_count(raw.get("missing", 0), f"{path}.missing"),
        categories=categories,
        frequencies=tuple(values),
        other_proportion=other,
    )


def _read_performance(raw: Mapping[str, Any]) -> PerformanceBaseline:
    metrics_raw = _mapping(raw.get("metrics", {}), "performance.metrics")
    metrics: dict[str, float] = {}
    for metric, value in metrics_raw.items():
        if not isinstance(metric, str) or not metric:
            raise BaselineFormatError("performance.metrics", "metric names must be non-empty strings")
        metrics[metric] = _float(value, f"performance.metrics.{metric}", non_negative=False)
    recorded_at = raw.get("recordedAt")
    return PerformanceBaseline(metrics=metrics, recorded_at=str(recorded_at) if recorded_at is not None else None)


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BaselineFormatError(path, f"must be an object (got {type(value).__name__})")
    return value


def _count(value: Any, path: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BaselineFormatError(path, f"must be an integer >= {minimum} (got {value!r})")
    return value


def _float(value: Any, path: str, non_negative: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BaselineFormatError(path, f"must be a finite number (got {value!r})")
    if non_negative and value < 0:
        raise BaselineFormatError(path, f"must not be negative (got {value!r})")
    return float(value)


def _floats(value: Any, path: str, minimum_length: int) -> list[float]:
    if not isinstance(value, list) or len(value) < minimum_length:
        raise BaselineFormatError(path, f"must be a list of at least {minimum_length} numbers")
    return [_float(v, f"{path}[{i}]", non_negative=False) for i, v in enumerate(value)]


def _strictly_increasing(values: Sequence[float], path: str) -> None:
    for index in range(1, len(values)):
        if values[index] <= values[index - 1]:
            raise BaselineFormatError(f"{path}[{index}]", "values must be strictly increasing")


def _distribution(values: Sequence[float], path: str) -> None:
    for index, value in enumerate(values):
        if value < 0:
            raise BaselineFormatError(f"{path}[{index}]", f"proportions must not be negative ({value})")
    total = math.fsum(values)
    if abs(total - 1.0) > PROPORTION_TOLERANCE:
        raise BaselineFormatError(path, f"proportions must sum to 1 (got {total})")


# --- value normalisation (shared by the builder and the drift Lambda) --------------------------
# One reading of a raw value whatever its encoding: CSV text ("1.0", "2.50", "true"), JSON numbers and
# booleans (including integers too large for a float), NumPy scalars (np.float32, np.bool_, ...) and
# Python numbers. The drift Lambda's fast paths (NumPy and Arrow conversions) agree with these
# functions; tests/unit/test_drift_encodings.py checks every encoding against them.
_TRUE, _FALSE = "true", "false"
_INTEGER_TEXT = frozenset("0123456789")


def _numpy_scalar(value: Any) -> Any:
    """A NumPy scalar as the Python value it stands for (float32 through its shortest decimal form,
    so np.float32(0.1) reads as 0.1 like its text); any other value unchanged."""
    if type(value).__module__ != "numpy" or not hasattr(value, "dtype"):
        return value
    kind = value.dtype.kind
    if kind == "b":
        return bool(value)
    if kind in "iu":
        return int(value)
    if kind == "f":
        return float(str(value)) if value.dtype.itemsize < 8 else float(value)
    if kind in "US":
        return value.item()
    return value


def _boolean_text(text: str) -> bool | None:
    lowered = text.lower()
    return True if lowered == _TRUE else False if lowered == _FALSE else None


def _number_from_text(text: str) -> int | float:
    """The number a text spells (an integer literal stays an exact int); ``ValueError`` otherwise."""
    digits = text[1:] if text[:1] in "+-" else text
    if digits and set(digits) <= _INTEGER_TEXT:
        return int(text)
    return float(text)


def _number_key(number: int | float) -> str | None:
    if isinstance(number, int):
        return str(number)
    if math.isnan(number):
        return None
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return str(int(number)) if number.is_integer() else repr(number)


def category_key(value: Any) -> str | None:
    """The category a raw value counts as; ``None`` for a missing value.

    Numbers are keyed by their value: ``1``, ``1.0``, ``"1.0"``, ``np.float32(1.0)`` and ``"1e0"`` are
    one category, as are ``"2.50"`` and ``2.5``; booleans (Python, NumPy, or the text true/false in any
    case) are ``"true"`` / ``"false"``; other text is stripped; NaN and empty text are missing.
    """
    value = _numpy_scalar(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return _TRUE if value else _FALSE
    if isinstance(value, int | float):
        return _number_key(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    if not text:
        return None
    boolean = _boolean_text(text)
    if boolean is not None:
        return _TRUE if boolean else _FALSE
    try:
        return _number_key(_number_from_text(text))
    except ValueError:
        return text


def numeric_value(value: Any) -> float | None:
    """The float a raw value stands for, ``None`` when it is missing (None, empty text, NaN).

    Infinite values are returned as ``±inf`` (an integer too large for a float, like ``10**400``, is
    one of them); booleans read as 1.0 / 0.0 in every encoding (as NumPy and Arrow read them). Raises
    ``ValueError`` for a value that is not a number (text, containers)."""
    value = _numpy_scalar(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        boolean = _boolean_text(value)
        if boolean is not None:
            return 1.0 if boolean else 0.0
        value = _number_from_text(value)
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    try:
        number = float(value)
    except TypeError as error:
        raise ValueError(f"{type(value).__name__} is not a numeric feature value") from error
    return None if math.isnan(number) else number


# --- builder ----------------------------------------------------------------------------------
def build_feature_baseline(
    columns: Mapping[str, Collection[Any]],
    *,
    categorical: Collection[str] = (),
    bins: int = DEFAULT_BINS,
    cdf_points: int = DEFAULT_CDF_POINTS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    performance: Mapping[str, float] | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """Compute the baseline document of a training data set, one column per feature.

    A column is categorical when named in ``categorical`` or when any of its values is not numeric;
    missing values (``None``, ``""``, NaN) are counted, not binned. The returned document is valid
    (it is read back before it is returned) and ``json.dumps``-able.
    """
    import numpy as np  # only the builder needs NumPy: the reader stays dependency-free

    if not columns:
        raise ValueError("build_feature_baseline: no feature columns")
    if bins < 1 or cdf_points < 2 or max_categories < 1:
        raise ValueError("build_feature_baseline: bins >= 1, cdf_points >= 2 and max_categories >= 1 required")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"build_feature_baseline: columns differ in length {sorted(lengths)}")
    features: dict[str, Any] = {}
    for name, values in columns.items():
        numbers = None if name in categorical else _numeric_column(values)
        if numbers is None:
            features[name] = _categorical_entry(name, values, max_categories)
        else:
            finite, missing = numbers
            if len(finite) == 0:
                raise ValueError(f"build_feature_baseline: feature {name!r} has no usable numeric value")
            features[name] = _numeric_entry(np.asarray(finite, dtype=np.float64), missing, bins, cdf_points)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "schemaVersion": SCHEMA_VERSION,
        "createdAt": _timestamp(created_at or datetime.now(UTC)),
        "rowCount": lengths.pop(),
        "features": features,
    }
    if performance:
        document = with_performance_baseline(document, performance, recorded_at=created_at)
    read_feature_baseline(document)
    return document


def with_performance_baseline(
    document: Mapping[str, Any], metrics: Mapping[str, float], *, recorded_at: datetime | None = None
) -> dict[str, Any]:
    """A copy of ``document`` whose ``performance`` section holds ``metrics`` (recorded at promotion)."""
    updated = json.loads(json.dumps(document))
    updated["performance"] = {
        "recordedAt": _timestamp(recorded_at or datetime.now(UTC)),
        "metrics": {name: float(value) for name, value in metrics.items()},
    }
    read_feature_baseline(updated)
    return updated


def performance_baseline_document(
    package_arn: str, metrics: Mapping[str, float], source: str, *, recorded_at: datetime | None = None
) -> dict[str, Any]:
    """The performance baseline of a version entering Production (see the module doc); validated."""
    document = {
        "schema": PERFORMANCE_SCHEMA,
        "schemaVersion": SCHEMA_VERSION,
        "packageArn": package_arn,
        "recordedAt": _timestamp(recorded_at or datetime.now(UTC)),
        "source": source,
        "metrics": {name: float(value) for name, value in metrics.items()},
    }
    read_performance_baseline(document, package_arn)
    return document


def read_performance_baseline(source: Mapping[str, Any] | str | bytes, package_arn: str) -> PerformanceBaseline:
    """Parse and validate a performance baseline document written for ``package_arn``; raises
    ``BaselineFormatError`` naming the field (a document of another version is refused)."""
    doc = _document(source)
    if doc.get("schema") != PERFORMANCE_SCHEMA:
        raise BaselineFormatError("schema", f"must be {PERFORMANCE_SCHEMA!r} (got {doc.get('schema')!r})")
    if doc.get("schemaVersion") != SCHEMA_VERSION:
        raise BaselineFormatError("schemaVersion", f"unsupported version {doc.get('schemaVersion')!r}")
    if doc.get("packageArn") != package_arn:
        raise BaselineFormatError("packageArn", f"written for {doc.get('packageArn')!r}, not {package_arn!r}")
    return _read_performance(doc)


def dumps_feature_baseline(document: Mapping[str, Any]) -> str:
    read_feature_baseline(document)
    return json.dumps(document, sort_keys=True, allow_nan=False)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _numeric_column(values: Iterable[Any]) -> tuple[Any, int] | None:
    dtype = getattr(values, "dtype", None)
    if dtype is not None and dtype.kind in "biuf":  # a NumPy column: no per-value Python work
        import numpy as np

        array = np.asarray(values, dtype=np.float64)
        usable = np.isfinite(array)
        return array[usable], int(array.size - usable.sum())  # NaN and +-inf count as missing
    finite: list[float] = []
    missing = 0
    for value in values:
        try:
            number = numeric_value(value)
        except ValueError:
            return None  # text that is not a number: a categorical column
        if number is None or math.isinf(number):
            missing += 1  # as on the NumPy path: NaN and +-inf are not usable training values
        else:
            finite.append(number)
    return finite, missing


def _numeric_entry(values: Any, missing: int, bins: int, cdf_points: int) -> dict[str, Any]:
    import numpy as np

    ordered = np.sort(values)
    count = int(ordered.size)
    lowest, highest = float(ordered[0]), float(ordered[-1])
    cuts = np.quantile(ordered, np.arange(bins) / bins, method="inverted_cdf")
    edges = np.unique(np.append(cuts, [lowest]))
    edges = np.append(edges[edges <= highest], np.nextafter(highest, np.inf))
    proportions = np.bincount(np.searchsorted(edges, ordered, side="right"), minlength=edges.size + 1) / count
    distinct, counts = np.unique(ordered, return_counts=True)
    if distinct.size <= cdf_points:
        cdf_values, cumulative, exact = distinct, np.cumsum(counts) / count, True
    else:
        ranks = np.ceil(np.arange(1, cdf_points + 1) / cdf_points * count).astype(np.int64) - 1
        cdf_values = np.unique(ordered[ranks])
        cumulative = np.searchsorted(ordered, cdf_values, side="right") / count
        exact = False
    return {
        "type": "numeric",
        "count": count,
        "missing": missing,
        "binEdges": [float(e) for e in edges],
        "proportions": [float(p) for p in proportions],
        "cdf": {"values": [float(v) for v in cdf_values], "cumulative": [float(c) for c in cumulative]},
        "exactCdf": exact,
    }


def _categorical_entry(name: str, values: Iterable[Any], max_categories: int) -> dict[str, Any]:
    keys = [category_key(value) for value in values]
    present = [key for key in keys if key is not None]
    if not present:
        raise ValueError(f"build_feature_baseline: feature {name!r} has no usable categorical value")
    counts = Counter(present)
    kept = counts.most_common(max_categories)
    total = len(present)
    kept_total = sum(c for _, c in kept)
    return {
        "type": "categorical",
        "count": total,
        "missing": len(keys) - total,
        "frequencies": {category: c / total for category, c in kept},
        "otherProportion": (total - kept_total) / total,
    }
