"""A real MLflow tracking server for the tests and the demo: ``mlflow server`` on 127.0.0.1 (SQLite backend, local
artifact root), the pinned MLflow of requirements-dev.txt.

Starting one costs ~10-25 s on this machine, so one server serves the whole run: the first process
that needs it (pytest-xdist worker or not) starts it under a file lock in a directory the controller
created (``MLFLOW_TEST_DIR``), the others reuse it, and the controller stops it at the end
(``stop``, called from ``pytest_unconfigure``). A distributed run's controller starts it at once, in
the background (``start_in_background``), so its start overlaps the workers' own. Its log is ``server.log`` in that directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

DIR_VARIABLE = "MLFLOW_TEST_DIR"
START_TIMEOUT_SECONDS = 120.0


def prepare() -> None:
    """Controller only: the shared directory (workers inherit the environment)."""
    os.environ.setdefault(DIR_VARIABLE, tempfile.mkdtemp(prefix="mlflow-test-"))


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url(log_path: Path | None = None) -> str:
    """The shared server's URL, starting it if this run has none yet (its log: ``log_path``, default
    ``server.log`` in the shared directory)."""
    directory = Path(os.environ.get(DIR_VARIABLE) or tempfile.mkdtemp(prefix="mlflow-test-"))
    os.environ[DIR_VARIABLE] = str(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _start(directory, log_path or directory / "server.log")


def _start(directory: Path, log_path: Path) -> str:
    """The server of ``directory`` (the caller holds its lock): the running one, else a new one once it
    answers."""
    url_file = directory / "url"
    if url_file.exists() and _healthy(url_file.read_text().strip()):
        return url_file.read_text().strip()
    port = _free_port()
    address = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = open(log_path, "ab")  # noqa: SIM115 (the server writes it until stopped)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{directory / 'mlflow.db'}",
            "--default-artifact-root",
            str(directory / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: stopped as one
    )
    (directory / "pid").write_text(str(process.pid))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _healthy(address):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mlflow server did not start; see {log_path}")
        time.sleep(0.3)
    url_file.write_text(address)
    return address


def start_in_background() -> None:
    """Controller only: start the shared server on a thread; ``url`` callers wait for it under the lock."""
    import threading

    ready = threading.Event()

    def start() -> None:
        directory = Path(os.environ[DIR_VARIABLE])
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            ready.set()
            with contextlib.suppress(RuntimeError):  # a failed start is retried, and reported, by ``url``
                _start(directory, directory / "server.log")

    threading.Thread(target=start, name="mlflow-server-start", daemon=True).start()
    ready.wait(timeout=10)  # the lock is held before any worker can ask for the server


def stop() -> None:
    """Controller only: stop the server this run started (its process group, by its id)."""
    directory = os.environ.get(DIR_VARIABLE)
    if not directory:
        return
    pid_file = Path(directory) / "pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    pid_file.unlink()


@contextlib.contextmanager
def running(directory: Path, log_path: Path | None = None) -> Iterator[str]:
    """A server of its own in ``directory`` (SQLite and artifacts there; its log ``log_path``, default
    ``server.log`` there), stopped on exit (``make demo``)."""
    previous = os.environ.get(DIR_VARIABLE)
    os.environ[DIR_VARIABLE] = str(directory)
    try:
        yield url(log_path)
    finally:
        stop()
        if previous is None:
            os.environ.pop(DIR_VARIABLE, None)
        else:
            os.environ[DIR_VARIABLE] = previous
