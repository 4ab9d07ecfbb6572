"""Synthesize the app for offline runs (``make demo``, ``make sandbox``, the test suite), or read an
existing assembly.

A synthesis takes 20-80 s (the CDK's Node process, cdk-nag, asset staging). Its cloud assembly is
kept under ``.cache/synth/<key>/``, the key a hash of everything the synthesis reads: the context,
the sources of ``infra/``, ``lambdas/`` and ``mlops_registry/``, ``app.py``, ``cdk.schema.json``, the
Python version and the versions of the CDK libraries. The same inputs give the same assembly, so a
later synthesis with the same key copies it instead. ``OFFLINE_SYNTH_CACHE=off`` turns the cache off;
another value names its folder. One lock serializes syntheses across processes (test workers), which
also keeps them from staging the same build folders at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from offline.folder_cache import keep_newest, staging_folder

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_VARIABLE = "OFFLINE_SYNTH_CACHE"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "synth"
SOURCE_FOLDERS = ("infra", "lambdas", "mlops_registry")
SOURCE_FILES = ("app.py", "cdk.schema.json")
LIBRARIES = ("aws-cdk-lib", "constructs", "cdk-nag", "jsii")
KEEP = 12  # assemblies kept (the newest): a run of the suite reads five (dev, staging, prod, two variants)


def synthesize(outdir: Path, context: dict[str, Any], *, asset_metadata: bool = True) -> dict[str, dict[str, Any]]:
    """Every top-level stack's template by stack name, with asset metadata unless told otherwise (the
    harness loads the code from it). The cloud assembly is written to ``outdir``."""
    if asset_metadata:
        context = {**context, "aws:cdk:enable-asset-metadata": True}
    outdir = Path(outdir)
    cache = _cache_root()
    if cache is None:
        return _synthesize(outdir, context)
    cached = cache / input_key(context)
    with _lock(cache):
        if not (cached / "manifest.json").is_file():
            staging = staging_folder(cache)
            try:
                _synthesize(staging, context)
                shutil.rmtree(cached, ignore_errors=True)  # an incomplete copy left by a killed run
                staging.rename(cached)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            keep_newest(cache, KEEP)
        os.utime(cached)
    shutil.copytree(cached, outdir, dirs_exist_ok=True)
    return read_assembly(outdir)


def _synthesize(outdir: Path, context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from aws_cdk import App

    from infra.app_factory import build_app

    app = App(context=context, outdir=str(outdir))
    build_app(app)
    assembly = app.synth()
    return {stack.stack_name: stack.template for stack in assembly.stacks}


def input_key(context: dict[str, Any]) -> str:
    """The hash of every input of a synthesis with ``context`` (see the module docstring)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(context, sort_keys=True).encode())
    digest.update(sys.version.encode())
    for library in LIBRARIES:
        try:
            digest.update(f"{library}=={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library} absent".encode())
    for path in _sources():
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def _sources() -> Iterator[Path]:
    for name in SOURCE_FILES:
        if (REPO_ROOT / name).is_file():
            yield REPO_ROOT / name
    for folder in SOURCE_FOLDERS:
        for root, dirs, files in os.walk(REPO_ROOT / folder):  # links (lambdas/mlops_registry) not followed
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = Path(root) / name
                if not name.endswith(".pyc") and path.is_file():
                    yield path


def _cache_root() -> Path | None:
    setting = os.environ.get(CACHE_VARIABLE, "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    root = Path(setting) if setting else DEFAULT_CACHE
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextmanager
def _lock(cache: Path) -> Iterator[None]:
    with (cache / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_assembly(outdir: Path) -> dict[str, dict[str, Any]]:
    """The templates of an already synthesized cloud assembly (``cdk.out``), by stack name."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    templates: dict[str, dict[str, Any]] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        name = properties.get("stackName") or artifact.get("displayName") or artifact_id
        templates[name] = json.loads((outdir / properties["templateFile"]).read_text())
    if not templates:
        raise ValueError(f"{outdir}: the cloud assembly holds no stack")
    return templates
