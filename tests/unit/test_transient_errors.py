"""Which AWS failures are transient (retried by the state machine) and which are definitive facts."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from mlops_registry.core.aws_errors import is_transient, transient_errors_are_typed
from mlops_registry.core.errors import TransientServiceError


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SlowDown", 503),
        ("ServiceUnavailable", 503),
        ("InternalError", 500),
        ("ThrottlingException", 400),  # SageMaker throttles with a 400
        ("ProvisionedThroughputExceededException", 400),
        ("SomethingNew", 502),  # any 5xx, named or not
        ("TooManyRequests", 429),
    ],
)
def test_throttling_and_server_errors_are_transient(code: str, status: int) -> None:
    assert is_transient(_client_error(code, status))


@pytest.mark.parametrize(
    ("code", "status"),
    [("NoSuchKey", 404), ("AccessDenied", 403), ("NoSuchBucket", 404), ("ValidationException", 400)],
)
def test_client_errors_are_definitive(code: str, status: int) -> None:
    assert not is_transient(_client_error(code, status))


def test_transport_failures_are_transient_and_other_exceptions_are_not() -> None:
    assert is_transient(EndpointConnectionError(endpoint_url="https://s3.eu-west-1.amazonaws.com"))
    assert is_transient(ReadTimeoutError(endpoint_url="https://s3.eu-west-1.amazonaws.com"))
    assert not is_transient(ValueError("not AWS"))


def test_the_decorator_types_transient_errors_and_passes_definitive_ones() -> None:
    @transient_errors_are_typed
    def read(error: Exception) -> None:
        raise error

    with pytest.raises(TransientServiceError, match="SlowDown"):
        read(_client_error("SlowDown", 503))
    with pytest.raises(ClientError, match="NoSuchKey"):
        read(_client_error("NoSuchKey", 404))
