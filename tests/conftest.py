"""Shared fixtures. CDK synth is slow, so the app is synthesized once per test session."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from offline.environment import collect_less_often, freeze_the_survivors, share_service_models

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MlopsRegistry")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # see offline/environment.py

REPO_ROOT = Path(__file__).resolve().parents[1]

# Every botocore session of a worker reads the SDK's service models once (offline/environment.py).
share_service_models()
collect_less_often()  # every worker hosts emulated worlds (offline/environment.py)


@dataclass
class SynthesizedApp:
    outdir: Path
    templates: dict[str, dict[str, Any]]
    config: Any

    def template(self, suffix: str) -> dict[str, Any]:
        matches = [name for name in self.templates if name.endswith(suffix)]
        assert len(matches) == 1, f"expected one stack ending in {suffix!r}, got {sorted(self.templates)}"
        return self.templates[matches[0]]

    def warnings(self) -> list[str]:
        """The construct warnings of every stack, as the cloud assembly records them for ``cdk synth``."""
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        warnings = []
        for artifact in manifest.get("artifacts", {}).values():
            metadata = dict(artifact.get("metadata", {}))
            if "additionalMetadataFile" in artifact:  # where the CDK now writes a stack's metadata
                metadata.update(json.loads((self.outdir / artifact["additionalMetadataFile"]).read_text()))
            warnings += [
                str(e.get("data"))
                for entries in metadata.values()
                for e in entries
                if e.get("type") == "aws:cdk:warning"
            ]
        return warnings


def cdk_context() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def synthesized_app(outdir: Path, context: dict[str, Any], *, asset_metadata: bool = False) -> SynthesizedApp:
    """The app synthesized with ``context`` (a copy of the cached assembly when its inputs did not
    change: offline/synth.py) and the environment's configuration, read as ``build_app`` reads it."""
    from infra.config import CONTEXT_KEY, ENV_CONTEXT_KEY, load
    from offline.synth import synthesize

    templates = synthesize(outdir, context, asset_metadata=asset_metadata)
    config = load({CONTEXT_KEY: context.get(CONTEXT_KEY)}, context.get(ENV_CONTEXT_KEY)).config
    return SynthesizedApp(outdir=outdir, templates=templates, config=config)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The dev environment, with asset metadata (the harness loads each function's code from it)."""
    return synthesized_app(tmp_path_factory.mktemp("cdk.out"), cdk_context(), asset_metadata=True)


@pytest.fixture(scope="session")
def synthesized_staging(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The staging environment: concrete account and region, so ARNs in the templates are literal."""
    return synthesized_app(tmp_path_factory.mktemp("cdk.out.staging"), {**cdk_context(), "env": "staging"})


@pytest.fixture(scope="session")
def synthesized_prod(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The prod environment, as shipped: its placeholder account ids make the synthesis warn."""
    return synthesized_app(tmp_path_factory.mktemp("cdk.out.prod"), {**cdk_context(), "env": "prod"})


def pytest_configure(config: Any) -> None:
    """One directory per run for the IAM proof's and the state-machine coverage's totals, shared with
    pytest-xdist workers (they inherit the environment), so the summary lines count every worker's
    calls and transitions exactly once."""
    import tempfile

    from offline import iam_proof, mlflow_server

    if not hasattr(config, "workerinput") and not os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ[iam_proof.TOTALS_DIR_VARIABLE] = tempfile.mkdtemp(prefix="iam-proof-")
        mlflow_server.prepare()
        if config.getoption("numprocesses", None):
            # A distributed run (``make test``) uses it: started now, while the workers start and collect.
            mlflow_server.start_in_background()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Scheduling of a distributed run (``make test``: ``--dist loadgroup``, whose scheduler hands out the
    largest group first, then the other tests one by one in this order).

    - The ``cdk`` tests build constructs in their own process, and the first one in a process starts the
      CDK's Node kernel (~4 s of CPU): they are one group, so one worker runs them all.
    - The ``mlflow`` tests import the MLflow library (~1.4 s of CPU a process): one group too.
    - The ``long`` tests come first, so the workers the group leaves free start them at once and none
      of them starts last and ends the run alone."""
    for item in items:
        for marker in ("cdk", "mlflow"):
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.xdist_group(marker))
    items[:] = sorted(items, key=lambda item: item.get_closest_marker("long") is None)  # stable


@pytest.hookimpl(tryfirst=True)  # before pytest's own end-of-session collections
def pytest_unconfigure(config: Any) -> None:
    """Every process ends without walking its emulated worlds again (``freeze_the_survivors``); the
    controller stops the MLflow server the run shared (offline/mlflow_server.py)."""
    from offline import mlflow_server

    freeze_the_survivors()
    if not hasattr(config, "workerinput") and not os.environ.get("PYTEST_XDIST_WORKER"):
        mlflow_server.stop()


@pytest.fixture(scope="session")
def mlflow_url() -> str:
    """A real MLflow tracking server on 127.0.0.1 (SQLite backend, local artifacts), shared by the run."""
    from offline import mlflow_server

    return mlflow_server.url()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the state-machine coverage of the whole run as the last line of the report."""
    from offline import iam_proof
    from offline.harness import coverage

    totals = os.environ.get(iam_proof.TOTALS_DIR_VARIABLE)
    directory = Path(totals) if totals else None
    line = coverage.line(directory)
    if line:
        missing_states, missing_edges = coverage.missing(directory)
        if missing_edges and terminalreporter.config.getoption("verbose") > 0:
            terminalreporter.write_line(f"uncovered transitions: {sorted(missing_edges)}")
        terminalreporter.write_line(line)
    iam_line = iam_proof.line(directory)
    if iam_line:
        terminalreporter.write_line(iam_line)
