"""Which groups this registry manages: ``cdk.json`` read with the project's own ``infra.config``.

``infra/config.py`` is CDK-free. The editable install maps only the Lambda packages and the CLI, so
when ``infra`` is not importable the repository root next to this package is put on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from registry_cli.errors import UsageError

CONFIG_ENV_VAR = "REGISTRY_CONFIG"
ENV_ENV_VAR = "REGISTRY_ENV"
REPO_ROOT = Path(__file__).resolve().parents[1]


def _config_module() -> ModuleType:
    try:
        import infra.config as module
    except ImportError:
        if (REPO_ROOT / "infra" / "config.py").is_file() and str(REPO_ROOT) not in sys.path:
            sys.path.append(str(REPO_ROOT))
        try:
            import infra.config as module
        except ImportError as error:  # pragma: no cover - an installation problem
            raise UsageError(f"cannot import the registry configuration loader (infra.config): {error}") from error
    return module


def find_config(explicit: str | None) -> Path:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UsageError(f"--config {explicit}: no such file")
        return path
    candidates = [os.environ.get(CONFIG_ENV_VAR), Path.cwd() / "cdk.json", REPO_ROOT / "cdk.json"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise UsageError("cannot find cdk.json: pass --config PATH or set REGISTRY_CONFIG")


def read_context(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"{path}: not a readable JSON document ({error})") from error
    context = document.get("context", document) if isinstance(document, dict) else None
    if not isinstance(context, dict):
        raise UsageError(f"{path}: expected a cdk.json with a 'context' object")
    return context


def load_environment(explicit_path: str | None, env_name: str | None) -> Any:
    """The validated ``EnvironmentConfig`` of one environment."""
    path = find_config(explicit_path)
    context = read_context(path)
    module = _config_module()
    chosen = env_name or os.environ.get(ENV_ENV_VAR) or context.get("env") or module.DEFAULT_ENV
    try:
        return module.load_config(context, chosen)
    except module.ConfigError as error:
        raise UsageError(f"{path}: {error}") from error
