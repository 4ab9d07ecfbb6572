"""The commands the README and docs show, read from their fenced blocks, and how a test runs them.

A command is a line of a ``bash`` block (continuations joined, blank and comment lines left out) or a
``$ ``-prompted line of a transcript block. Sandbox sessions are the ``bash`` blocks that talk to the
sandbox (they source ``.sandbox/env`` or set a group for the commands that follow):
tests/pipeline/test_sandbox.py runs them as written, in a user's shell outside the checkout, and
runs their ``make`` lines from the repository against the same sandbox folder
(:func:`make_from_repository`). tests/unit/test_documented_commands.py checks that every command of
every document is one that some test runs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")))
FENCE = re.compile(r"```([a-z]*)\n(.*?)```", flags=re.S)


@dataclass(frozen=True)
class Command:
    document: str  # the file's name relative to the repository
    line: str  # the command as shown, its trailing comment removed
    session: bool  # part of a sandbox session (run by the sandbox test)

    @property
    def words(self) -> list[str]:
        return shlex.split(self.line, comments=True)


def _strip_comment(line: str) -> str:
    """The command without its trailing ``# ...`` comment (a ``#`` inside quotes is kept)."""
    quote = ""
    for index, char in enumerate(line):
        if char in "'\"" and quote in ("", char):
            quote = "" if quote else char
        elif char == "#" and not quote and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def bash_blocks(document: Path) -> list[str]:
    return [body for language, body in FENCE.findall(document.read_text()) if language == "bash"]


def is_session(block: str) -> bool:
    """A sandbox session: it sources the sandbox's environment or sets the group the commands use."""
    return bool(re.search(r"^\. \.sandbox/env|^G=", block, flags=re.M))


def block_commands(block: str) -> list[str]:
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        line = _strip_comment(line.strip())
        if line:
            commands.append(line)
    return commands


def commands(document: Path) -> list[Command]:
    name = document.relative_to(REPO_ROOT).as_posix()
    found: list[Command] = []
    for language, body in FENCE.findall(document.read_text()):
        if language == "bash":
            found += [Command(name, line, is_session(body)) for line in block_commands(body)]
        else:  # a transcript: the prompted lines are commands, the rest is what they print
            for line in body.splitlines():
                if line.startswith("$ "):
                    found.append(Command(name, _strip_comment(line[2:].strip()), False))
    return found


def all_commands() -> list[Command]:
    return [command for document in DOCUMENTS for command in commands(document)]


def session_script(document: Path) -> str:
    """The sandbox sessions of a document as one script for a user's shell: ``make`` lines (run from
    the repository, by :func:`make_from_repository`) are left out."""
    lines = [
        line
        for block in bash_blocks(document)
        if is_session(block)
        for line in block_commands(block)
        if not line.startswith("make ")
    ]
    assert lines, f"{document} has no sandbox session"
    return "\n".join(lines) + "\n"


def session_make_lines(document: Path) -> list[str]:
    return [
        line
        for block in bash_blocks(document)
        if is_session(block)
        for line in block_commands(block)
        if line.startswith("make ")
    ]


def make_from_repository(line: str, sandbox_dir: Path) -> list[str]:
    """A documented ``make`` line as run from the repository on the sandbox folder ``sandbox_dir``."""
    words = shlex.split(line)
    assert words[0] == "make", line
    return ["make", "--no-print-directory", "-C", str(REPO_ROOT), f"SANDBOX_DIR={sandbox_dir}", *words[1:]]
