"""Every command the README and docs show is run by a test, or checked as far as this machine allows.

- Sandbox sessions (``bash`` blocks that source ``.sandbox/env`` or set ``G=``), with their ``make``
  lines: run as written by tests/pipeline/test_sandbox.py.
- A transcript's prompted command (``$ registry status ...``) is a command of the document's sessions
  (``"$G"`` expanded): it ran there.
- ``make bootstrap``, ``make clean`` and ``make sandbox-reset``: run here, for real (the last two in a
  scratch folder); ``make demo`` runs ``python -m demo``, which test_rehearsal.py runs; ``make test``
  is the suite itself (CI runs exactly it).
- ``npx cdk bootstrap|deploy|destroy`` need an account: the CDK CLI's own help must list every option
  the line uses, and the environment named with ``-c env=`` must be one that ``cdk.json`` defines.

A documented command that fits none of these fails the test: a new example needs a test that runs it.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.documented import REPO_ROOT, Command, all_commands, bash_blocks, is_session, session_script

MAKE = ["make", "--no-print-directory", "-C", str(REPO_ROOT)]
CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"
RUN_HERE = ("bootstrap", "clean", "sandbox-reset")
ACCOUNT_BOUND = ("bootstrap", "deploy", "destroy")

COMMANDS = all_commands()
STANDALONE = [c for c in COMMANDS if not c.session]


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z-]+):", (REPO_ROOT / "Makefile").read_text(), flags=re.M))


def _session_commands(document: str) -> set[str]:
    """The commands a document's sessions run, with each ``G=`` value expanded."""
    script = session_script(REPO_ROOT / document) if _has_session(document) else ""
    expanded, group = set(), None
    for line in script.splitlines():
        if assignment := re.fullmatch(r"G=(\S+)", line):
            group = assignment.group(1)
        expanded.add(line.replace('"$G"', group or '"$G"'))
    return expanded


def _has_session(document: str) -> bool:
    return any(is_session(block) for block in bash_blocks(REPO_ROOT / document))


def _session_make_lines() -> set[str]:
    return {c.line for c in COMMANDS if c.session and c.line.startswith("make ")}


def _route(command: Command) -> str:
    """Which test runs the command (or what checks it), or a failure message."""
    words = command.words
    if words[0] == "registry":
        if command.line in _session_commands(command.document):
            return "sandbox session"
        return f"{command.document}: `{command.line}` is shown but no session of that document runs it"
    if words[0] == "make":
        target = words[1] if len(words) > 1 and "=" not in words[1] else "help"
        if target not in _makefile_targets():
            return f"{command.document}: `{command.line}`: the Makefile has no target {target!r}"
        if command.line in _session_make_lines():
            return "sandbox session"
        if target in RUN_HERE:
            return "run here"
        if target in ("demo", "test"):
            return "recipe"
        return f"{command.document}: `{command.line}`: no test runs it"
    if words[:2] == ["npx", "cdk"] and words[2] in ACCOUNT_BOUND:
        return "cdk options"
    return f"{command.document}: `{command.line}`: no test runs it"


def test_the_docs_show_commands_and_sessions() -> None:
    assert len(STANDALONE) >= 10 and sum(c.session for c in COMMANDS) >= 30, COMMANDS
    assert {"README.md", "docs/sandbox.md", "docs/cli.md"} <= {c.document for c in COMMANDS if c.session}


@pytest.mark.parametrize("command", STANDALONE, ids=lambda c: f"{c.document}:{c.line[:50]}")
def test_every_documented_command_is_run_or_checked(command: Command) -> None:
    assert _route(command) in ("sandbox session", "run here", "recipe", "cdk options"), _route(command)


def test_make_bootstrap_runs_as_documented() -> None:
    # An installed environment: bootstrap has nothing to do and succeeds
    result = subprocess.run([*MAKE, "bootstrap"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_clean_removes_what_it_documents(tmp_path: Path) -> None:
    # Given a checkout with build outputs and reports (a scratch copy of the Makefile)
    (tmp_path / "Makefile").write_text((REPO_ROOT / "Makefile").read_text())
    for folder in ("cdk.out", "reports", ".pytest_cache", ".mypy_cache", ".ruff_cache"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x").write_text("x")
    (tmp_path / "cdk.json").write_text("{}")
    # When `make clean` runs
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(tmp_path), "clean"], capture_output=True, text=True
    )
    # Then the outputs are gone and the sources stay
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Makefile", "cdk.json"]


def test_make_sandbox_reset_removes_a_stopped_sandboxs_folder(tmp_path: Path) -> None:
    state = tmp_path / "sandbox"
    (state / "cdk.out").mkdir(parents=True)
    (state / "env").write_text("export AWS_ENDPOINT_URL=http://127.0.0.1:1\n")
    result = subprocess.run([*MAKE, f"SANDBOX_DIR={state}", "sandbox-reset"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not state.exists()


@pytest.mark.parametrize(
    ("target", "recipe"),
    [("demo", r"\.venv/bin/python -m demo"), ("test", r"\.venv/bin/python -m pytest -n \d+ --dist loadgroup")],
)
def test_make_demo_and_test_run_what_the_suite_runs(target: str, recipe: str) -> None:
    # `make -n` prints the recipe without running it: demo is `python -m demo` (test_rehearsal runs it),
    # test is the suite (what CI runs)
    result = subprocess.run([*MAKE, "-n", target], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.search(rf"^{recipe}$", result.stdout, flags=re.M), result.stdout


def _cdk_help(verb: str) -> str:
    result = subprocess.run([str(CDK), verb, "--help"], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


ACCOUNT_COMMANDS = [c for c in STANDALONE if c.words[:2] == ["npx", "cdk"]]


@pytest.mark.parametrize("command", ACCOUNT_COMMANDS, ids=lambda c: c.line)
def test_account_bound_cdk_commands_use_options_the_cli_has_and_environments_the_config_has(command: Command) -> None:
    words = command.words[2:]
    verb, rest = words[0], words[1:]
    help_text = _cdk_help(verb)
    options = [word.split("=")[0] for word in rest if word.startswith("-")]
    for option in options:
        assert re.search(rf"(^|\s){re.escape(option)}[\s,\]]", help_text), f"`cdk {verb}` has no option {option}"
    environments = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]["registry"]["environments"]
    for word in rest:
        if word.startswith("env="):
            assert word.removeprefix("env=") in environments, f"{command.line}: no environment {word!r} in cdk.json"
    if verb == "bootstrap":
        assert rest == ["aws://<account>/<region>"], shlex.join(rest)  # the one placeholder, named as such
