"""Every ``registry`` command the README and docs show is a command the CLI accepts.

The shell sessions of docs/sandbox.md and docs/cli.md are run as written by
tests/pipeline/test_sandbox.py; this test covers every ``registry ...`` line in every fenced block of
the README and docs/*.md (inline mentions in prose name commands, they are not examples): each must parse with the CLI's own parser (the command
exists, its options exist, required options are present). Synopses with ``[optional]`` parts,
alternatives (``a|b``) or ``...`` are templates, not commands, and are left out.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from mlops_registry.cli.main import build_parser

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
TEMPLATE = re.compile(r"\.\.\.|\[|\||\bRUN_ID\b.*\[")


def _examples(document: Path) -> list[str]:
    text = document.read_text()
    found: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("registry "):
                found.append(line)
    return [e for e in found if not TEMPLATE.search(e)]


CASES = [(doc.name, example) for doc in DOCUMENTS for example in _examples(doc)]


def test_the_docs_show_registry_commands() -> None:
    assert len(CASES) > 20, CASES


@pytest.mark.parametrize(("document", "example"), CASES)
def test_a_documented_command_parses(document: str, example: str) -> None:
    words = shlex.split(example.split(" > ")[0], comments=True)[1:]  # a redirection is the shell's
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(words)
        except SystemExit as exit_:
            assert exit_.code == 0, f"{document}: `{example}` is not a valid command: {stderr.getvalue()}"
