"""The offline rehearsal: the whole lifecycle on an embedded AWS emulator, with the synthesized app.

Runs the synthesized state machine, the real Lambda code and the real ``registry`` CLI against moto
(in-process), and checks that every step behaves as the product promises:

1. v1 of a blue/green group is registered with lineage, reports and baseline, passes the gates, is
   approved through the CLI, deployed, and serves in Production;
2. v2 fails the bias gate and is Archived with the reason;
3. v3 passes, is deployed blue/green, and v1 is Archived;
4. an A/B group: the challenger beats the champion significantly, traffic shifts, the loser is Archived;
5. captured traffic with drifted features: drift metrics, the feature alarms in ALARM, the drift event;
6. a bad version of the blue/green group trips the deployment guardrails: the previous version keeps
   serving and the candidate is marked rolled back.

It prints a timeline and the ledger, writes an HTML report, and returns non-zero if any step
misbehaves.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from demo.report import FeatureDrift, ReportData, TimelineMark, VariantRate, render
from offline.alarms import evaluate_alarms
from offline.harness import PipelineHarness, ranker_reports
from offline.observe import capture_events, drain, invoke
from offline.samples import CHURN_FEATURES, churn_reports

BLUE_GREEN = "churn-classifier"
AB_GROUP = "recommender-ranker"
REVIEWER_REASON = "Reviewed metrics, fairness and explanations"
COMMIT = "4f2a9c1d7e3b5a6c8d9e0f1a2b3c4d5e6f7a8b9c"


class StepFailed(AssertionError):
    """A rehearsal step did not behave as described."""


@dataclass
class Rehearsal:
    harness: PipelineHarness
    log: Callable[[str], None]
    report: ReportData = field(default_factory=lambda: ReportData(title="MLOps model registry: offline rehearsal"))
    durations: dict[str, float] = field(default_factory=dict)
    promotions: list[str] = field(default_factory=list)

    # --- helpers -------------------------------------------------------------------------------
    def cli(self, *args: str) -> tuple[int, str, str]:
        """Run the real ``registry`` console command in-process (the emulator is active)."""
        from registry_cli.main import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--quiet"])
        return code, out.getvalue(), err.getvalue()

    def cli_json(self, *args: str) -> Any:
        code, out, err = self.cli(*args, "--output", "json")
        if code != 0:
            raise StepFailed(f"registry {' '.join(args)} exited {code}: {err.strip()}")
        return json.loads(out)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise StepFailed(message)

    def register(
        self, group: str, tag: str, reports: dict[str, Any], features: list[str], categorical: tuple[str, ...]
    ) -> dict[str, Any]:
        """Upload the artifact, reports and baseline; register with the CLI (lineage included)."""
        from registry_core.baseline import baseline_s3_key, build_feature_baseline

        h = self.harness
        models = h.models_bucket  # the shareable bucket; reports and baselines stay internal
        prefix = f"{group}/{tag}"
        h.s3.put_object(Bucket=models, Key=f"{prefix}/model.tar.gz", Body=b"model bytes")
        rng = random.Random(f"{group}-{tag}")
        columns: dict[str, list[Any]] = {}
        for index, feature in enumerate(features):
            if feature in categorical:
                columns[feature] = [rng.choice(["a", "b", "c"]) for _ in range(2000)]
            else:
                columns[feature] = [rng.gauss(50 + 10 * index, 10) for _ in range(2000)]
        baseline_uri = h.put_json(baseline_s3_key(group, tag), build_feature_baseline(columns, categorical=categorical))
        return dict(
            self.cli_json(
                "register",
                "--group",
                group,
                "--model-data",
                f"s3://{models}/{prefix}/model.tar.gz",
                "--image",
                f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{group}:{tag}",
                "--metrics-report",
                h.put_json(f"{prefix}/metrics.json", reports["metrics"]),
                "--bias-report",
                h.put_json(f"{prefix}/bias.json", reports["bias"]),
                "--explainability-report",
                h.put_json(f"{prefix}/explainability.json", reports["explainability"]),
                "--baseline",
                baseline_uri,
                "--training-data",
                f"s3://{h.artifacts_bucket}/datasets/{group}/{tag}/train.parquet",
                "--repository",
                f"https://git.example.com/ml/{group}",
                "--commit",
                COMMIT,
                "--hyperparameters",
                json.dumps({"max_depth": 6, "eta": 0.2, "num_round": 200}),
                "--training-job",
                f"{group}-train-{tag}",
            )
        )

    def announce(self, package_arn: str) -> str:
        outcome = self.harness.deliver(self.harness.state_change_event(package_arn))
        self.check(outcome.get("action") == "started", f"no promotion started for {package_arn}: {outcome}")
        return str(outcome["execution_arn"])

    def approve(self, package_arn: str) -> None:
        self.check(self.harness.pending_approval(package_arn), f"{package_arn} never waited for the review board")
        self.cli_json("approve", "--arn", package_arn, "--reason", REVIEWER_REASON)

    def finish(self, execution_arn: str, started: float) -> dict[str, Any]:
        result = self.harness.wait(execution_arn, timeout=60)
        self.durations[execution_arn] = time.perf_counter() - started
        self.promotions.append(execution_arn)
        return result

    def stage(self, package_arn: str) -> tuple[str, str]:
        life = self.harness.package(package_arn).get("ModelLifeCycle", {})
        return life.get("Stage", "-"), life.get("StageStatus", "-")

    def serving_arn(self, group: str, variant: str) -> str | None:
        return self.harness.serving(group).get(variant, {}).get("package_arn")

    # --- the steps ------------------------------------------------------------------------------
    def step_groups(self) -> str:
        groups = self.cli_json("groups")
        names = sorted(
            g["group"] if isinstance(g, dict) else str(g)
            for g in (groups if isinstance(groups, list) else groups.get("groups", []))
        )
        self.check({BLUE_GREEN, AB_GROUP} <= set(names), f"managed groups missing: {names}")
        return f"{len(names)} managed groups: {', '.join(names)}"

    def step_first_version(self) -> str:
        started = time.perf_counter()
        v1 = self.register(BLUE_GREEN, "v1", churn_reports(), CHURN_FEATURES, ("contract_type", "payment_method"))
        execution = self.announce(v1["package_arn"])
        self.approve(v1["package_arn"])
        result = self.finish(execution, started)
        self.check(result["status"] == "SUCCEEDED", f"v1 promotion ended {result['status']}")
        self.check(
            self.stage(v1["package_arn"]) == ("Production", "Deployed"), f"v1 is {self.stage(v1['package_arn'])}"
        )
        self.check(self.serving_arn(BLUE_GREEN, "Primary") == v1["package_arn"], "the endpoint does not serve v1")
        self.v1 = v1["package_arn"]
        return f"v1 gated, approved with the CLI, deployed blue/green, serving ({v1['package_arn']})"

    def step_bias_failure(self) -> str:
        started = time.perf_counter()
        v2 = self.register(
            BLUE_GREEN, "v2", churn_reports(dppl=0.18), CHURN_FEATURES, ("contract_type", "payment_method")
        )
        result = self.finish(self.announce(v2["package_arn"]), started)
        self.check(result["status"] == "SUCCEEDED", f"v2 execution ended {result['status']}")
        self.check(self.stage(v2["package_arn"]) == ("Archived", "Rejected"), f"v2 is {self.stage(v2['package_arn'])}")
        reason = self.harness.ledger().history(BLUE_GREEN)[-1].reason
        self.check(reason.startswith("bias gate denied"), f"v2 rejection reason: {reason}")
        self.check(self.serving_arn(BLUE_GREEN, "Primary") == self.v1, "v1 stopped serving after v2 was rejected")
        return f"v2 Archived: {reason}"

    def step_replacement(self) -> str:
        started = time.perf_counter()
        v3 = self.register(
            BLUE_GREEN, "v3", churn_reports(auc=0.87, f1=0.68), CHURN_FEATURES, ("contract_type", "payment_method")
        )
        execution = self.announce(v3["package_arn"])
        self.approve(v3["package_arn"])
        result = self.finish(execution, started)
        self.check(result["status"] == "SUCCEEDED", f"v3 promotion ended {result['status']}")
        self.check(self.stage(v3["package_arn"])[0] == "Production", f"v3 is {self.stage(v3['package_arn'])}")
        self.check(self.stage(self.v1)[0] == "Archived", f"v1 is {self.stage(self.v1)} after v3")
        self.check(self.serving_arn(BLUE_GREEN, "Primary") == v3["package_arn"], "the endpoint does not serve v3")
        self.v3 = v3["package_arn"]
        return "v3 deployed blue/green on the stable 'Primary' variant; v1 Archived (Replaced)"

    def step_ab_test(self) -> str:
        h = self.harness
        started = time.perf_counter()
        champion, result = h.promote(AB_GROUP, "v1", "arn:aws:iam::123456789012:user/review-board", ranker_reports())
        self.durations[result["executionArn"]] = time.perf_counter() - started
        self.promotions.append(result["executionArn"])
        self.check(result["status"] == "SUCCEEDED", f"A/B champion promotion ended {result['status']}")
        looks = [
            {"Champion": {"invocations": 4000, "successes": 400}, "Challenger": {"invocations": 1000, "successes": 165}}
        ]
        seen: list[dict[str, Any]] = []

        def traffic(payload: dict[str, Any]) -> None:
            if len(seen) < len(looks):
                h.publish_variant_metrics(AB_GROUP, looks[len(seen)], "Conversions")
            seen.append(h.serving(AB_GROUP))

        h.on_invoke("DeploymentFunction", "evaluate", traffic)
        started = time.perf_counter()
        v2 = self.register(
            AB_GROUP,
            "v2",
            ranker_reports(ndcg=0.37),
            ["user_affinity", "item_popularity", "price_bucket", "session_length", "device_type"],
            ("device_type",),
        )
        execution = self.announce(v2["package_arn"])
        self.approve(v2["package_arn"])
        result = self.finish(execution, started)
        self.check(result["status"] == "SUCCEEDED", f"A/B promotion ended {result['status']}")
        self.check(bool(seen) and "Challenger" in seen[0], "the challenger never served traffic")
        self.check(
            self.stage(v2["package_arn"])[0] == "Production", f"the challenger is {self.stage(v2['package_arn'])}"
        )
        self.check(
            self.stage(champion.package_arn)[0] == "Archived", f"the champion is {self.stage(champion.package_arn)}"
        )
        served = h.serving(AB_GROUP)
        self.check(
            all(s["package_arn"] == v2["package_arn"] for s in served.values()), f"traffic not shifted: {served}"
        )
        statistics: dict[str, Any] = next(
            (
                e.evidence
                for e in reversed(h.ledger().history(AB_GROUP))
                if e.to_stage == "Production" and e.version == v2["version"]
            ),
            {},
        )
        test = _find_ab_statistics(statistics)
        counts = looks[0]
        self.report.ab_rates = [
            VariantRate("Champion (v1)", counts["Champion"]["successes"], counts["Champion"]["invocations"]),
            VariantRate("Challenger (v2)", counts["Challenger"]["successes"], counts["Challenger"]["invocations"]),
        ]
        self.report.ab_summary = f"Test statistics recorded in the ledger: {json.dumps(test, default=str)[:600]}"
        return f"challenger v2 won ({_short_stats(test)}); all traffic shifted, champion v1 Archived"

    def step_drift(self) -> str:
        from monitoring.capture import capture_line

        h = self.harness
        endpoint = h.endpoint_name(BLUE_GREEN)
        end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        rng = random.Random(7)
        lines = []
        for i in range(600):
            row = []
            for index, feature in enumerate(CHURN_FEATURES):
                if feature in ("contract_type", "payment_method"):
                    row.append("c" if feature == "contract_type" else rng.choice(["a", "b", "c"]))
                elif feature in ("monthly_charges", "support_calls"):
                    row.append(f"{rng.gauss(50 + 10 * index + 25, 10):.2f}")  # shifted by 2.5 sigma
                else:
                    row.append(f"{rng.gauss(50 + 10 * index, 10):.2f}")
            lines.append(
                capture_line(",".join(row), inference_time=end - timedelta(minutes=30, seconds=-i), event_id=str(i))
            )
        moment = end - timedelta(minutes=30)
        key = f"datacapture/{endpoint}/Primary/{moment:%Y/%m/%d/%H}/capture-{moment:%M}.jsonl"
        h.s3.put_object(Bucket=h.artifacts_bucket, Key=key, Body="\n".join(lines).encode())
        events_queue = capture_events(h, "mlops-registry.monitoring")
        request = {
            "group": BLUE_GREEN,
            "endpointName": endpoint,
            "variants": ["Primary"],
            "features": CHURN_FEATURES,
            "psiThreshold": 0.2,
            "ksThreshold": 0.15,
            "windowMinutes": 60,
            "windowEnd": end.isoformat().replace("+00:00", "Z"),
            "minSamples": 100,
        }
        summary = invoke(h, h.function_name("DriftFunction"), request)
        breaches = summary.get("breaches", [])
        self.check(summary.get("status") == "ok" and bool(breaches), f"no drift detected: {summary}")
        alarms = evaluate_alarms(h, namespace_prefix="MlopsRegistry/Drift")
        in_alarm = sorted(name for name, state in alarms.items() if state == "ALARM")
        self.check(bool(in_alarm), f"no drift alarm went to ALARM: {alarms}")
        events = drain(h, events_queue)
        self.check(any(e.get("detail-type") == "ModelDriftDetected" for e in events), "no ModelDriftDetected event")
        drift = {b["subject"] for b in breaches if b["statistic"] in ("PSI", "KS")}
        stats = _feature_statistics(h, endpoint)
        self.report.drift = [
            FeatureDrift(f, stats.get(f, {}).get("psi", 0.0), stats.get(f, {}).get("ks", 0.0)) for f in CHURN_FEATURES
        ]
        self.report.psi_threshold, self.report.ks_threshold = 0.2, 0.15
        self.drift_lines = [
            f"{f}: PSI {stats.get(f, {}).get('psi', 0):.3f}, KS {stats.get(f, {}).get('ks', 0):.3f}"
            for f in CHURN_FEATURES
        ]
        return f"drifted features {sorted(drift)}; alarms in ALARM: {len(in_alarm)}; ModelDriftDetected emitted"

    def step_guardrail_rollback(self) -> str:
        h = self.harness
        h.fail_next_deployment(BLUE_GREEN, "rollback", "AlarmsTripped: Invocation5XXErrors on the canary")
        started = time.perf_counter()
        v4 = self.register(
            BLUE_GREEN, "v4", churn_reports(auc=0.88, f1=0.69), CHURN_FEATURES, ("contract_type", "payment_method")
        )
        execution = self.announce(v4["package_arn"])
        self.approve(v4["package_arn"])
        self.finish(execution, started)
        stage, status = self.stage(v4["package_arn"])
        self.check(status == "RolledBack", f"v4 is {stage}/{status}, expected RolledBack")
        self.check(self.stage(self.v3)[0] == "Production", f"v3 is {self.stage(self.v3)} after the rollback")
        self.check(self.serving_arn(BLUE_GREEN, "Primary") == self.v3, "v3 is not serving after the rollback")
        return f"v4 {stage}/{status}; v3 keeps serving"

    # --- output ---------------------------------------------------------------------------------
    def step_mlflow(self) -> str:
        """A training run logged to the real MLflow server, registered with ``--mlflow-run``, promoted."""
        import tarfile
        import tempfile

        from mlflow.entities import Dataset, DatasetInput, InputTag
        from mlflow.tracking import MlflowClient

        h = self.harness
        url = str(h.demo_mlflow_url)  # type: ignore[attr-defined]
        client = MlflowClient(tracking_uri=url)
        name = f"{BLUE_GREEN}-training"
        experiment = client.get_experiment_by_name(name)
        experiment_id = (
            experiment.experiment_id
            if experiment
            else client.create_experiment(name, artifact_location=f"s3://{h.artifacts_bucket}/mlflow/{name}")
        )
        run_id = client.create_run(experiment_id, tags={"mlflow.runName": "churn-v5"}).info.run_id
        reports = churn_reports(auc=0.88, f1=0.69)
        for key, value in {"max_depth": "6", "eta": "0.2", "num_round": "200"}.items():
            client.log_param(run_id, key, value)
        for section in reports["metrics"].values():
            for metric, body in section.items():
                client.log_metric(run_id, metric, float(body["value"]))
        client.set_tag(run_id, "mlflow.source.git.commit", COMMIT)
        client.set_tag(run_id, "mlflow.source.git.repoURL", f"https://git.example.com/ml/{BLUE_GREEN}")
        client.set_tag(run_id, "registry.training_job", f"{BLUE_GREEN}-train-v5")
        data_uri = f"s3://{h.artifacts_bucket}/datasets/{BLUE_GREEN}/v5/train.parquet"
        client.log_inputs(
            run_id,
            datasets=[
                DatasetInput(
                    Dataset("train", "v5", "s3", json.dumps({"uri": data_uri})),
                    tags=[InputTag("mlflow.data.context", "training")],
                )
            ],
        )
        with tempfile.TemporaryDirectory() as scratch:
            weights = Path(scratch) / "model.bin"
            weights.write_bytes(b"model bytes")
            with tarfile.open(Path(scratch) / "model.tar.gz", "w:gz") as archive:
                archive.add(weights, arcname="model.bin")
            client.log_artifact(run_id, str(Path(scratch) / "model.tar.gz"))
        client.set_terminated(run_id)
        from registry_core.baseline import baseline_s3_key, build_feature_baseline

        rng = random.Random("mlflow-v5")
        columns = {
            f: [rng.choice(["a", "b", "c"]) for _ in range(500)]
            if f in ("contract_type", "payment_method")
            else [rng.gauss(50, 10) for _ in range(500)]
            for f in CHURN_FEATURES
        }
        baseline = build_feature_baseline(columns, categorical=("contract_type", "payment_method"))
        started = time.perf_counter()
        registered = self.cli_json(
            "register", "--group", BLUE_GREEN, "--mlflow-run", run_id, "--tracking-uri", url,
            "--image", f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{BLUE_GREEN}:v5",
            "--bias-report", h.put_json(f"{BLUE_GREEN}/v5/bias.json", reports["bias"]),
            "--explainability-report", h.put_json(f"{BLUE_GREEN}/v5/explainability.json", reports["explainability"]),
            "--baseline", h.put_json(baseline_s3_key(BLUE_GREEN, "v5"), baseline),
        )  # fmt: skip
        arn = registered["package_arn"]
        version = registered["mlflow"]["MlflowModelVersion"]
        execution = self.announce(arn)
        self.check(client.get_registered_model(BLUE_GREEN).aliases == {}, "an alias was set before Production")
        self.approve(arn)
        result = self.finish(execution, started)
        self.check(result["status"] == "SUCCEEDED", f"v5 promotion ended {result['status']}")
        self.check(self.stage(arn)[0] == "Production", f"v5 is {self.stage(arn)}")
        aliases = dict(client.get_registered_model(BLUE_GREEN).aliases)
        tags = client.get_model_version(BLUE_GREEN, version).tags
        self.check(aliases == {"champion": version}, f"MLflow aliases after v5's promotion: {aliases}")
        self.check(tags.get("stage") == "Production", f"MLflow stage tag: {tags.get('stage')}")
        self.mlflow_lines = [
            f"run {run_id} -> {BLUE_GREEN} v{registered['version']} (MLflow model version {version})",
            f"link: {registered['mlflow']['RunLink']}",
            f"aliases after Production: {aliases}; tags stage={tags.get('stage')}, approved_by={tags.get('approved_by')}",
        ]
        return (
            f"run {run_id[:8]} -> v{registered['version']} -> Production; MLflow aliases {aliases}, "
            f"stage={tags.get('stage')}; run: {registered['mlflow']['RunLink']}"
        )

    def collect(self) -> None:
        entries = []
        for group in (BLUE_GREEN, AB_GROUP):
            entries.extend(self.harness.ledger().history(group))
        entries.sort(key=lambda e: e.at)
        for entry in entries:
            moment = datetime.fromisoformat(entry.at.replace("Z", "+00:00"))
            stage = entry.to_stage or "Failed"
            if entry.decision == "rolled_back":
                stage = "RolledBack"
            self.report.timeline.append(
                TimelineMark(moment, f"{entry.group} v{entry.version}", stage, f"{entry.decision}: {entry.reason}")
            )
            self.report.ledger_rows.append(
                (
                    entry.at,
                    entry.group,
                    str(entry.version),
                    entry.from_stage or "-",
                    entry.to_stage or "-",
                    entry.decision,
                    entry.actor,
                    entry.reason[:160],
                )
            )


def _find_ab_statistics(evidence: dict[str, Any]) -> dict[str, Any]:
    stack: list[Any] = [evidence]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(k in item for k in ("p_value", "z", "statistic", "boundary")):
                return item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return evidence


def _short_stats(test: dict[str, Any]) -> str:
    keys = ("decision", "winner", "p_value", "z", "effect", "boundary")
    return (
        ", ".join(
            f"{k}={test[k]:.4g}" if isinstance(test.get(k), float) else f"{k}={test[k]}" for k in keys if k in test
        )
        or "see ledger"
    )


def _feature_statistics(h: PipelineHarness, endpoint: str) -> dict[str, dict[str, float]]:
    from monitoring import metric_names

    cloudwatch = h.session.client("cloudwatch")
    found: dict[str, dict[str, float]] = {}
    for metric in cloudwatch.list_metrics(Namespace=metric_names.DEFAULT_NAMESPACE)["Metrics"]:
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        feature = dims.get(metric_names.FEATURE)
        if not feature:
            continue
        name = metric["MetricName"].lower()
        kind = "psi" if "psi" in name or "stability" in name else "ks" if "ks" in name or "kolmogorov" in name else None
        if kind is None:
            continue
        stats = cloudwatch.get_metric_statistics(
            Namespace=metric["Namespace"],
            MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"],
            StartTime=datetime.now(UTC) - timedelta(days=1),
            EndTime=datetime.now(UTC) + timedelta(days=1),
            Period=3600,
            Statistics=["Maximum"],
        )["Datapoints"]
        if stats:
            found.setdefault(feature, {})[kind] = max(d["Maximum"] for d in stats)
    return found


STEPS = [
    ("the managed groups exist", "step_groups"),
    ("1. v1 registered, gated, approved with the CLI, deployed: Production", "step_first_version"),
    ("2. v2 fails the bias gate: Archived with the reason", "step_bias_failure"),
    ("3. v3 passes, blue/green deployment, v1 Archived", "step_replacement"),
    ("4. A/B: the challenger wins significantly, traffic shifted, loser Archived", "step_ab_test"),
    ("5. drifted captured traffic: drift metrics, alarms in ALARM, drift event", "step_drift"),
    ("6. guardrail rollback: the previous version keeps serving, the candidate RolledBack", "step_guardrail_rollback"),
    ("7. MLflow: a real run registered as v5, promoted; 'champion' set in MLflow", "step_mlflow"),
]


@contextlib.contextmanager
def running_system(
    outdir: Path, templates: dict[str, dict[str, Any]], mlflow_url: str | None = None
) -> Iterator[PipelineHarness]:
    """The emulated system, its lifecycle function talking to a real local MLflow server (the given
    one, or one of its own in a temporary directory, its log in ``server.log`` there)."""
    import tempfile

    from offline import mlflow_server

    with contextlib.ExitStack() as stack:
        if mlflow_url is None:
            directory = Path(tempfile.mkdtemp(prefix="demo-mlflow."))
            mlflow_url = stack.enter_context(mlflow_server.running(directory))
        harness = stack.enter_context(PipelineHarness(outdir, templates, mlflow_url=mlflow_url))
        harness.demo_mlflow_url = mlflow_url  # type: ignore[attr-defined]
        yield harness


def rehearse(
    outdir: Path,
    templates: dict[str, dict[str, Any]],
    report_path: Path,
    log: Callable[[str], None] = print,
    mlflow_url: str | None = None,
) -> tuple[bool, Rehearsal]:
    """Run every step; returns (all steps behaved, the rehearsal with its report data)."""
    with running_system(outdir, templates, mlflow_url) as harness:
        rehearsal = Rehearsal(harness, log)
        ok = True
        for title, method in STEPS:
            started = time.perf_counter()
            try:
                detail = getattr(rehearsal, method)()
                rehearsal.report.steps.append((title, True, detail))
                log(f"  ✔ {title}\n      {detail}  ({time.perf_counter() - started:.1f}s)")
            except Exception as error:  # a misbehaving step is reported, and the rehearsal fails
                ok = False
                rehearsal.report.steps.append((title, False, f"{type(error).__name__}: {error}"))
                log(f"  ✘ {title}\n      {type(error).__name__}: {error}")
        rehearsal.collect()
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render(rehearsal.report))
    return ok, rehearsal
