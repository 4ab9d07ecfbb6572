"""The CLI as a real package: the wheel holds only the CLI's packages, and an installation in a fresh
virtual environment gives a ``registry`` that works from a folder outside the checkout, against an
AWS-compatible endpoint (moto's server on loopback), with no ``cdk.json`` anywhere.

The wheel is built from a copy of the checkout (``pip wheel --no-deps``); the fresh environment gets
the wheel with ``--no-deps`` and sees this environment's third-party packages through a path entry
(a ``.pth`` line adds the folder without running its own ``.pth`` files, so the checkout's editable
install is not visible): no download, well under a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from mlops_registry.core.config import publish
from mlops_registry.core.config_document import environment_config
from tests.conftest import REPO_ROOT, cdk_context

SHIPPED = {"mlops_registry"}  # one namespaced package: .core, .cli, .training
NOT_SHIPPED = ("infra", "promotion", "serving", "monitoring", "offline", "demo", "bench")
LEFT_BEHIND = (
    "node_modules",
    ".venv",
    ".git",
    ".cache",
    "cdk.out",
    ".build",
    ".sandbox",
    "reports",
    "*.egg-info",
    "build",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("checkout") / "src"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(*LEFT_BEHIND, "__pycache__", ".*_cache"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    [built] = out.glob("mlops_model_registry-*.whl")
    return built


def test_the_wheel_holds_only_the_clis_packages_and_declares_its_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        requires = [line for line in archive.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
        scripts = archive.read(entry_points).decode()
    assert top == SHIPPED
    subpackages = {name.split("/")[1] for name in names if name.startswith("mlops_registry/") and name.count("/") > 1}
    assert subpackages == {"core", "cli", "training"}
    assert "mlops_registry/core/rollback.py" in names and "mlops_registry/core/serving_stacks.py" in names
    assert "registry = mlops_registry.cli.main:main" in scripts
    pinned = {line.split()[1].split("[")[0].split("=")[0] for line in requires if "extra ==" not in line}
    assert {"boto3", "botocore", "pydantic", "aws-lambda-powertools", "numpy", "PyYAML"} <= pinned
    assert all("==" in line for line in requires), requires  # every dependency pinned


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; this environment's site-packages as a plain path entry."""
    target = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "zz-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return target


def _user_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRY_", "PYTHON"))}
    env.update(
        HOME=str(home),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


@pytest.fixture
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_registry_installed_in_a_fresh_venv_works_outside_the_checkout(
    installed: Path, tmp_path: Path, moto_server: str
) -> None:
    registry = installed / "bin" / "registry"
    env = _user_env(tmp_path)
    # Given a folder outside the checkout, without cdk.json
    assert not (tmp_path / "cdk.json").exists()
    # When the installed console script is asked for help, Then it answers from the wheel's code
    help_ = subprocess.run([registry, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert help_.returncode == 0, help_.stderr
    assert help_.stdout.startswith("usage: registry") and "rollback" in help_.stdout
    probe = (
        "import importlib.util, json, mlops_registry.cli; "
        f"print(json.dumps([mlops_registry.cli.__file__] + [bool(importlib.util.find_spec(m)) for m in {NOT_SHIPPED!r}]))"
    )
    found = subprocess.run(
        [installed / "bin" / "python", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    location, *shipped = json.loads(found.stdout)
    assert location.startswith(str(installed)), location
    assert not any(shipped), dict(zip(NOT_SHIPPED, shipped, strict=True))

    # And given the dev policies published as the promotion stack publishes them, on moto's server
    ssm = boto3.client(
        "ssm", region_name="eu-west-1", endpoint_url=moto_server, aws_access_key_id="t", aws_secret_access_key="t"
    )
    config = environment_config(cdk_context(), "dev")
    for group in config.groups:
        ssm.put_parameter(
            Name=f"/mlops-registry-dev/groups/{group.name}", Value=json.dumps(publish(group)), Type="String"
        )
    # When `registry groups` runs against it, Then it lists the deployed groups
    groups = subprocess.run(
        [registry, "groups", "--endpoint-url", moto_server, "--region", "eu-west-1", "--output", "json", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert groups.returncode == 0, groups.stderr
    listed = {row["group"]: row for row in json.loads(groups.stdout)["groups"]}
    assert sorted(listed) == sorted(g.name for g in config.groups)
    assert all(row["production_version"] == "(group not deployed)" for row in listed.values())
