"""Maps AWS throttling that outlived the client's retries to a typed error the state machine retries."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from registry_core.errors import THROTTLING_CODES, TransientServiceError

F = TypeVar("F", bound=Callable[..., Any])


def transient_errors_are_typed(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] in THROTTLING_CODES:
                raise TransientServiceError(str(error)) from error
            raise

    return wrapper  # type: ignore[return-value]
