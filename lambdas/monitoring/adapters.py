"""boto3 adapters of the drift run's ports: SageMaker registry, S3, CloudWatch, EventBridge.

Each takes an optional client (tests pass their own); by default it uses the project's retrying
client factory. Nothing here decides anything: the decisions are in ``monitoring.service``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from mlops_registry.core import aws, contracts
from mlops_registry.core.baseline import (
    FeatureBaseline,
    PerformanceBaseline,
    read_feature_baseline,
    read_performance_baseline,
)
from mlops_registry.core.errors import RegistryError, ReportUnavailableError
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.observability import logger
from monitoring.capture import line_blocks
from monitoring.performance import metric_source
from monitoring.service import MetricDatum, ServingVersion

PUT_METRIC_DATA_BATCH = 1000  # CloudWatch's per-request limit of metric data
MAX_BASELINE_BYTES = 20 * 1024 * 1024
CAPTURE_READ_CHUNK = 1024 * 1024
CAPTURE_BLOCK_BYTES = 4 * 1024 * 1024  # capture decoded together: bounds memory, amortises Arrow's calls
PARTIAL_READ_THREADS = 32


class DriftEventError(RegistryError):
    """EventBridge did not accept the ModelDriftDetected event."""


class SageMakerServingVersions:
    """The group's Production version, as ``mlops_registry.core.model_registry.production_version`` decides."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("sagemaker")

    def production_version(self, group: str) -> ServingVersion | None:
        view = ModelRegistry(self.client).current_production(group)
        if view is None:
            return None
        return ServingVersion(
            package_arn=view.arn,
            version=view.version,
            baseline_uri=view.baseline_uri,
            performance_baseline_uri=view.performance_baseline_uri,
        )


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ReportUnavailableError(f"not an S3 object URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


class S3BaselineStore:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    def load(self, uri: str) -> FeatureBaseline:
        return read_feature_baseline(self._read(uri))

    def load_performance(self, uri: str, package_arn: str) -> PerformanceBaseline:
        return read_performance_baseline(self._read(uri), package_arn)

    def _read(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        client = self._client or aws.client("s3")
        try:
            response = client.get_object(Bucket=bucket, Key=key)
            if response.get("ContentLength", 0) > MAX_BASELINE_BYTES:
                raise ReportUnavailableError(f"baseline {uri} is larger than {MAX_BASELINE_BYTES} bytes")
            return bytes(response["Body"].read())
        except ClientError as error:
            raise ReportUnavailableError(f"cannot read baseline {uri}: {error}") from error


def capture_hour_prefixes(prefix: str, endpoint: str, variant: str, start: datetime, end: datetime) -> list[str]:
    """The hour folders SageMaker may have written the window's captures to (UTC)."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    prefixes = []
    while hour < end:
        prefixes.append(f"{prefix}/{endpoint}/{variant}/{hour:%Y/%m/%d/%H}/")
        hour += timedelta(hours=1)
    return prefixes


class S3CaptureSource:
    """Streams the capture lines of a window, object by object, without holding an object in memory."""

    def __init__(self, bucket: str, prefix: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    def lines(self, endpoint: str, variant: str, start: datetime, end: datetime) -> Iterator[bytes]:
        client = self._client or aws.client("s3")
        for item in self._objects(client, endpoint, variant, start, end):
            yield from self._object_lines(client, item["Key"])

    def window_bytes(self, endpoint: str, variant: str, start: datetime, end: datetime) -> int:
        """Bytes of capture the window's hour folders hold (what sizing a run needs: a listing, no reads)."""
        client = self._client or aws.client("s3")
        return sum(int(item.get("Size", 0)) for item in self._objects(client, endpoint, variant, start, end))

    def hour_prefixes(self, endpoint: str, variant: str, start: datetime, end: datetime) -> list[str]:
        return capture_hour_prefixes(self.prefix, endpoint, variant, start, end)

    def object_lines(self, key: str) -> Iterator[bytes]:
        yield from self._object_lines(self._client or aws.client("s3"), key)

    def _objects(self, client: Any, endpoint: str, variant: str, start: datetime, end: datetime) -> Iterator[Any]:
        paginator = client.get_paginator("list_objects_v2")
        for hour_prefix in capture_hour_prefixes(self.prefix, endpoint, variant, start, end):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=hour_prefix):
                yield from page.get("Contents", [])

    def blocks(self, endpoint: str, variant: str, start: datetime, end: datetime) -> Iterator[bytes]:
        """The window's capture as blocks of whole lines (``capture.line_blocks``): the decoder reads a
        block in one pass, with no split into lines in Python."""
        client = self._client or aws.client("s3")
        for item in self._objects(client, endpoint, variant, start, end):
            yield from self._object_blocks(client, item["Key"])

    def object_blocks(self, key: str) -> Iterator[bytes]:
        yield from self._object_blocks(self._client or aws.client("s3"), key)

    def _object_lines(self, client: Any, key: str) -> Iterator[bytes]:
        body = self._body(client, key)
        if body is None:
            return
        try:
            for line in body.iter_lines(chunk_size=CAPTURE_READ_CHUNK):
                if line.strip():
                    yield line
        finally:
            body.close()

    def _object_blocks(self, client: Any, key: str) -> Iterator[bytes]:
        body = self._body(client, key)
        if body is None:
            return
        try:
            yield from line_blocks(body.iter_chunks(chunk_size=CAPTURE_READ_CHUNK), CAPTURE_BLOCK_BYTES)
        finally:
            body.close()

    def _body(self, client: Any, key: str) -> Any:
        try:
            return client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                logger.warning("capture object vanished between list and get", extra={"key": key})
                return None
            raise


class CloudWatchMetricSink:
    def __init__(self, namespace: str, client: Any | None = None) -> None:
        self.namespace = namespace
        self._client = client

    def publish(self, data: Sequence[MetricDatum]) -> None:
        client = self._client or aws.client("cloudwatch")
        for offset in range(0, len(data), PUT_METRIC_DATA_BATCH):
            batch = data[offset : offset + PUT_METRIC_DATA_BATCH]
            client.put_metric_data(
                Namespace=self.namespace,
                MetricData=[
                    {
                        "MetricName": d.name,
                        "Dimensions": [{"Name": n, "Value": v} for n, v in d.dimensions],
                        "Timestamp": d.timestamp,
                        "Value": d.value,
                        "Unit": d.unit,
                    }
                    for d in batch
                ],
            )


class CloudWatchPerformanceSource:
    """Window values of the configured performance metrics, exact over any period alignment.

    Averages are Sum / SampleCount and error rates Sum(errors) / Sum(Invocations) over every
    datapoint of the window, so CloudWatch's period alignment never splits the window unevenly.
    """

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    def window_values(
        self, endpoint: str, variants: Sequence[str], metrics: Sequence[str], start: datetime, end: datetime
    ) -> Mapping[tuple[str, str], float | None]:
        client = self._client or aws.client("cloudwatch")
        period = 60 if end - start <= timedelta(days=1) else 3600
        queries: list[dict[str, Any]] = []
        plan: dict[tuple[str, str], tuple[str, str]] = {}
        for variant in variants:
            for metric in metrics:
                source = metric_source(metric)
                numerator = self._query(queries, source.namespace, source.metric_name, "Sum", endpoint, variant, period)
                if source.kind == "error_rate":
                    denominator = self._query(
                        queries,
                        contracts.SAGEMAKER_NAMESPACE,
                        contracts.METRIC_INVOCATIONS,
                        "Sum",
                        endpoint,
                        variant,
                        period,
                    )
                else:
                    denominator = self._query(
                        queries, source.namespace, source.metric_name, "SampleCount", endpoint, variant, period
                    )
                plan[(variant, metric)] = (numerator, denominator)
        totals: dict[str, float] = {}
        for offset in range(0, len(queries), 500):
            pages = client.get_paginator("get_metric_data").paginate(
                MetricDataQueries=queries[offset : offset + 500], StartTime=start, EndTime=end
            )
            for page in pages:
                for series in page.get("MetricDataResults", []):
                    totals[series["Id"]] = totals.get(series["Id"], 0.0) + sum(series.get("Values", []))
        values: dict[tuple[str, str], float | None] = {}
        for key, (numerator, denominator) in plan.items():
            count = totals.get(denominator, 0.0)
            values[key] = totals.get(numerator, 0.0) / count if count > 0 else None
        return values

    @staticmethod
    def _query(
        queries: list[dict[str, Any]], namespace: str, metric: str, stat: str, endpoint: str, variant: str, period: int
    ) -> str:
        query_id = f"q{len(queries)}"
        queries.append(
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [
                            {"Name": contracts.DIMENSION_ENDPOINT, "Value": endpoint},
                            {"Name": contracts.DIMENSION_VARIANT, "Value": variant},
                        ],
                    },
                    "Period": period,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
        )
        return query_id


