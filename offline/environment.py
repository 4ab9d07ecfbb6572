"""The process environment of an offline run (``make demo``, ``make bench``): no AWS account needed."""

from __future__ import annotations

import os

OFFLINE_DEFAULTS = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
# Anything that would point boto3 at a real account or endpoint.
REAL_ACCOUNT_VARIABLES = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN")


def use_offline_environment() -> None:
    for variable, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(variable, value)
    for variable in REAL_ACCOUNT_VARIABLES:
        os.environ.pop(variable, None)
