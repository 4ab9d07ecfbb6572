"""boto3 client factory: every client retries throttling and transient errors with backoff.

Clients are cached per (service, region) for warm invocations; tests clear the cache between moto
sessions with ``reset_clients()``. ``AWS_ENDPOINT_URL`` (honoured by botocore) points every client
at an AWS-compatible endpoint. What else a warm execution environment keeps between invocations
(adapters, cached parameters) is cached with ``warm_state``, which ``cold_start()`` forgets.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config

T = TypeVar("T")

RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},  # exponential backoff with jitter + client-side rate limiting
    connect_timeout=5,
    read_timeout=30,
)


@functools.lru_cache(maxsize=32)
def _client(service: str, region: str | None) -> Any:
    return boto3.session.Session().client(service, region_name=region, config=RETRY_CONFIG)  # type: ignore[call-overload]


def client(service: str) -> Any:
    return _client(service, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


def reset_clients() -> None:
    _client.cache_clear()


_WARM_STATE: list[Callable[[], None]] = []


def warm_state(function: Callable[..., T]) -> functools._lru_cache_wrapper[T]:
    """``functools.cache`` for what a warm execution environment keeps between invocations."""
    cached = functools.cache(function)
    _WARM_STATE.append(cached.cache_clear)
    return cached


def cold_start() -> None:
    """Forget every ``warm_state`` cache, as a new execution environment starts without them (the
    offline harness, for each emulated world). The clients stay: they hold no state of an account,
    only the region and credentials of the environment, which do not change between worlds."""
    for clear in _WARM_STATE:
        clear()
