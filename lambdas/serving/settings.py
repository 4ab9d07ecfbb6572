"""Environment of the deployment function: its settings model (``load`` reads and validates it)."""

from __future__ import annotations

from pydantic import Field

from mlops_registry.core.settings import FunctionSettings, load_settings


class DeploymentSettings(FunctionSettings):
    ENV_NAME: str = Field(min_length=1)
    DEPLOY_ROLE_ARN_PREFIX: str = Field(pattern=r"^arn:aws[a-z\-]*:iam::\d{12}:role/")
    LOCKS_TABLE: str = Field(min_length=3)
    LEDGER_TABLE: str = Field(min_length=3)
    TOPIC_ARN: str = Field(min_length=20)  # the restored champion is announced with its ledger entry


def load() -> DeploymentSettings:
    return load_settings(DeploymentSettings)
