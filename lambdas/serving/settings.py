"""Environment of the deployment function, validated with Pydantic (a failure names the variable)."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops_registry.core.errors import InvalidEventError


class DeploymentSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    ENV_NAME: str = Field(min_length=1)
    DEPLOY_ROLE_ARN_PREFIX: str = Field(pattern=r"^arn:aws[a-z\-]*:iam::\d{12}:role/")
    LOCKS_TABLE: str = Field(min_length=3)
    LEDGER_TABLE: str = Field(min_length=3)


def load() -> DeploymentSettings:
    try:
        return DeploymentSettings.model_validate(dict(os.environ))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})" for e in error.errors()
        )
        raise InvalidEventError(f"function environment is invalid: {problems}") from error
