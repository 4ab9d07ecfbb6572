"""The ``registry`` object of ``cdk.json``: its layers, merged into one environment's documents.

The document is written once for every environment::

    "registry": {
      "defaults":     {<any group key>},            # every group, every environment
      "groups":       [{"name": ..., ...}],           # each group, once
      "environments": {"prod": {"account": ..., ...,
                                "defaults": {<any group key>},          # every group in prod
                                "groups": {"<name>": {<any group key>}}}}  # one group in prod
    }

A group in an environment is ``defaults`` < the environment's ``defaults`` < the group < the
environment's override of that group: mappings merge key by key, lists and values replace.

``select`` checks the document's structure and returns one environment's documents, not yet
validated; ``EnvironmentDocument.validate`` validates all of it (synth: the first error stops
everything), while ``GroupDocument.validate`` and ``EnvironmentDocument.settings`` validate one group
or the environment's own settings alone (the CLI: a bad value fails only what needs it). Every layer's
keys are checked against the schema before merging (an unknown key is an error with a "did you mean"
suggestion, a snake_case key names its camelCase spelling) and a value error is reported at the key
path of the layer that set the value, on one line (``ConfigError``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_registry.core.config import (
    ENVIRONMENT_SETTINGS,
    ConfigError,
    EnvironmentConfig,
    EnvironmentSettings,
    GroupPolicy,
    check_keys,
    check_model_keys,
    publish,
    suggest,
    validate_document,
)

DEFAULT_ENV = "dev"
CONTEXT_KEY = "registry"
ENV_CONTEXT_KEY = "env"
DOCUMENT_KEYS = ("defaults", "groups", "environments", "$comment")

Layer = tuple[Mapping[str, Any], str]


@dataclass(frozen=True)
class GroupDocument:
    """One group's layers in one environment (lowest first), each with the key path it was read from."""

    name: str
    key: str
    layers: tuple[Layer, ...]

    def validate(self) -> GroupPolicy:
        for layer, source in self.layers:
            check_model_keys(GroupPolicy, layer, source)
        merged, provenance = merge(list(self.layers))
        return validate_document(GroupPolicy, merged, self.key, provenance)


@dataclass(frozen=True)
class EnvironmentDocument:
    name: str
    key: str
    raw_settings: Mapping[str, Any]
    groups: tuple[GroupDocument, ...]

    def group(self, name: str) -> GroupDocument:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(name)

    def settings(self) -> EnvironmentSettings:
        """The environment's own settings (account, region, MLflow, ...), validated without its groups."""
        provenance = {(key,): f"{self.key}.{key}" for key in self.raw_settings}
        return validate_document(EnvironmentSettings, dict(self.raw_settings), self.key, provenance)

    def validate(self) -> EnvironmentConfig:
        """Every group and setting, strictly; the first error raises."""
        groups = [group.validate() for group in self.groups]
        provenance = {(key,): f"{self.key}.{key}" for key in self.raw_settings}
        document = {**self.raw_settings, "name": self.name, "groups": [publish(g) for g in groups]}
        return validate_document(EnvironmentConfig, document, self.key, provenance)


