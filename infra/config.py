"""Reads the ``registry`` object of ``cdk.json`` into the one schema (``registry_core.config``).

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

``load_config`` checks every layer's keys against the schema before merging (an unknown key is an
error with a "did you mean" suggestion, a snake_case key names its camelCase spelling) and reports a
value error at the key path of the layer that set the value. ``ConfigError``'s message is one line:
the key path, the value and the rule.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry_core.config import (
    ENVIRONMENT_SETTINGS,
    ConfigError,
    EnvironmentConfig,
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

# Placeholders that pass the patterns but cannot be a real deployment target.
_PLACEHOLDER_ACCOUNTS = re.compile(r"^(\d)\1{11}$|^123456789012$|^012345678901$")
_PLACEHOLDER_DOMAINS = re.compile(r"@(.+\.)?(example\.(com|org|net)|example|test|invalid|localhost)$", re.IGNORECASE)

__all__ = ["ConfigError", "EnvironmentConfig", "GroupPolicy", "LoadedConfig", "load_config", "placeholder_warnings"]


@dataclass(frozen=True)
class LoadedConfig:
    config: EnvironmentConfig
    warnings: tuple[str, ...]


# --- entry points ---------------------------------------------------------------------------------
def load_config(context: Mapping[str, Any], env_name: str | None = None) -> EnvironmentConfig:
    """Select, merge and validate one environment of the ``registry`` context object."""
    return load(context, env_name).config


def load(context: Mapping[str, Any], env_name: str | None = None) -> LoadedConfig:
    document = context.get(CONTEXT_KEY)
    if not isinstance(document, Mapping):
        raise ConfigError(CONTEXT_KEY, document, "cdk.json's context must hold the registry configuration object")
    check_keys(document, _DOCUMENT_KEYS, CONTEXT_KEY)
    environments = document.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError(f"{CONTEXT_KEY}.environments", environments, "must map environment names to settings")
    env_name = env_name or context.get(ENV_CONTEXT_KEY) or DEFAULT_ENV
    if env_name not in environments:
        raise ConfigError(ENV_CONTEXT_KEY, env_name, f"unknown environment; known: {sorted(environments)}")
    env_key = f"{CONTEXT_KEY}.environments.{env_name}"
    env_doc = _mapping(environments[env_name], env_key)
    check_keys(env_doc, (*ENVIRONMENT_SETTINGS, "defaults", "groups"), env_key)

    defaults = _mapping(document.get("defaults", {}), f"{CONTEXT_KEY}.defaults")
    env_defaults = _mapping(env_doc.get("defaults", {}), f"{env_key}.defaults")
    overrides = _mapping(env_doc.get("groups", {}), f"{env_key}.groups")
    check_model_keys(GroupPolicy, defaults, f"{CONTEXT_KEY}.defaults")
    check_model_keys(GroupPolicy, env_defaults, f"{env_key}.defaults")
    groups_doc = document.get("groups")
    if not isinstance(groups_doc, list) or not groups_doc:
        raise ConfigError(f"{CONTEXT_KEY}.groups", groups_doc, "must be a non-empty list of model package groups")

    groups: list[GroupPolicy] = []
    names: list[str] = []
    for index, raw in enumerate(groups_doc):
        group_key = f"{CONTEXT_KEY}.groups[{index}]"
        raw = _mapping(raw, group_key)
        check_model_keys(GroupPolicy, raw, group_key)
        name = raw.get("name")
        if name in names:
            raise ConfigError(f"{group_key}.name", name, "duplicate group name")
        names.append(str(name))
        layers: list[tuple[Mapping[str, Any], str]] = [
            (defaults, f"{CONTEXT_KEY}.defaults"),
            (env_defaults, f"{env_key}.defaults"),
            (raw, group_key),
        ]
        if isinstance(name, str) and name in overrides:
            override_key = f"{env_key}.groups.{name}"
            override = _mapping(overrides[name], override_key)
            check_model_keys(GroupPolicy, override, override_key)
            if "name" in override:
                raise ConfigError(f"{override_key}.name", override["name"], "an override cannot rename its group")
            layers.append((override, override_key))
        merged, provenance = _merge(layers)
        groups.append(validate_document(GroupPolicy, merged, group_key, provenance))
    for name in overrides:
        if name not in names:
            suggestion = suggest(str(name), names)
            raise ConfigError(f"{env_key}.groups.{name}", "{...}", f"overrides a group that is not defined{suggestion}")

    settings = {key: env_doc[key] for key in ENVIRONMENT_SETTINGS if key in env_doc}
    provenance = {(key,): f"{env_key}.{key}" for key in settings}
    config = validate_document(
        EnvironmentConfig, {**settings, "name": env_name, "groups": [publish(g) for g in groups]}, env_key, provenance
    )
    return LoadedConfig(config=config, warnings=tuple(placeholder_warnings(config, env_key)))


def placeholder_warnings(config: EnvironmentConfig, key: str) -> list[str]:
    """Values that are well formed but cannot be a real account or mailbox (the sample's placeholders)."""
    warnings = []
    if config.account and _PLACEHOLDER_ACCOUNTS.match(config.account):
        warnings.append(f"{key}.account {config.account!r} looks like a placeholder account id")
    for index, account in enumerate(config.registry_reader_accounts):
        if _PLACEHOLDER_ACCOUNTS.match(account):
            warnings.append(f"{key}.registryReaderAccounts[{index}] {account!r} looks like a placeholder account id")
    for index, email in enumerate(config.review_board_emails):
        if _PLACEHOLDER_DOMAINS.search(email):
            warnings.append(f"{key}.reviewBoardEmails[{index}] {email!r} is a placeholder address (reserved domain)")
    return warnings


_DOCUMENT_KEYS = ("defaults", "groups", "environments", "$comment")


# --- merging and validation --------------------------------------------------------------------
def _merge(layers: list[tuple[Mapping[str, Any], str]]) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
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


# --- JSON Schema for editors ----------------------------------------------------------------------
SCHEMA_FILE = "cdk.schema.json"


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of ``cdk.json`` whose ``context.registry`` follows this schema, so
    editors validate and complete it. Layers that override (``defaults``, per-environment overrides)
    accept any subset of a group's keys."""
    group = GroupPolicy.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs: dict[str, Any] = group.pop("$defs", {})
    defs["GroupPolicy"] = group
    defs.update({f"Partial{name}": _partial(schema) for name, schema in list(defs.items())})
    environment = EnvironmentConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs.update(environment.pop("$defs", {}))
    settings = {key: value for key, value in environment["properties"].items() if key in ENVIRONMENT_SETTINGS}
    defs["Environment"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **settings,
            "defaults": {"$ref": "#/$defs/PartialGroupPolicy"},
            "groups": {"type": "object", "additionalProperties": {"$ref": "#/$defs/PartialGroupPolicy"}},
        },
    }
    defs["Registry"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["groups", "environments"],
        "properties": {
            "$comment": {"type": "string"},
            "defaults": {"$ref": "#/$defs/PartialGroupPolicy"},
            "groups": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/GroupPolicy"}},
            "environments": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"$ref": "#/$defs/Environment"},
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cdk.json of the MLOps model registry",
        "type": "object",
        "properties": {
            "context": {
                "type": "object",
                "required": [CONTEXT_KEY],
                "properties": {
                    ENV_CONTEXT_KEY: {"type": "string", "description": "the environment to synthesize"},
                    CONTEXT_KEY: {"$ref": "#/$defs/Registry"},
                },
            }
        },
        "$defs": defs,
    }


def _partial(schema: Any) -> Any:
    """The same schema with nothing required and every model reference pointing at its partial form."""
    if isinstance(schema, dict):
        out = {key: _partial(value) for key, value in schema.items() if key != "required"}
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and not ref.startswith("#/$defs/Partial"):
            out["$ref"] = "#/$defs/Partial" + ref.removeprefix("#/$defs/")
        return out
    if isinstance(schema, list):
        return [_partial(item) for item in schema]
    return schema


def main() -> None:
    """``python -m infra.config`` rewrites the shipped JSON Schema (``make schema``)."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / SCHEMA_FILE
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
