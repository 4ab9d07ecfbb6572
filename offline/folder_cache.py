"""Folders kept under ``.cache/`` across runs (cloud assemblies, unzipped function code): each is
written in a ``staging-`` folder beside it, then renamed into place, and only the most recently used
are kept."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

STAGING_PREFIX = "staging-"


def staging_folder(root: Path) -> Path:
    """A new, empty folder in ``root`` to write an entry in before it is renamed into place."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))


def keep_newest(root: Path, keep: int) -> None:
    """Remove all but the ``keep`` most recently used entries of ``root`` (by modification time: a user
    touches its entry); folders still being staged stay."""
    entries = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(STAGING_PREFIX)),
        key=_newest_first,
    )
    for stale in entries[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def _newest_first(folder: Path) -> float:
    try:
        return -folder.stat().st_mtime
    except OSError:  # removed meanwhile by another process
        return 0.0
