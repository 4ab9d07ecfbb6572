"""The offline harness: the synthesized app running on moto, with the real Lambda code in-process.

- ``resolver``: the templates' resources, their intrinsics resolved, each found by type and CDK path;
- ``provisioner``: the app's resources created in the emulator from the templates' own properties;
- ``driver``: ``PipelineHarness``, the context manager tests, ``make demo`` and the sandbox drive;
- ``runtime``: the functions' handlers run in this process;
- ``coverage``: the state-machine coverage of a whole run (every worker's);
- ``emulator``: every patch of moto's internals, behind a version check.
"""

from offline.harness.common import (
    ACCOUNT,
    HARNESS_ENV,
    LAMBDA_ROLE,
    PARTITION,
    REGION,
    REGISTRANT,
    TERMINAL,
    HarnessError,
    board_member,
    data_scientist,
)
from offline.harness.driver import RANKER_FEATURES, PipelineHarness, Registration, ranker_reports
from offline.harness.provisioner import zipped
from offline.harness.resolver import Resolver, Resource

__all__ = [
    "ACCOUNT",
    "HARNESS_ENV",
    "LAMBDA_ROLE",
    "PARTITION",
    "RANKER_FEATURES",
    "REGION",
    "REGISTRANT",
    "TERMINAL",
    "HarnessError",
    "PipelineHarness",
    "Registration",
    "Resolver",
    "Resource",
    "board_member",
    "data_scientist",
    "ranker_reports",
    "zipped",
]
