"""The one moto version the offline emulator's patches are written for.

Every module that reaches into moto's private classes (``offline/harness/emulator.py``, the SageMaker
job emulation, the sandbox's event relay and state files, the IAM proof's Step Functions hook) calls
:func:`check_emulator_version` before importing them, so another moto fails loudly, naming both
versions, instead of leaving a half-working emulator that would make the offline proofs worthless.
"""

from __future__ import annotations

from importlib import metadata

EXPECTED_MOTO_VERSION = "5.2.5"


class EmulatorVersionError(RuntimeError):
    """The installed moto is not the version the emulator patches are written for."""


def check_emulator_version(installed: str | None = None) -> str:
    """The installed moto version, when it is the expected one; ``EmulatorVersionError`` otherwise."""
    try:
        version = installed if installed is not None else metadata.version("moto")
    except metadata.PackageNotFoundError:
        version = "none"
    if version != EXPECTED_MOTO_VERSION:
        raise EmulatorVersionError(
            f"moto {version} is installed, but the offline harness patches moto's internals as of moto "
            f"{EXPECTED_MOTO_VERSION} (offline/harness/emulator.py); install moto=={EXPECTED_MOTO_VERSION} "
            "(requirements-dev.txt) or port the patches to the installed version"
        )
    return version
