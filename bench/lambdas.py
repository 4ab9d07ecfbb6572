"""Each handler's cold import time against a bare ``import boto3``, and each asset's zipped size."""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from bench.app import synthesized

REPEATS = 5
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _import_seconds(module: str, path: Path | None) -> float:
    env_path = str(path) if path else ""
    samples = []
    for _ in range(REPEATS):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module)],
            capture_output=True,
            text=True,
            check=True,
            env={
                "PYTHONPATH": env_path,
                "AWS_DEFAULT_REGION": "eu-west-1",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PATH": "/usr/bin:/bin",
            },
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def _zipped_size(directory: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return len(buffer.getvalue())


def run() -> dict[str, Any]:
    outdir, templates = synthesized()
    boto3_seconds = _import_seconds("boto3", None)
    handlers: dict[str, dict[str, Any]] = {}
    assets: dict[str, int] = {}
    for template in templates.values():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] != "AWS::Lambda::Function" or "aws:asset:path" not in resource.get("Metadata", {}):
                continue
            asset = outdir / resource["Metadata"]["aws:asset:path"]
            module = resource["Properties"]["Handler"].rsplit(".", 1)[0]
            if module not in handlers:
                seconds = _import_seconds(module, asset)
                handlers[module] = {"seconds": seconds, "ratio": seconds / boto3_seconds, "function": logical_id}
            assets.setdefault(f"{module.split('.')[0]} ({asset.name[:18]}…)", _zipped_size(asset))
    return {"boto3_s": boto3_seconds, "handlers": handlers, "assets": assets}


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"== handler import time (median of {REPEATS} cold imports) vs bare `import boto3` = {figures['boto3_s'] * 1000:.0f} ms"
    ]
    for module, data in sorted(figures["handlers"].items()):
        lines.append(f"{module:45s} {data['seconds'] * 1000:7.0f} ms  ratio {data['ratio']:.2f}x")
    lines.append("== asset zipped sizes")
    for asset, size in sorted(figures["assets"].items()):
        lines.append(f"{asset:45s} {size / 1024:7.1f} KiB")
    return "\n".join(lines)
