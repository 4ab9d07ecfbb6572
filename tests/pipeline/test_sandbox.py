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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.documented import make_from_repository, session_make_lines, session_script

REPO_ROOT = Path(__file__).resolve().parents[2]
REGISTRY = Path(sys.executable).with_name("registry")
START_TIMEOUT = 120
SEPARATOR = "--- next command ---"


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


def _make(line: str, state: Path) -> subprocess.CompletedProcess[str]:
    """A documented ``make`` line, run from the repository on the sandbox's folder."""
    return subprocess.run(
        make_from_repository(line, state), env=_user_environment(), capture_output=True, text=True, timeout=300
    )


def _documented_make(document: Path, target: str) -> str:
    [line] = [line for line in session_make_lines(document) if line.split()[1] == target]
    return line


def _cli_json(cwd: Path, *args: str) -> Any:
    result = _run(". .sandbox/env\nregistry " + " ".join(args) + " --output json --quiet", cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _start(state: Path, port: int, output: Path, assembly: Path) -> subprocess.Popen[bytes]:
    """``python -m offline.sandbox start`` (what ``make sandbox`` runs) on ``state``, until it is ready."""
    ready = output.read_text().count("sandbox ready")
    with output.open("a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "offline.sandbox", "--state", str(state), "start", "--port", str(port)]
            + ["--config", str(REPO_ROOT / "cdk.json"), "--assembly", str(assembly), "--wait-seconds", "1"],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + START_TIMEOUT
    while output.read_text().count("sandbox ready") == ready:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the sandbox did not start:\n{output.read_text()}")
        time.sleep(0.2)
    return process


def _stop(process: subprocess.Popen[bytes], output: Path) -> None:
    """Ctrl-C: the sandbox saves its state and stops cleanly."""
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, output.read_text()


def _sandbox_command(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m offline.sandbox --state S ...``: what ``make sandbox-traffic`` / ``sandbox-reset`` run."""
    return subprocess.run(
        [sys.executable, "-m", "offline.sandbox", "--state", str(state), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _until(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s")
        time.sleep(0.5)
    return found


@dataclass
class Sandbox:
    state: Path
    user_dir: Path
    output: Path
    assembly: Path
    processes: list[subprocess.Popen[bytes]]

    def start(self) -> subprocess.Popen[bytes]:
        self.processes.append(_start(self.state, _free_port(), self.output, self.assembly))
        return self.processes[-1]


@pytest.fixture
def sandbox(synthesized: Any, tmp_path: Path) -> Any:
    """The sandbox on a free port, reusing the session's cloud assembly; restartable on the same folder."""
    user_dir = tmp_path / "user"  # a folder outside the checkout, as a user's shell would be
    user_dir.mkdir()
    running = Sandbox(tmp_path / "state", user_dir, tmp_path / "sandbox.out", synthesized.outdir, [])
    running.output.touch()
    running.start()
    (user_dir / ".sandbox").symlink_to(running.state)
    try:
        yield running
    finally:
        for process in running.processes:
            if process.poll() is None:
                process.kill()


def _versions(user_dir: Path, group: str) -> dict[int, dict[str, Any]]:
    return {v["version"]: v for v in _cli_json(user_dir, "status", "--group", group)["versions"]}


def _statuses_and_histories(user_dir: Path) -> dict[str, Any]:
    """What the CLI shows of the two groups with a running execution (one shell, four commands)."""
    groups = ("churn-classifier", "recommender-ranker")
    script = ". .sandbox/env\n" + "".join(
        f"registry {command} --group {g} --output json --quiet\necho {SEPARATOR}\n"
        for g in groups
        for command in ("status", "history")
    )
    shown = _run(script, user_dir)
    assert shown.returncode == 0, shown.stderr
    return {"outputs": [json.loads(part) for part in shown.stdout.split(SEPARATOR) if part.strip()]}


@pytest.mark.long
def test_sandbox_runs_the_documented_sessions_through_the_cli_and_keeps_its_state(sandbox: Sandbox) -> None:
    user_dir, output, state = sandbox.user_dir, sandbox.output, sandbox.state
    # Given the sandbox's environment file pointing at the loopback endpoint
    assert re.search(r"AWS_ENDPOINT_URL=http://127\.0\.0\.1:\d+", (state / "env").read_text())

    # When docs/sandbox.md's sessions run as written (register as alice, approve as bob, roll back; the
    # A/B group's first version, then a challenger approved: its test starts and waits for traffic)
    documented = session_script(REPO_ROOT / "docs" / "sandbox.md")
    session = _run(documented, user_dir)
    assert session.returncode == 0, f"docs/sandbox.md failed:\n{session.stdout}\n{session.stderr}"

    # Then the promotions really ran: v2 reached Production and the rollback put v1 back in service
    versions = _versions(user_dir, "churn-classifier")
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
    # and the A/B group serves its champion beside the approved challenger
    ranker = _until(
        "the A/B test's start",
        lambda: (v := _versions(user_dir, "recommender-ranker")) and "Challenger" in str(v[2]["serving"]) and v,
    )
    assert ranker[1]["stage"] == "Production" and ranker[2]["stage"] == "Staging", ranker

    # When the README's session runs as written: its shell lines in the user's folder, its make lines
    # from the repository (the history through make as bob, the drift schedule's event sent now)
    readme = REPO_ROOT / "README.md"
    teaser = _run(session_script(readme), user_dir)
    assert teaser.returncode == 0, f"README.md's session failed:\n{teaser.stdout}\n{teaser.stderr}"
    assert "churn-classifier" in teaser.stdout and "Production" in teaser.stdout, teaser.stdout
    history = _make(_documented_make(readme, "sandbox-run"), state)
    assert history.returncode == 0, history.stdout + history.stderr
    assert "review-board/bob" in history.stdout and "roll" in history.stdout.lower(), history.stdout
    drift = _make(_documented_make(readme, "sandbox-invoke"), state)
    assert drift.returncode == 0, drift.stdout + drift.stderr
    run = json.loads(drift.stdout)
    assert (
        run["group"] == "churn-classifier"
        and run["version"] == 1
        and run["endpointName"] == "mlops-registry-dev-churn-classifier"
    ), run

    # When docs/cli.md's examples run as written
    reference = _run(". .sandbox/env\n" + session_script(REPO_ROOT / "docs" / "cli.md"), user_dir)
    assert reference.returncode == 0, f"docs/cli.md failed:\n{reference.stdout}\n{reference.stderr}"
    fraud = _versions(user_dir, "fraud-detector")
    assert (fraud[1]["stage"], fraud[2]["stage"], fraud[3]["stage"]) == ("Production", "Archived", "Archived"), fraud
    assert "dispatcher started" in output.read_text()

    # And a third churn version (the documented registration, another training job) waits for the board
    register = re.search(r"registry register --group \"\$G\" --wait.*?--training-job \S+", documented, flags=re.S)
    assert register is not None
    third = _run(
        ". .sandbox/env\nG=churn-classifier\n" + register.group(0).replace("2026-03-01", "2026-03-15"), user_dir
    )
    assert third.returncode == 0, third.stderr
    assert _versions(user_dir, "churn-classifier")[3]["stage_status"] == "PendingApproval"
    before = _statuses_and_histories(user_dir)

    # When the user presses Ctrl-C
    _stop(sandbox.processes[0], output)
    # Then the sandbox stops cleanly, its state saved in its folder
    assert "sandbox stopped (state saved in" in output.read_text()
    assert (state / "emulator.state").is_file()

    # When the sandbox starts again on the same folder
    restarted = sandbox.start()
    # Then it restored the state and resumed the two running executions where they were
    restored = output.read_text().rsplit("restored the state saved at", 1)[-1]
    assert re.search(r"resumed churn-classifier-3-\S+ at RequestApproval", restored), output.read_text()
    assert re.search(r"resumed recommender-ranker-2-\S+ at \S+", restored), output.read_text()
    # and status and history show exactly what they showed before
    assert _statuses_and_histories(user_dir) == before

    # When the board approves the waiting version after the restart
    approved = _run(
        ". .sandbox/env\n"
        'registry --profile bob approve --group churn-classifier --version 3 --reason "after a restart" --wait',
        user_dir,
    )
    assert approved.returncode == 0, approved.stderr
    # Then that promotion completes: v3 serves, v1 is archived
    churn = _versions(user_dir, "churn-classifier")
    assert churn[3]["stage"] == "Production" and "Primary" in str(churn[3]["serving"]), churn
    assert churn[1]["stage"] == "Archived", churn

    # When traffic reaches the A/B endpoint (docs/sandbox.md's `make sandbox-traffic` line, as written)
    traffic = _make(_documented_make(REPO_ROOT / "docs" / "sandbox.md", "sandbox-traffic"), state)
    assert traffic.returncode == 0, traffic.stderr
    assert re.search(r"Challenger weight 0\.20\s+2000 invocations", traffic.stdout), traffic.stdout
    # Then the A/B test decides for the challenger: all traffic shifted to it, v2 in Production, v1 archived
    ranker = _until(
        "the A/B test's decision",
        lambda: (v := _versions(user_dir, "recommender-ranker"))[2]["stage"] == "Production" and v,
    )
    assert ranker[1]["stage"] == "Archived", ranker
    assert "100" in str(ranker[2]["serving"]) and not ranker[1]["serving"], ranker
    entries = _cli_json(user_dir, "history", "--group", "recommender-ranker")["entries"]
    promoted = [e for e in entries if e["version"] == 2 and e["to_stage"] == "Production"][-1]
    ab = promoted["evidence"]["deployment"]["ab"]
    assert ab["decision"] == "challenger", ab
    assert ab["variants"]["Challenger"]["invocations"] == 2000, ab["variants"]

    # When the user stops the sandbox and resets it (the README's `make sandbox-reset`)
    _stop(restarted, output)
    reset = _make("make sandbox-reset", state)
    # Then its folder is gone
    assert reset.returncode == 0, reset.stderr
    assert not state.exists()


def test_a_state_saved_by_another_emulator_is_refused_with_the_reset_remedy(tmp_path: Path) -> None:
    # Given a sandbox folder whose state was saved by another moto version
    import pickle

    from offline.sandbox_state import FORMAT, STATE_FILE

    state = tmp_path / "state"
    state.mkdir()
    with (state / STATE_FILE).open("wb") as file:
        pickle.dump({"format": FORMAT, "moto": "4.0.0", "python": "3.11", "app": "-"}, file)
    # When the sandbox starts on it
    started = _sandbox_command(state, "start", "--port", str(_free_port()), "--config", str(REPO_ROOT / "cdk.json"))
    # Then it refuses before synthesizing, naming the versions and the remedy, and leaves the state alone
    assert started.returncode == 2, started.stdout + started.stderr
    assert "saved by moto 4.0.0" in started.stderr and "make sandbox-reset" in started.stderr, started.stderr
    assert "synthesizing" not in started.stdout
    assert (state / STATE_FILE).is_file()


def test_the_state_is_pickled_after_writes_and_never_while_the_emulator_is_only_read(tmp_path: Path) -> None:
    # Given the sandbox's state watching every request (in-process clients and moto's HTTP server)
    import boto3
    from moto import mock_aws
    from moto.server import ThreadedMotoServer

    from offline.sandbox_state import SETTLE_SECONDS, ChangeWatch, EmulatorState

    now = [0.0]
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    with mock_aws(), ChangeWatch(clock=lambda: now[0]).installed() as watch:
        server.start()
        try:
            state = EmulatorState(tmp_path, "app", "123456789012", "eu-west-1", watch)
            local = {"region_name": "eu-west-1"}
            remote = {**local, "endpoint_url": f"http://127.0.0.1:{port}"}
            s3, s3_remote = boto3.client("s3", **local), boto3.client("s3", **remote)
            s3.create_bucket(Bucket="data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            s3.put_object(Bucket="data", Key="a", Body=b"1")

            def check_at(seconds: float) -> tuple[bool, int]:
                now[0] = seconds
                return state.save_if_changed(), state.pickled

            # When it checks right after the writes, and again within the settling time
            # Then it saves once, then pickles once more and finds nothing new
            assert check_at(0) == (True, 1)
            assert check_at(SETTLE_SECONDS * 2) == (False, 2)
            # When only reads reach it: S3 GETs (both ways), a query-protocol POST (STS), a JSON-target POST
            # (SageMaker), a CBOR RPC POST (CloudWatch), then it checks on
            s3.get_object(Bucket="data", Key="a")
            s3_remote.get_object(Bucket="data", Key="a")
            boto3.client("sts", **remote).get_caller_identity()
            boto3.client("sagemaker", **remote).list_model_package_groups()
            boto3.client("cloudwatch", **remote).list_metrics()
            # Then nothing is pickled
            assert check_at(SETTLE_SECONDS * 4) == (False, 2)
            assert check_at(SETTLE_SECONDS * 5) == (False, 2)
            # When a write reaches it through the server (a CloudWatch metric), it saves the change
            boto3.client("cloudwatch", **remote).put_metric_data(
                Namespace="N", MetricData=[{"MetricName": "M", "Value": 1.0}]
            )
            assert check_at(SETTLE_SECONDS * 6) == (True, 3)
            # and an in-process write (an object) as well
            now[0] = SETTLE_SECONDS * 9
            s3.put_object(Bucket="data", Key="b", Body=b"2")
            assert check_at(SETTLE_SECONDS * 9 + 1) == (True, 4)
            assert (tmp_path / "emulator.state").is_file()
        finally:
            server.stop()