class EventBridgeDriftEvents:
    def __init__(self, bus_name: str, source: str, detail_type: str, client: Any | None = None) -> None:
        self.bus_name = bus_name
        self.source = source
        self.detail_type = detail_type
        self._client = client

    def drift_detected(self, detail: Mapping[str, Any]) -> None:
        client = self._client or aws.client("events")
        response = client.put_events(
            Entries=[
                {
                    "Source": self.source,
                    "DetailType": self.detail_type,
                    "Detail": json.dumps(detail, allow_nan=False),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount", 0):
            raise DriftEventError(f"EventBridge rejected the drift event: {response.get('Entries')}")


class StepFunctionsFanOut:
    """Starts the drift fan-out state machine for a window too large for one invocation.

    The execution name is derived from the endpoint and the window's end, so a retried scheduled
    invocation finds the execution already started instead of starting a second one."""

    def __init__(
        self,
        state_machine_arn: str,
        threshold_bytes: int,
        bucket: str,
        captures: S3CaptureSource,
        partials_prefix: str,
        client: Any | None = None,
    ) -> None:
        self.state_machine_arn = state_machine_arn
        self.threshold_bytes = threshold_bytes
        self.bucket = bucket
        self.captures = captures
        self.partials_prefix = partials_prefix.strip("/")
        self._client = client

    def start(self, request: Any, serving: ServingVersion, start: datetime, end: datetime, size: int) -> str:
        from monitoring.fanout import execution_name, fan_out_input

        client = self._client or aws.client("stepfunctions")
        name = execution_name(request, end)
        payload = fan_out_input(
            request,
            serving,
            start,
            end,
            bucket=self.bucket,
            prefixes=[
                {"variant": variant, "prefix": prefix}
                for variant in request.variants
                for prefix in self.captures.hour_prefixes(request.endpoint_name, variant, start, end)
            ],
            partials_prefix=self.partials_prefix,
            run_id=name,
            size=size,
        )
        try:
            response = client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(payload)
            )
            return str(response["executionArn"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
            arn = self.state_machine_arn.replace(":stateMachine:", ":execution:")
            return f"{arn}:{name}"


class S3PartialStore:
    """Fan-out partial statistics under ``<prefix>/<run id>/<variant>/``: written by the workers,
    read and then deleted by the reducer."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("s3")

    def put(self, key: str, partial: Mapping[str, Any]) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(partial).encode())

    def keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return sorted(keys)

    def get(self, key: str) -> Any:
        import orjson

        return orjson.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def get_many(self, keys: Sequence[str]) -> Iterator[Any]:
        """The partials of ``keys``, read ``PARTIAL_READ_THREADS`` at a time (S3 latency, not CPU, bounds it)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=PARTIAL_READ_THREADS) as pool:
            yield from pool.map(self.get, keys)

    def delete(self, keys: Sequence[str]) -> None:
        for offset in range(0, len(keys), 1000):
            batch = keys[offset : offset + 1000]
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
