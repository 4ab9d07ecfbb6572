"""The emulator patches are written for one moto version: any other fails loudly, naming both."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

from offline.emulator_version import EXPECTED_MOTO_VERSION, EmulatorVersionError, check_emulator_version

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements-dev.txt"


def test_the_expected_version_is_the_one_the_requirements_pin_and_the_one_installed() -> None:
    pinned = re.search(r"^moto\[[^\]]*\]==(\S+)$", REQUIREMENTS.read_text(), re.MULTILINE)
    assert pinned is not None
    assert EXPECTED_MOTO_VERSION == pinned.group(1) == metadata.version("moto")
    assert check_emulator_version() == EXPECTED_MOTO_VERSION


@pytest.mark.parametrize("installed", ["5.2.6", "5.1.0", "6.0.0", "none"])
def test_another_version_fails_naming_the_installed_and_the_expected_one(installed: str) -> None:
    with pytest.raises(EmulatorVersionError) as raised:
        check_emulator_version(installed)
    message = str(raised.value)
    assert f"moto {installed} is installed" in message
    assert f"moto=={EXPECTED_MOTO_VERSION}" in message and "offline/harness/emulator.py" in message


def test_every_module_that_patches_moto_checks_the_version_first(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given another moto installed
    import offline.emulator_version
    from offline.iam_proof import state_machine_clients
    from offline.sagemaker_jobs import JobOutcomes, sagemaker_job_emulation

    monkeypatch.setattr(offline.emulator_version.metadata, "version", lambda name: "9.9.9")
    # When the SageMaker job emulation or the IAM proof's Step Functions hook is installed
    # Then each refuses before patching anything
    with pytest.raises(EmulatorVersionError, match="moto 9.9.9 is installed"), sagemaker_job_emulation(JobOutcomes()):
        pass
    with (
        pytest.raises(EmulatorVersionError, match="moto 9.9.9 is installed"),
        state_machine_clients(lambda arn: "role"),
    ):
        pass