def select(context: Mapping[str, Any], env_name: str | None = None) -> EnvironmentDocument:
    """One environment of the ``registry`` context object: its structure checked, its values not yet.

    The environment is ``env_name``, else the context's ``env``, else ``dev``."""
    document = context.get(CONTEXT_KEY)
    if not isinstance(document, Mapping):
        raise ConfigError(CONTEXT_KEY, document, "cdk.json's context must hold the registry configuration object")
    check_keys(document, DOCUMENT_KEYS, CONTEXT_KEY)
    environments = document.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError(f"{CONTEXT_KEY}.environments", environments, "must map environment names to settings")
    env_name = env_name or context.get(ENV_CONTEXT_KEY) or DEFAULT_ENV
    if env_name not in environments:
        raise ConfigError(ENV_CONTEXT_KEY, env_name, f"unknown environment; known: {sorted(environments)}")
    env_key = f"{CONTEXT_KEY}.environments.{env_name}"
    env_doc = _mapping(environments[env_name], env_key)
    check_keys(env_doc, (*ENVIRONMENT_SETTINGS, "defaults", "groups"), env_key)

    defaults = (_mapping(document.get("defaults", {}), f"{CONTEXT_KEY}.defaults"), f"{CONTEXT_KEY}.defaults")
    env_defaults = (_mapping(env_doc.get("defaults", {}), f"{env_key}.defaults"), f"{env_key}.defaults")
    overrides = _mapping(env_doc.get("groups", {}), f"{env_key}.groups")
    groups_doc = document.get("groups")
    if not isinstance(groups_doc, list) or not groups_doc:
        raise ConfigError(f"{CONTEXT_KEY}.groups", groups_doc, "must be a non-empty list of model package groups")

    groups: list[GroupDocument] = []
    names: list[str] = []
    for index, raw in enumerate(groups_doc):
        group_key = f"{CONTEXT_KEY}.groups[{index}]"
        raw = _mapping(raw, group_key)
        name = raw.get("name")
        if not isinstance(name, str):  # the schema names what is wrong with it
            GroupDocument(name=str(name), key=group_key, layers=(defaults, env_defaults, (raw, group_key))).validate()
            raise ConfigError(f"{group_key}.name", name, "must be a string")
        if name in names:
            raise ConfigError(f"{group_key}.name", name, "duplicate group name")
        names.append(name)
        layers: list[Layer] = [defaults, env_defaults, (raw, group_key)]
        if name in overrides:
            override_key = f"{env_key}.groups.{name}"
            override = _mapping(overrides[name], override_key)
            if "name" in override:
                raise ConfigError(f"{override_key}.name", override["name"], "an override cannot rename its group")
            layers.append((override, override_key))
        groups.append(GroupDocument(name=name, key=group_key, layers=tuple(layers)))
    for name in overrides:
        if name not in names:
            suggestion = suggest(str(name), names)
            raise ConfigError(f"{env_key}.groups.{name}", "{...}", f"overrides a group that is not defined{suggestion}")
    settings = {key: env_doc[key] for key in ENVIRONMENT_SETTINGS if key in env_doc}
    return EnvironmentDocument(name=str(env_name), key=env_key, raw_settings=settings, groups=tuple(groups))


def environment_config(context: Mapping[str, Any], env_name: str | None = None) -> EnvironmentConfig:
    """Select, merge and validate one environment of the ``registry`` context object."""
    return select(context, env_name).validate()


def merge(layers: list[Layer]) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
    """Deep-merge the layers (later wins); remember which layer's key path set each value."""
    merged: dict[str, Any] = {}
    provenance: dict[tuple[Any, ...], str] = {}

    def apply(target: dict[str, Any], layer: Mapping[str, Any], path: tuple[Any, ...], source: str) -> None:
        for name, value in layer.items():
            here = (*path, name)
            if isinstance(value, Mapping) and isinstance(target.get(name), dict):
                apply(target[name], value, here, f"{source}.{name}")
            else:
                target[name] = copy.deepcopy(dict(value) if isinstance(value, Mapping) else value)
                for known in [p for p in provenance if p[: len(here)] == here]:
                    del provenance[known]
                record(value, here, f"{source}.{name}")
            provenance[here] = f"{source}.{name}"

    def record(value: Any, path: tuple[Any, ...], source: str) -> None:
        """Nested keys of a mapping copied whole keep their own paths (a later layer may merge into it)."""
        if isinstance(value, Mapping):
            for name, inner in value.items():
                provenance[(*path, name)] = f"{source}.{name}"
                record(inner, (*path, name), f"{source}.{name}")

    for layer, source in layers:
        apply(merged, layer, (), source)
    return merged, provenance


def _mapping(raw: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(key, raw, "must be a mapping")
    return raw
