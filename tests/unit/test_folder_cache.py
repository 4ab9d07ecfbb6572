"""The folders kept under .cache across runs: only the most recently used stay, and function code is
unzipped once per archive."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest

from offline import folder_cache
from offline.harness import runtime


def test_only_the_most_recently_used_entries_stay_and_a_staging_folder_is_left_alone(tmp_path: Path) -> None:
    # Given five entries used at times 100..500 and one folder still being staged (the oldest of all)
    for index in range(5):
        entry = tmp_path / f"entry-{index}"
        entry.mkdir()
        os.utime(entry, (100 * (index + 1), 100 * (index + 1)))
    staging = folder_cache.staging_folder(tmp_path)
    os.utime(staging, (1, 1))
    # When two are kept
    folder_cache.keep_newest(tmp_path, 2)
    # Then the two used last remain, with the staging folder
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["entry-3", "entry-4", staging.name])


def test_a_functions_archive_is_unzipped_once_into_one_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "CODE_CACHE", tmp_path / "code")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    code = buffer.getvalue()
    digest = hashlib.sha256(code).hexdigest()[:16]
    # When the same archive is asked for twice (as two processes would)
    first = runtime.unzipped(code, digest)
    (first / "marker").write_text("kept")
    second = runtime.unzipped(code, digest)
    # Then it is one folder, unzipped once, and no staging folder is left behind
    assert first == second == tmp_path / "code" / digest
    assert (second / "marker").read_text() == "kept"
    assert "return event" in (second / "handler.py").read_text()
    assert [p.name for p in (tmp_path / "code").iterdir()] == [digest]
