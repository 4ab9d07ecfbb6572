"""Experiment tracking in the rehearsal: a real MLflow tracking server, real training runs, versions
registered from them with the CLI, and the lifecycle the pipeline writes back to MLflow.

- ``tracking_server``: ``mlflow server`` on 127.0.0.1 (SQLite backend and artifact folder in a temporary
  directory of its own, its log a file the demo names), started before the emulated system and stopped
  after it. The harness points the lifecycle function at it (``PipelineHarness(mlflow_url=...)``) while
  its IAM is judged against the template's MLflow, as in tests/pipeline/test_mlflow_lifecycle.py.
- ``steps``: a scikit-learn model is trained on generated data and logged as a run (params, metrics,
  git tags, an S3 dataset input, ``model.tar.gz`` with ``model.joblib``; offline/training_run.py),
  registered with ``registry register --mlflow-run`` by alice, gated, approved by bob and deployed:
  two runs on the first blue/green group a model can be trained for (its required metrics are all
  classification, or all ranking metrics), the second replacing the first; one run as the challenger
  of the first such A/B group. After each promotion the MLflow aliases are read back with the MLflow
  client and printed: ``champion`` on the Production version, ``challenger`` during the A/B test, none
  on the archived version.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demo.report import MlflowVersionRow
from mlops_registry.core.contracts import STAGE_ARCHIVED, STAGE_PRODUCTION, VARIANT_CHALLENGER, VARIANT_CHAMPION

REPOSITORY = "https://git.example.com/ml/{group}"
# The commit each demo run is tagged with (a training script logs its checkout's HEAD).
COMMITS = ("5e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d", "7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b")


@dataclass
class MlflowStory:
    url: str
    log_path: Path
    directory: Path
    versions: list[MlflowVersionRow] = field(default_factory=list)


@contextlib.contextmanager
def tracking_server(config: Any, log_path: Path, log: Callable[[str], None] = print) -> Iterator[MlflowStory | None]:
    """The MLflow the rehearsal uses: none without an ``mlflow`` config, else a server of its own (stopped
    on exit)."""
    from offline import mlflow_server

    if getattr(config, "mlflow", None) is None:
        yield None
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="demo-mlflow."))  # kept, like cdk.out: restart a server on it
    started = time.perf_counter()
    with mlflow_server.running(directory, log_path) as address:
        log(
            f"   MLflow tracking server {address} started in {time.perf_counter() - started:.1f}s "
            f"(SQLite and artifacts in {directory}; log {log_path})"
        )
        yield MlflowStory(address, log_path, directory)


def _kind(policy: Any) -> str | None:
    from offline.training_run import model_kind

    return model_kind([m.name for m in policy.metrics])


def steps(config: Any) -> list[tuple[str, Callable[[Any], str]]]:
    """The MLflow steps for this configuration: the first blue/green group a model can be trained for gets
    two runs (champion, then replaced), the first such A/B group one run (challenger, then champion)."""
    if getattr(config, "mlflow", None) is None:
        return []
    planned: list[tuple[str, Callable[[Any], str]]] = []
    blue_green = next((g for g in config.groups if g.deployment.mode == "blue_green" and _kind(g)), None)
    if blue_green is not None:
        group, first, second = blue_green.name, *REGULARIZATION[str(_kind(blue_green))]
        planned += [
            (
                f"{group}: an MLflow run registered with --mlflow-run, promoted: Production, MLflow alias champion",
                lambda rehearsal: promote_run(rehearsal, group, regularization=first, commit=COMMITS[0]),
            ),
            (
                f"{group}: a second MLflow run replaces it: champion moves, the archived version loses its aliases",
                lambda rehearsal: promote_run(rehearsal, group, regularization=second, commit=COMMITS[1]),
            ),
        ]
    ab_test = next((g for g in config.groups if g.deployment.mode == "ab_test" and _kind(g)), None)
    if ab_test is not None:
        ab_group, regularization = ab_test.name, REGULARIZATION[str(_kind(ab_test))][1]
        planned.append(
            (
                f"{ab_group}: an MLflow run as the A/B challenger: alias challenger during the test, champion after",
                lambda rehearsal: promote_run(rehearsal, ab_group, regularization=regularization, commit=COMMITS[1]),
            )
        )
    return planned


SEED = 7  # one data set per group, drawn from the population its governed holdout set comes from
# (first, second) run's regularization: C of the logistic regression, alpha of the ridge regression. A
# classifier's second run is a retrain at a later commit with the same settings: a different C moves
# rate metrics (recall, false-positive rate) by single samples, which the champion comparison's
# relative tolerance may refuse; the ranker's second run is the better-fitted one.
REGULARIZATION = {"classification": (1.0, 1.0), "ranking": (1000.0, 1.0)}


def promote_run(rehearsal: Any, group: str, *, regularization: float, commit: str) -> str:
    """Train and log a run, register it with the CLI, promote it; what MLflow shows afterwards."""
    from mlflow.tracking import MlflowClient

    from demo.rehearsal import DATA_SCIENTIST
    from mlops_registry.core.baseline import baseline_s3_key, build_feature_baseline
    from offline.harness import ACCOUNT, REGION
    from offline.samples import passing_reports
    from offline.training_run import log_training_run

    story: MlflowStory | None = rehearsal.mlflow
    rehearsal.check(story is not None, "no MLflow tracking server for the rehearsal")
    assert story is not None
    h = rehearsal.harness
    policy = rehearsal.group(group)
    ab = policy.deployment.mode == "ab_test"
    previous = rehearsal.served.get(group)
    started = time.perf_counter()
    logged = log_training_run(
        story.url,
        h.s3,
        h.artifacts_bucket,
        experiment=group,
        features=list(policy.features),
        commit=commit,
        repository=REPOSITORY.format(group=group),
        training_job=f"{group}-train-{regularization:g}".replace(".", "-"),
        seed=SEED,
        regularization=regularization,
        kind=str(_kind(policy)),
        population=policy,
        rows=4000,
    )
    tag = f"mlflow-{logged.run_id[:8]}"
    reports = passing_reports(policy)
    registered = rehearsal.cli_json(
        "register", "--group", group, "--mlflow-run", logged.run_id, "--tracking-uri", story.url,
        "--image", f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{group}:{tag}",
        "--bias-report", h.put_json(f"{group}/{tag}/bias.json", reports["bias"]),
        "--explainability-report", h.put_json(f"{group}/{tag}/explainability.json", reports["explainability"]),
        "--baseline", h.put_json(baseline_s3_key(group, tag), build_feature_baseline(logged.columns)),
        identity=DATA_SCIENTIST,
    )  # fmt: skip
    package_arn = str(registered["package_arn"])
    mlflow = registered.get("mlflow") or {}
    rehearsal.check(mlflow.get("MlflowRunId") == logged.run_id, f"the package does not record run {logged.run_id}")
    client = MlflowClient(tracking_uri=story.url)
    model, mlflow_version = str(mlflow["MlflowModelName"]), str(mlflow["MlflowModelVersion"])
    during_test: list[dict[str, str]] = []
    if ab:
        _challenger_wins(rehearsal, group, lambda: during_test.append(dict(client.get_registered_model(model).aliases)))
    execution = rehearsal.announce(package_arn)
    rehearsal.approve(package_arn)
    result = rehearsal.finish(execution, started)
    rehearsal.check(result["status"] == "SUCCEEDED", f"{group} run {logged.run_id} promotion ended {result['status']}")
    rehearsal.check(
        rehearsal.stage(package_arn)[0] == STAGE_PRODUCTION, f"{package_arn} is {rehearsal.stage(package_arn)}"
    )
    rehearsal.served[group] = package_arn

    # What MLflow shows now, read back with the MLflow client.
    aliases = dict(client.get_registered_model(model).aliases)
    rehearsal.check(aliases == {"champion": mlflow_version}, f"MLflow {model} aliases {aliases}")
    version = client.get_model_version(model, mlflow_version)
    rehearsal.check(
        version.tags.get("stage") == STAGE_PRODUCTION, f"MLflow {model} v{mlflow_version} tags {version.tags}"
    )
    shown = [f"MLflow {model} aliases: champion → version {mlflow_version}"]
    if ab:
        rehearsal.check(
            bool(during_test) and during_test[0].get("challenger") == mlflow_version,
            f"MLflow {model} aliases during the A/B test: {during_test}",
        )
        shown.insert(0, f"during the A/B test MLflow {model} aliases: challenger → version {mlflow_version}")
    replaced = next((r for r in story.versions if previous and r.lane == _lane(previous)), None)
    if replaced is not None:
        gone = client.get_model_version(replaced.model, replaced.model_version)
        rehearsal.check(
            gone.aliases == [] and gone.tags.get("stage") == STAGE_ARCHIVED,
            f"MLflow {model} v{replaced.model_version}: aliases {gone.aliases}, tags {gone.tags}",
        )
        replaced.aliases = f"none (Archived when version {mlflow_version} took over)"
        shown.append(f"version {replaced.model_version} ({replaced.lane}) Archived, no alias")
    lane = f"{group} v{registered['version']}"
    story.versions.append(
        MlflowVersionRow(
            lane=lane,
            run_id=logged.run_id,
            link=str(mlflow.get("RunLink", "")),
            model=model,
            model_version=mlflow_version,
            metrics={m.name: logged.metrics[m.name] for m in policy.metrics},
            aliases="challenger during the A/B test, then champion" if ab else "champion",
        )
    )
    rehearsal.report.mlflow_versions = list(story.versions)
    metrics = ", ".join(f"{m.name} {logged.metrics[m.name]:.4f}" for m in policy.metrics)
    return f"run {logged.run_id[:12]} ({metrics}) → {lane} → Production; {'; '.join(shown)}"


def _challenger_wins(rehearsal: Any, group: str, look: Callable[[], None]) -> None:
    """During the A/B test: read MLflow's aliases, then the traffic in which the challenger wins clearly."""
    h = rehearsal.harness
    ab = rehearsal.group(group).deployment.ab_test
    trials = max(4 * ab.min_samples_per_variant, 4000)
    counts = {
        VARIANT_CHAMPION: {"invocations": trials, "successes": trials // 10},
        VARIANT_CHALLENGER: {
            "invocations": trials,
            "successes": int(trials / 10 * (1 + max(0.65, 3 * ab.minimum_detectable_effect))),
        },
    }
    looked: list[bool] = []

    def traffic(payload: dict[str, Any]) -> None:
        if payload.get("state", {}).get("group") == group and not looked:
            looked.append(True)
            look()
            h.publish_variant_metrics(group, counts, ab.success_metric_name)

    h.on_invoke("DeploymentFunction", "evaluate", traffic)


def _lane(package_arn: str) -> str:
    group, version = package_arn.rsplit("/", 2)[-2:]
    return f"{group} v{version}"
