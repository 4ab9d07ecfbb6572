"""Model package ARNs: the one pattern of a versioned package ARN and its (group, version).

Kept apart from the event models (``mlops_registry.core.events``, Pydantic) so that a command or a
function that only reads an ARN loads no model library."""

from __future__ import annotations

import re

from mlops_registry.core.errors import InvalidEventError

PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:\d{12}:model-package/(?P<group>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})/(?P<version>\d+)$"
)


def split_package_arn(arn: str) -> tuple[str, int]:
    """(group, version) of a versioned model package ARN; ``InvalidEventError`` when malformed."""
    match = PACKAGE_ARN.match(arn or "")
    if not match:
        raise InvalidEventError(f"package_arn: {arn!r} is not a versioned model package ARN")
    return match.group("group"), int(match.group("version"))
