"""``make sandbox`` as a user drives it: the sandbox in its own process on a loopback port, the shell
sessions of docs/sandbox.md and docs/cli.md run as written (the real ``registry`` console script in
subprocesses, real HTTP), then Ctrl-C and ``sandbox-reset``.

One test on purpose: the sandbox takes a few seconds to start; one sandbox serves both sessions.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
REGISTRY = Path(sys.executable).with_name("registry")
START_TIMEOUT = 120


def shell_examples(document: Path) -> str:
    """The ``bash`` blocks of a document as one script; ``make`` lines (another shell's job) are left out."""
    blocks = re.findall(r"```bash\n(.*?)```", document.read_text(), flags=re.S)
    assert blocks, f"{document} has no bash example"
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("make "):
                lines.append(line)
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _user_environment() -> dict[str, str]:
    """A user's shell: no AWS variables of the test process, the venv's scripts on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRY_", "POWERTOOLS_"))}
    env["PATH"] = f"{REGISTRY.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=_user_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _cli_json(cwd: Path, *args: str) -> Any:
    result = _run(". .sandbox/env\nregistry " + " ".join(args) + " --output json --quiet", cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def sandbox(synthesized: Any, tmp_path: Path) -> Any:
    """``python -m offline.sandbox start`` on a free port, reusing the session's cloud assembly."""
    state = tmp_path / "state"
    port = _free_port()
    log = (tmp_path / "sandbox.out").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "offline.sandbox", "--state", str(state), "start", "--port", str(port)]
        + ["--config", str(REPO_ROOT / "cdk.json"), "--assembly", str(synthesized.outdir), "--wait-seconds", "0"],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + START_TIMEOUT
    while "sandbox ready" not in (tmp_path / "sandbox.out").read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the sandbox did not start:\n{(tmp_path / 'sandbox.out').read_text()}")
        time.sleep(0.2)
    user_dir = tmp_path / "user"  # a folder outside the checkout, as a user's shell would be
    user_dir.mkdir()
    (user_dir / ".sandbox").symlink_to(state)
    try:
        yield process, state, user_dir, port, tmp_path / "sandbox.out"
    finally:
        if process.poll() is None:
            process.kill()
        log.close()


def test_sandbox_runs_the_documented_sessions_through_the_cli(sandbox: Any) -> None:
    process, state, user_dir, port, output = sandbox
    # Given the sandbox's environment file pointing at the loopback endpoint
    assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in (state / "env").read_text()

    # When docs/sandbox.md's session runs as written (register as alice, approve as bob, rollback)
    session = _run(shell_examples(REPO_ROOT / "docs" / "sandbox.md"), user_dir)
    assert session.returncode == 0, f"docs/sandbox.md failed:\n{session.stdout}\n{session.stderr}"

    # Then the promotions really ran: v2 reached Production and the rollback put v1 back in service
    status = _cli_json(user_dir, "status", "--group", "churn-classifier")
    versions = {v["version"]: v for v in status["versions"]}
    assert versions[1]["stage"] == "Production", versions
    assert versions[2]["stage_status"] == "RolledBack" or versions[2]["stage"] == "Archived", versions
    assert "Primary" in str(versions[1]["serving"]), versions[1]
    # and the ledger names who did what: alice registered, bob approved and rolled back
    history = _cli_json(user_dir, "history", "--group", "churn-classifier")
    actors = {(e["version"], e["decision"], e["to_stage"]): e["actor"] for e in history["entries"]}
    assert actors[(1, "entered", "Development")].endswith(":user/data-scientists/alice")
    assert actors[(1, "entered", "Production")].endswith(":assumed-role/mlops-registry-dev-review-board/bob")
    assert any(
        a.endswith(":assumed-role/mlops-registry-dev-review-board/bob")
        for (v, d, _), a in actors.items()
        if "roll" in d
    ), actors
    assert not any("fake" in actor or actor.endswith("user/moto") for actor in actors.values()), actors

    # When docs/cli.md's examples run as written
    reference = _run(". .sandbox/env\n" + shell_examples(REPO_ROOT / "docs" / "cli.md"), user_dir)
    assert reference.returncode == 0, f"docs/cli.md failed:\n{reference.stdout}\n{reference.stderr}"
    fraud = {v["version"]: v for v in _cli_json(user_dir, "status", "--group", "fraud-detector")["versions"]}
    assert (fraud[1]["stage"], fraud[2]["stage"], fraud[3]["stage"]) == ("Production", "Archived", "Archived"), fraud
    assert "dispatcher started" in output.read_text()

    # When the user presses Ctrl-C
    process.send_signal(signal.SIGINT)
    # Then the sandbox stops cleanly, and reset removes its folder
    assert process.wait(timeout=60) == 0, output.read_text()
    assert "sandbox stopped" in output.read_text()
    reset = subprocess.run(
        [sys.executable, "-m", "offline.sandbox", "--state", str(state), "reset"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reset.returncode == 0, reset.stderr
    assert not state.exists()
