"""One way to read a function's environment: a frozen Pydantic settings model per function, validated
once, a failure naming every variable that is missing or invalid (``describe_validation_error``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from mlops_registry.core.errors import InvalidEventError
from mlops_registry.core.events import describe_validation_error


class FunctionSettings(BaseModel):
    """Base of every function's settings model; fields are the environment variables (or aliased to them)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


T = TypeVar("T", bound=FunctionSettings)


def load_settings(model: type[T], environ: Mapping[str, str] | None = None) -> T:
    try:
        return model.model_validate(dict(os.environ if environ is None else environ))
    except ValidationError as error:
        raise InvalidEventError(f"function environment is invalid: {describe_validation_error(error)}") from error
