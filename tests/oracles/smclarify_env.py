"""The smclarify oracle environment: built once from PyPI into .venv-smclarify (gitignored) and reused.

Its own virtual environment because smclarify's dependencies conflict with the project's pins. The
environment is rebuilt when the pinned requirements change (their hash is stored beside it). Two test
workers building it at once take turns on a file lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import subprocess
import venv
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
ENV_DIR = REPO_ROOT / ".venv-smclarify"
REQUIREMENTS = HERE / "smclarify-requirements.txt"
RUNNER = HERE / "smclarify_runner.py"


def _python() -> Path:
    return ENV_DIR / "bin" / "python"


def ensure_environment() -> Path:
    """The oracle's Python, building the environment first if it is missing or out of date."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = ENV_DIR / ".requirements.sha256"
    ENV_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(REPO_ROOT / ".venv-smclarify.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == digest and _python().exists():
            return _python()
        venv.EnvBuilder(clear=True, with_pip=True).create(ENV_DIR)
        installed = subprocess.run(
            [str(_python()), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(REQUIREMENTS)],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if installed.returncode != 0:
            raise RuntimeError(f"cannot build the smclarify oracle environment {ENV_DIR}:\n{installed.stderr[-4000:]}")
        stamp.write_text(digest)
    return _python()


def run_smclarify(request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """smclarify's pre- and post-training reports for ``request`` (see smclarify_runner.py)."""
    python = ensure_environment()
    path = workdir / "smclarify-request.json"
    path.write_text(json.dumps(request))
    result = subprocess.run(
        [str(python), str(RUNNER), str(path)], check=True, capture_output=True, text=True, timeout=300
    )
    document: dict[str, Any] = json.loads(result.stdout)
    return document
