"""Tells transient AWS failures (throttling, 5xx, connection trouble that outlived the client's own
retries) from definitive ones, and maps the transient ones to ``TransientServiceError``, the typed
error the state machine's Retry matches. A transient failure is never a verdict: no gate denies on it
and idempotency stores no result for it (the exception propagates)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from mlops_registry.core.errors import THROTTLING_CODES, TransientServiceError

F = TypeVar("F", bound=Callable[..., Any])

# botocore errors raised when no (complete) response arrived, after the client's retries.
TRANSIENT_TRANSPORT_ERRORS = (
    ConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    IncompleteReadError,
    ResponseStreamingError,
)


def is_transient(error: BaseException) -> bool:
    """True for throttling, any 5xx and transport failures; False for a definitive answer (4xx)."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in THROTTLING_CODES or status >= 500 or status == 429
    return isinstance(error, TRANSIENT_TRANSPORT_ERRORS)


def as_transient(error: BaseException, what: str) -> TransientServiceError:
    return TransientServiceError(f"{what}: transient AWS failure after the client's retries ({error})")


def transient_errors_are_typed(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ClientError, BotoCoreError) as error:
            if is_transient(error):
                raise as_transient(error, func.__name__) from error
            raise

    return wrapper  # type: ignore[return-value]
