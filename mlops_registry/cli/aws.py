"""The CLI's one boto3 session: ``--profile``, ``--region`` and ``--endpoint-url`` applied to every client.

``--endpoint-url`` points every service at one AWS-compatible endpoint (an emulator such as moto's
server or LocalStack). Retries use botocore's standard mode; ``AWS_MAX_ATTEMPTS`` overrides the
number of attempts, as for any AWS tool.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from mlops_registry.cli.errors import UsageError
from mlops_registry.core.contracts import APP_NAME

CLIENT_CONFIG = Config(
    retries={"mode": "standard"},
    connect_timeout=5,
    read_timeout=60,
    user_agent_extra=f"{APP_NAME}-cli",
)


@dataclass(frozen=True)
class AwsOptions:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


@functools.lru_cache(maxsize=4)
def _shared_loader(data_path: str | None) -> botocore.loaders.Loader:
    """One service-model loader per process: parsing the SageMaker model costs ~0.5 s per session."""
    return botocore.loaders.create_loader(data_path)


class AwsSession:
    def __init__(self, options: AwsOptions, default_region: Callable[[], str | None] | None = None) -> None:
        """``default_region`` is asked only when neither ``--region``, the environment nor the profile names one.

        The region's precedence is the AWS CLI's: ``--region``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the
        profile (boto3 itself reads only the last two)."""
        self.options = options
        core = botocore.session.Session()
        core.register_component("data_loader", _shared_loader(core.get_config_variable("data_path")))
        try:
            self._session = boto3.session.Session(
                botocore_session=core,
                profile_name=options.profile,
                region_name=options.region or os.environ.get("AWS_REGION") or None,
            )
        except ProfileNotFound as error:
            raise UsageError(
                f"AWS profile {options.profile!r} is not configured", hint="see `aws configure list-profiles`"
            ) from error
        region = self._session.region_name or (default_region() if default_region else None)
        if not region:
            raise UsageError(
                "no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or configure one for the profile",
            )
        self.region: str = region
        self._clients: dict[str, Any] = {}
        self._identity: dict[str, Any] | None = None

    @property
    def endpoint_url(self) -> str | None:
        return self.options.endpoint_url

    def describe_target(self) -> str:
        where = self.endpoint_url or self._configured_endpoint() or f"AWS {self.region}"
        return f"{where}" + (f" (profile {self.options.profile})" if self.options.profile else "")

    def _configured_endpoint(self) -> str | None:
        """An endpoint set outside the command line (``AWS_ENDPOINT_URL``, the profile's ``endpoint_url``)."""
        try:
            scoped = self._session._session.get_scoped_config()
        except Exception:  # a broken profile is reported by the call that needs it
            scoped = {}
        found = os.environ.get("AWS_ENDPOINT_URL") or scoped.get("endpoint_url")
        return str(found) if found else None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service,  # type: ignore[call-overload]
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=CLIENT_CONFIG,
            )
        return self._clients[service]

    def identity(self) -> dict[str, Any]:
        """The caller's STS identity (``Account``, ``Arn``, ``UserId``), fetched once."""
        if self._identity is None:
            response = self.client("sts").get_caller_identity()
            self._identity = {k: response[k] for k in ("Account", "Arn", "UserId") if k in response}
        return self._identity

    @property
    def account(self) -> str:
        return str(self.identity()["Account"])

    @property
    def caller_arn(self) -> str:
        return str(self.identity()["Arn"])

    @property
    def partition(self) -> str:
        arn = self.identity().get("Arn", "arn:aws:")
        return str(arn).split(":")[1] or "aws"
