"""boto3 client factory: every client retries throttling and transient errors with backoff.

Clients are cached per (service, region) for warm invocations; tests clear the cache between moto
sessions with ``reset_clients()``. ``AWS_ENDPOINT_URL`` (honoured by botocore) points every client
at an AWS-compatible endpoint.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config

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
