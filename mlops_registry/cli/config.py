"""Which groups this registry manages, and their policies: from the deployment, or from a config file.

By default the CLI reads what is deployed: the promotion stack publishes every managed group's policy
as an SSM parameter ``/<prefix>/groups/<group>`` (``mlops_registry.core.config.publish``), where the prefix
follows the naming convention ``mlops-registry-<env>`` (``mlops_registry.core.names``). The environment is
``--env``, else ``REGISTRY_ENV``, else ``dev``; nothing is read from the working directory, so the CLI
works from any folder and needs no ``cdk.json``.

``--config PATH`` (or ``REGISTRY_CONFIG``) reads the groups from a file instead: a ``cdk.json``, or
its context object alone (``{"registry": {...}}``), merged and validated by the same code as synth
(``mlops_registry.core.config_document``); the environment is then ``--env``, ``REGISTRY_ENV``, the file's
``env``, or ``dev``.

Either way every group is validated on its own, when a command needs it: an invalid value in one
group fails only the commands that need that group, and the error names the group, the key and the
value. Commands that only need to know a group is managed (history, verify-ledger, approve) do not
validate its policy at all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlops_registry.cli.errors import NotFoundError, UsageError
from mlops_registry.core.contracts import group_policy_parameter
from mlops_registry.core.names import group_policy_prefix

if TYPE_CHECKING:  # the policy models are built when a command reads a policy (a third of the CLI's start-up)
    from mlops_registry.core.config import EnvironmentSettings, GroupPolicy
    from mlops_registry.core.config_document import EnvironmentDocument

CONFIG_ENV_VAR = "REGISTRY_CONFIG"
ENV_ENV_VAR = "REGISTRY_ENV"


class InvalidPolicyError(UsageError):
    """One group's policy (or one environment setting) is invalid; the message names it."""


class Deployment(Protocol):
    """What the CLI knows of one environment's registry, wherever it was read from."""

    env_name: str

    @property
    def source(self) -> str: ...

    def group_names(self) -> list[str]: ...

    def group(self, name: str) -> GroupPolicy: ...

    def settings(self) -> EnvironmentSettings | None: ...

    @property
    def region(self) -> str | None: ...


def open_deployment(explicit_path: str | None, env_name: str | None, ssm: Any) -> Deployment:
    """``--config``/``REGISTRY_CONFIG`` if given, else the deployed parameters (``ssm`` is called lazily)."""
    path = explicit_path or os.environ.get(CONFIG_ENV_VAR)
    chosen_env = env_name or os.environ.get(ENV_ENV_VAR)
    if path:
        return ConfigFile.read(Path(path).expanduser(), chosen_env, explicit=explicit_path is not None)
    if not chosen_env:
        from mlops_registry.core.config_document import DEFAULT_ENV

        chosen_env = DEFAULT_ENV
    return PublishedPolicies(env_name=chosen_env, ssm=ssm)


def _not_managed(name: str, env_name: str, names: list[str], source: str) -> NotFoundError:
    return NotFoundError(
        f"group {name!r} is not managed by the registry in environment {env_name!r} ({source})",
        hint=f"managed groups: {', '.join(names)}" if names else None,
    )


@dataclass
class ConfigFile:
    """A ``cdk.json`` (or its context object alone), one environment of it."""

    path: Path
    document: EnvironmentDocument
    env_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.env_name = self.document.name

    @classmethod
    def read(cls, path: Path, env_name: str | None, *, explicit: bool = True) -> ConfigFile:
        from mlops_registry.core.config import ConfigError
        from mlops_registry.core.config_document import ENV_CONTEXT_KEY, select

        option = "--config" if explicit else CONFIG_ENV_VAR
        if not path.is_file():
            raise UsageError(f"{option} {path}: no such file")
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"{option} {path}: not a readable JSON document ({error})") from error
        context = raw.get("context", raw) if isinstance(raw, Mapping) else None
        if not isinstance(context, Mapping):
            raise UsageError(f"{option} {path}: expected a cdk.json, or an object with a 'registry' key")
        try:
            document = select(context, env_name or context.get(ENV_CONTEXT_KEY))
        except ConfigError as error:
            raise UsageError(f"{path}: {error}") from error
        return cls(path=path, document=document)

    @property
    def source(self) -> str:
        return str(self.path)

    def group_names(self) -> list[str]:
        return [group.name for group in self.document.groups]

    def group(self, name: str) -> GroupPolicy:
        from mlops_registry.core.config import ConfigError

        try:
            document = self.document.group(name)
        except KeyError:
            raise _not_managed(name, self.env_name, self.group_names(), self.source) from None
        try:
            return document.validate()
        except ConfigError as error:
            raise InvalidPolicyError(f"group {name!r} in {self.path}: {error}") from error

    def settings(self) -> EnvironmentSettings:
        from mlops_registry.core.config import ConfigError

        try:
            return self.document.settings()
        except ConfigError as error:
            raise InvalidPolicyError(f"environment {self.env_name!r} in {self.path}: {error}") from error

    @property
    def region(self) -> str | None:
        """The environment's region as written (validated only when it is used)."""
        value = self.document.raw_settings.get("region")
        return self.settings().region if value is not None else None


@dataclass
class PublishedPolicies:
    """The policies the promotion stack published: ``GetParametersByPath`` under ``/<prefix>/groups``."""

    env_name: str
    ssm: Any  # a client, or a callable returning one (the session is opened only when needed)

    @property
    def path(self) -> str:
        return group_policy_parameter(group_policy_prefix(self.env_name), "").rstrip("/")

    @property
    def source(self) -> str:
        return f"SSM parameters {self.path}/*"

    @cached_property
    def _documents(self) -> dict[str, str]:
        client = self.ssm() if callable(self.ssm) else self.ssm
        found: dict[str, str] = {}
        for page in client.get_paginator("get_parameters_by_path").paginate(Path=self.path, Recursive=False):
            for parameter in page.get("Parameters", []):
                found[str(parameter["Name"]).rsplit("/", 1)[1]] = str(parameter["Value"])
        if not found:
            raise NotFoundError(
                f"no managed groups are published under {self.path}/ (environment {self.env_name!r})",
                hint="is the registry deployed for this environment in this account and region? "
                "Pass --env NAME (or REGISTRY_ENV), or --config cdk.json to read the groups from a file",
            )
        return dict(sorted(found.items()))

    def group_names(self) -> list[str]:
        return list(self._documents)

    def group(self, name: str) -> GroupPolicy:
        from mlops_registry.core.config import ConfigError, read_published

        if name not in self._documents:
            raise _not_managed(name, self.env_name, self.group_names(), self.source)
        parameter = f"{self.path}/{name}"
        try:
            policy = read_published(self._documents[name], key=parameter)
        except (ConfigError, ValueError) as error:
            raise InvalidPolicyError(f"group {name!r}: the published policy is invalid: {error}") from error
        if policy.name != name:
            raise InvalidPolicyError(f"group {name!r}: parameter {parameter} holds the policy of {policy.name!r}")
        return policy

    def settings(self) -> None:
        """Environment settings (MLflow, account, region) are not published: the caller's session decides."""
        return None

    @property
    def region(self) -> None:
        return None
