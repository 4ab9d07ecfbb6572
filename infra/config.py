"""``cdk.json``'s ``registry`` object at synth: the one schema (``mlops_registry.core.config``), the layers
merged by ``mlops_registry.core.config_document``, placeholder warnings, and the JSON Schema editors use.

``load_config`` selects one environment, merges its layers and validates everything; the first error
raises ``ConfigError``, whose message is one line: the key path, the value and the rule. See
``mlops_registry.core.config_document`` for the layering (``defaults`` < the environment's ``defaults`` <
the group < the environment's override of that group).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_registry.core.config import ENVIRONMENT_SETTINGS, ConfigError, EnvironmentConfig, GroupPolicy
from mlops_registry.core.config_document import CONTEXT_KEY, DEFAULT_ENV, ENV_CONTEXT_KEY, select

# Placeholders that pass the patterns but cannot be a real deployment target.
_PLACEHOLDER_ACCOUNTS = re.compile(r"^(\d)\1{11}$|^123456789012$|^012345678901$")
_PLACEHOLDER_DOMAINS = re.compile(r"@(.+\.)?(example\.(com|org|net)|example|test|invalid|localhost)$", re.IGNORECASE)

__all__ = [
    "CONTEXT_KEY",
    "DEFAULT_ENV",
    "ENV_CONTEXT_KEY",
    "ConfigError",
    "EnvironmentConfig",
    "GroupPolicy",
    "LoadedConfig",
    "load",
    "load_config",
    "placeholder_warnings",
]


@dataclass(frozen=True)
class LoadedConfig:
    config: EnvironmentConfig
    warnings: tuple[str, ...]


# --- entry points ---------------------------------------------------------------------------------
def load_config(context: Mapping[str, Any], env_name: str | None = None) -> EnvironmentConfig:
    """Select, merge and validate one environment of the ``registry`` context object."""
    return load(context, env_name).config


def load(context: Mapping[str, Any], env_name: str | None = None) -> LoadedConfig:
    document = select(context, env_name)
    config = document.validate()
    return LoadedConfig(config=config, warnings=tuple(placeholder_warnings(config, document.key)))


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
