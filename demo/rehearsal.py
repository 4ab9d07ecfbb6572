"""The offline rehearsal: the whole lifecycle on an embedded AWS emulator, with the synthesized app.

Runs the synthesized state machine, the real Lambda code and the real ``registry`` CLI against moto
(in-process), and checks that every step behaves as the product promises. The scenario derives from
the groups the configuration defines (``plan``), so a team rehearses its own registry:

- the first blue/green group: 1. v1 registered (by alice, a data scientist) with lineage, reports and
  baseline, gated, approved through the CLI (by bob, the review board), deployed, in Production;
  2. v2 fails the bias gate (the metrics gate for a group with a fairness waiver) and is Archived with
  the reason; 3. v3 passes, is deployed blue/green, v1 is Archived; then drifted captured traffic
  (drift metrics, the feature alarms in ALARM, the drift event) and a bad version tripping the
  deployment guardrails (the previous version keeps serving, the candidate is marked rolled back);
- every other blue/green group: v1 promoted to Production;
- every A/B group: a champion, then a challenger that wins significantly; traffic shifts, the loser is
  Archived.
- with no blue/green group, drift is rehearsed on the first A/B group's endpoint.

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

from demo import mlflow_story
from demo.report import FeatureDrift, ReportData, TimelineMark, VariantRate, render
from mlops_registry.core import contracts
from mlops_registry.core.contracts import STAGE_ARCHIVED, STAGE_PRODUCTION, VARIANT_CHALLENGER, VARIANT_CHAMPION
from offline.alarms import evaluate_alarms
from offline.harness import ACCOUNT, REGION, PipelineHarness
from offline.observe import capture_events, drain, invoke
from offline.people import PEOPLE, create_people, credentials_file
from offline.samples import passing_reports, sample_model, unfair_reports

REVIEWER_REASON = "Reviewed metrics, fairness and explanations"
COMMIT = "4f2a9c1d7e3b5a6c8d9e0f1a2b3c4d5e6f7a8b9c"
# Named people (offline.people): alice registers, bob decides as a review-board session; CLI profiles.
DATA_SCIENTIST, REVIEW_BOARD = (person.name for person in PEOPLE)


class StepFailed(AssertionError):
    """A rehearsal step did not behave as described."""


@dataclass
class Rehearsal:
    harness: PipelineHarness
    config: Any
    log: Callable[[str], None]
    report: ReportData = field(default_factory=lambda: ReportData(title="MLOps model registry: offline rehearsal"))
    durations: dict[str, float] = field(default_factory=dict)
    promotions: list[str] = field(default_factory=list)
    served: dict[str, str] = field(default_factory=dict)  # group -> package ARN in Production
    drift_group: str | None = None
    drift_lines: list[str] = field(default_factory=list)
    mlflow: Any = None  # demo.mlflow_story.MlflowStory when the environment tracks experiments in MLflow

    # --- configuration ----------------------------------------------------------------------------
    def groups(self, mode: str) -> list[Any]:
        return [g for g in self.config.groups if g.deployment.mode == mode]

    def group(self, name: str) -> Any:
        return next(g for g in self.config.groups if g.name == name)

    # --- helpers -------------------------------------------------------------------------------
    def cli(self, *args: str, identity: str = DATA_SCIENTIST) -> tuple[int, str, str]:
        """Run the real ``registry`` console command in-process (the emulator is active), as ``identity``."""
        from mlops_registry.cli.main import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--quiet", "--profile", identity])
        return code, out.getvalue(), err.getvalue()

    def cli_json(self, *args: str, identity: str = DATA_SCIENTIST) -> Any:
        code, out, err = self.cli(*args, "--output", "json", identity=identity)
        if code != 0:
            raise StepFailed(f"registry {' '.join(args)} exited {code}: {err.strip()}")
        return json.loads(out)

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise StepFailed(message)

    def register(self, group: str, tag: str, reports: dict[str, Any]) -> dict[str, Any]:
        """Upload the artifact, reports and baseline; register with the CLI (lineage included), as alice."""
        from mlops_registry.core.baseline import baseline_s3_key, build_feature_baseline

        h = self.harness
        features = list(self.group(group).features)
        models = h.models_bucket  # the shareable bucket; reports and baselines stay internal
        prefix = f"{group}/{tag}"
        # A real model (Staging scores it on the holdout set): the one the reports come with.
        archive = reports.get("model") or sample_model(self.group(group)).archive
        h.s3.put_object(Bucket=models, Key=f"{prefix}/model.tar.gz", Body=archive)
        rng = random.Random(f"{group}-{tag}")
        columns = {f: [rng.gauss(50 + 10 * i, 10) for _ in range(2000)] for i, f in enumerate(features)}
        baseline_uri = h.put_json(baseline_s3_key(group, tag), build_feature_baseline(columns))
        return dict(
            self.cli_json(
                "register",
                "--group",
                group,
                "--model-data",
                f"s3://{models}/{prefix}/model.tar.gz",
                "--image",
                f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{group}:{tag}",
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
        self.cli_json("approve", "--arn", package_arn, "--reason", REVIEWER_REASON, identity=REVIEW_BOARD)

    def finish(self, execution_arn: str, started: float) -> dict[str, Any]:
        result = self.harness.wait(execution_arn, timeout=60)
        self.durations[execution_arn] = time.perf_counter() - started
        self.promotions.append(execution_arn)
        return result

    def promote(self, group: str, tag: str, reports: dict[str, Any]) -> dict[str, Any]:
        """Register, gate, approve (bob), wait: the version must end in Production."""
        started = time.perf_counter()
        version = self.register(group, tag, reports)
        execution = self.announce(version["package_arn"])
        self.approve(version["package_arn"])
        result = self.finish(execution, started)
        self.check(result["status"] == "SUCCEEDED", f"{group} {tag} promotion ended {result['status']}")
        stage = self.stage(version["package_arn"])
        self.check(stage[0] == STAGE_PRODUCTION, f"{group} {tag} is {stage}")
        self.served[group] = version["package_arn"]
        return version

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
        expected = sorted(g.name for g in self.config.groups)
        self.check(names == expected, f"managed groups {names}, configured {expected}")
        return f"{len(names)} managed groups: {', '.join(names)}"

    def step_first_version(self, group: str) -> str:
        v1 = self.promote(group, "v1", passing_reports(self.group(group)))
        self.check(
            self.stage(v1["package_arn"]) == (STAGE_PRODUCTION, "Deployed"), f"v1 is {self.stage(v1['package_arn'])}"
        )
        self.check(self.serving_arn(group, "Primary") == v1["package_arn"], "the endpoint does not serve v1")
        gates = self.harness.ledger().history(group)[-1].evidence.get("gates", {})
        platform_bias = gates.get("validation", {}).get("evidence", {}).get("documents", {}).get("bias")
        self.check(
            bool(platform_bias) and gates.get("bias", {}).get("evidence", {}).get("report") == platform_bias,
            "the bias gate did not judge the platform's evidence",
        )
        return (
            f"v1 gated, approved by the review board with the CLI, deployed blue/green, serving ({v1['package_arn']}); "
            f"bias evidence computed by the platform on the holdout set: {platform_bias}"
        )

    def step_claims_not_reproduced(self, group: str) -> str:
        """A registrant claims a better value of a metric than the model has: Staging's holdout run denies it."""
        policy = self.group(group)
        reports = passing_reports(policy)
        higher = [m.name for m in policy.metrics if m.direction == "higher_is_better"]
        metric = "auc" if "auc" in higher else higher[0]
        section = next(k for k, v in reports["metrics"].items() if isinstance(v, dict) and metric in v)
        claimed = round(reports["metrics"][section][metric]["value"] + 0.08, 2)
        reports["metrics"][section][metric]["value"] = claimed
        started = time.perf_counter()
        version = self.register(group, "v2-claimed", reports)
        result = self.finish(self.announce(version["package_arn"]), started)
        self.check(result["status"] == "SUCCEEDED", f"the execution ended {result['status']}")
        reason = self.harness.ledger().history(group)[-1].reason
        self.check(f"self-reported {metric} {claimed:g} not reproduced: " in reason, f"rejection reason: {reason}")
        self.check(self.serving_arn(group, "Primary") == self.served[group], "the served version changed")
        return f"v2-claimed Archived: {reason}"

    def step_gate_failure(self, group: str) -> str:
        policy = self.group(group)
        reports = unfair_reports(policy)
        # A model that learned a proxy of a protected attribute: the bias the platform computes on the
        # holdout set denies it, unless its (honest) metrics already regress against the champion.
        expected: tuple[str, ...] = ("bias gate denied", "metrics gate denied")
        if reports is None:  # a group with a fairness waiver: the metrics gate denies instead
            reports = passing_reports(policy)
            first = policy.metrics[0]
            worse = first.baseline - 1.0 if first.direction == "higher_is_better" else first.baseline + 1.0
            reports["metrics"] = _with_metric(reports["metrics"], first.name, worse)
            expected = ("metrics gate denied",)
        started = time.perf_counter()
        v2 = self.register(group, "v2", reports)
        result = self.finish(self.announce(v2["package_arn"]), started)
        self.check(result["status"] == "SUCCEEDED", f"v2 execution ended {result['status']}")
        self.check(
            self.stage(v2["package_arn"]) == (STAGE_ARCHIVED, "Rejected"), f"v2 is {self.stage(v2['package_arn'])}"
        )
        reason = self.harness.ledger().history(group)[-1].reason
        self.check(reason.startswith(expected), f"v2 rejection reason: {reason}")
        self.check(self.serving_arn(group, "Primary") == self.served[group], "v1 stopped serving after v2 was rejected")
        return f"v2 Archived: {reason}"

    def step_replacement(self, group: str) -> str:
        previous = self.served[group]
        v3 = self.promote(group, "v3", passing_reports(self.group(group)))
        self.check(self.stage(previous)[0] == STAGE_ARCHIVED, f"v1 is {self.stage(previous)} after v3")
        self.check(self.serving_arn(group, "Primary") == v3["package_arn"], "the endpoint does not serve v3")
        return "v3 deployed blue/green on the stable 'Primary' variant; v1 Archived (Replaced)"

    def step_ab_test(self, group: str) -> str:
        h = self.harness
        policy = self.group(group)
        ab = policy.deployment.ab_test
        champion = self.promote(group, "v1", passing_reports(policy))
        # Enough traffic for the configured minimum sample size, with a lift far beyond the detectable effect.
        trials = max(4 * ab.min_samples_per_variant, 4000)
        lift = max(0.65, 3 * ab.minimum_detectable_effect)
        looks = [
            {
                VARIANT_CHAMPION: {"invocations": trials, "successes": trials // 10},
                VARIANT_CHALLENGER: {"invocations": trials, "successes": int(trials / 10 * (1 + lift))},
            }
        ]
        seen: list[dict[str, Any]] = []

        def traffic(payload: dict[str, Any]) -> None:
            if len(seen) < len(looks):
                h.publish_variant_metrics(group, looks[len(seen)], ab.success_metric_name)
            seen.append(h.serving(group))

        h.on_invoke("DeploymentFunction", "evaluate", traffic)
        v2 = self.promote(group, "v2", passing_reports(policy))
        self.check(bool(seen) and VARIANT_CHALLENGER in seen[0], "the challenger never served traffic")
        self.check(
            self.stage(champion["package_arn"])[0] == STAGE_ARCHIVED,
            f"the champion is {self.stage(champion['package_arn'])}",
        )
        served = h.serving(group)
        self.check(
            all(s["package_arn"] == v2["package_arn"] for s in served.values()), f"traffic not shifted: {served}"
        )
        statistics: dict[str, Any] = next(
            (
                e.evidence
                for e in reversed(h.ledger().history(group))
                if e.to_stage == STAGE_PRODUCTION and e.version == v2["version"]
            ),
            {},
        )
        test = _find_ab_statistics(statistics)
        counts = looks[0]
        if not self.report.ab_rates:  # the report charts the first A/B group
            self.report.ab_group = group
            self.report.ab_rates = [
                VariantRate(
                    "Champion (v1)", counts[VARIANT_CHAMPION]["successes"], counts[VARIANT_CHAMPION]["invocations"]
                ),
                VariantRate(
                    "Challenger (v2)",
                    counts[VARIANT_CHALLENGER]["successes"],
                    counts[VARIANT_CHALLENGER]["invocations"],
                ),
            ]
            self.report.ab_statistics = {k: v for k, v in test.items() if not isinstance(v, dict | list)}
            self.report.ab_summary = (
                f"The challenger (v2) won: its success rate beat the champion's with the sequential test "
                f"at significance level {ab.significance_level}; all traffic was shifted to it and the "
                f"champion (v1) was archived."
            )
        return f"challenger v2 won ({_short_stats(test)}); all traffic shifted, champion v1 Archived"

    def step_drift(self, group: str) -> str:
        from monitoring.capture import capture_line

        h = self.harness
        policy = self.group(group)
        features = list(policy.features)
        drifted = set(features[1::2]) or {features[0]}  # every other feature shifts by 2.5 sigma
        endpoint = h.endpoint_name(group)
        variants = sorted(h.serving(group)) or ["Primary"]
        end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        rng = random.Random(7)
        lines = []
        for i in range(600):
            row = [
                f"{rng.gauss(50 + 10 * index + (25 if feature in drifted else 0), 10):.2f}"
                for index, feature in enumerate(features)
            ]
            lines.append(
                capture_line(",".join(row), inference_time=end - timedelta(minutes=30, seconds=-i), event_id=str(i))
            )
        moment = end - timedelta(minutes=30)
        key = f"datacapture/{endpoint}/{variants[0]}/{moment:%Y/%m/%d/%H}/capture-{moment:%M}.jsonl"
        h.s3.put_object(Bucket=h.artifacts_bucket, Key=key, Body="\n".join(lines).encode())
        events_queue = capture_events(h, contracts.DRIFT_EVENT_SOURCE)
        psi, ks = policy.monitoring.psi_threshold, policy.monitoring.ks_threshold
        request = {
            "group": group,
            "endpointName": endpoint,
            "variants": variants[:1],
            "features": features,
            "psiThreshold": psi,
            "ksThreshold": ks,
            "windowMinutes": 60,
            "windowEnd": end.isoformat().replace("+00:00", "Z"),
            "minSamples": 100,
        }
        summary = invoke(h, h.function_name("DriftFunction"), request)
        breaches = summary.get("breaches", [])
        self.check(summary.get("status") == "ok" and bool(breaches), f"no drift detected: {summary}")
        alarms = evaluate_alarms(h, namespace_prefix=contracts.DRIFT_METRICS_NAMESPACE)
        in_alarm = sorted(name for name, state in alarms.items() if state == "ALARM")
        self.check(bool(in_alarm), f"no drift alarm went to ALARM: {alarms}")
        events = drain(h, events_queue)
        self.check(
            any(e.get("detail-type") == contracts.DRIFT_EVENT_DETAIL_TYPE for e in events),
            "no ModelDriftDetected event",
        )
        found = {b["subject"] for b in breaches if b["statistic"] in ("PSI", "KS")}
        stats = _feature_statistics(h, endpoint)
        self.report.drift = [
            FeatureDrift(f, stats.get(f, {}).get("psi", 0.0), stats.get(f, {}).get("ks", 0.0)) for f in features
        ]
        self.report.drift_group = f"{group}, {variants[0]}"
        self.report.psi_threshold, self.report.ks_threshold = psi, ks
        self.drift_group = f"{group}, {variants[0]}"
        self.drift_lines = [
            f"{f}: PSI {stats.get(f, {}).get('psi', 0):.3f}, KS {stats.get(f, {}).get('ks', 0):.3f}" for f in features
        ]
        return f"drifted features {sorted(found)}; alarms in ALARM: {len(in_alarm)}; ModelDriftDetected emitted"

    def step_guardrail_rollback(self, group: str) -> str:
        h = self.harness
        previous = self.served[group]
        h.fail_next_deployment(group, "rollback", "AlarmsTripped: Invocation5XXErrors on the canary")
        started = time.perf_counter()
        v4 = self.register(group, "v4", passing_reports(self.group(group)))
        execution = self.announce(v4["package_arn"])
        self.approve(v4["package_arn"])
        self.finish(execution, started)
        stage, status = self.stage(v4["package_arn"])
        self.check(status == "RolledBack", f"v4 is {stage}/{status}, expected RolledBack")
        self.check(self.stage(previous)[0] == STAGE_PRODUCTION, f"v3 is {self.stage(previous)} after the rollback")
        self.check(self.serving_arn(group, "Primary") == previous, "v3 is not serving after the rollback")
        return f"v4 {stage}/{status}; v3 keeps serving"

    # --- output ---------------------------------------------------------------------------------
    def collect(self) -> None:
        entries = []
        for group in self.config.groups:
            entries.extend(self.harness.ledger().history(group.name))
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
                    entry.reason,
                )
            )


def _with_metric(report: dict[str, Any], name: str, value: float) -> dict[str, Any]:
    return {
        section: {metric: ({**body, "value": value} if metric == name else body) for metric, body in values.items()}
        for section, values in report.items()
    }


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
    cloudwatch = h.session.client("cloudwatch")
    found: dict[str, dict[str, float]] = {}
    for metric in cloudwatch.list_metrics(Namespace=contracts.DRIFT_METRICS_NAMESPACE)["Metrics"]:
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        feature = dims.get(contracts.DIMENSION_FEATURE)
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


Step = tuple[str, Callable[[Rehearsal], str]]


def plan(config: Any) -> list[Step]:
    """The steps for this configuration: each blue/green and each A/B group gets its story."""
    blue_green = [g.name for g in config.groups if g.deployment.mode == "blue_green"]
    ab_tests = [g.name for g in config.groups if g.deployment.mode == "ab_test"]
    steps: list[Step] = [("the managed groups exist", Rehearsal.step_groups)]

    def bind(method: Callable[[Rehearsal, str], str], group: str) -> Callable[[Rehearsal], str]:
        return lambda rehearsal: method(rehearsal, group)

    if blue_green:
        main = blue_green[0]
        steps += [
            (
                f"{main}: v1 registered, gated, approved with the CLI, deployed: Production",
                bind(Rehearsal.step_first_version, main),
            ),
            (f"{main}: v2 fails a gate: Archived with the reason", bind(Rehearsal.step_gate_failure, main)),
            (
                f"{main}: a version whose claimed metric is not reproduced on the holdout set is denied",
                bind(Rehearsal.step_claims_not_reproduced, main),
            ),
            (f"{main}: v3 passes, blue/green deployment, v1 Archived", bind(Rehearsal.step_replacement, main)),
        ]
        for other in blue_green[1:]:
            steps.append((f"{other}: v1 promoted blue/green to Production", bind(Rehearsal.step_first_version, other)))
    for group in ab_tests:
        steps.append(
            (
                f"{group}: A/B, the challenger wins significantly, traffic shifted, loser Archived",
                bind(Rehearsal.step_ab_test, group),
            )
        )
    drift_group = blue_green[0] if blue_green else ab_tests[0]
    steps.append(
        (
            f"{drift_group}: drifted captured traffic: drift metrics, alarms in ALARM, drift event",
            bind(Rehearsal.step_drift, drift_group),
        )
    )
    if blue_green:
        steps.append(
            (
                f"{blue_green[0]}: guardrail rollback: the previous version keeps serving, the candidate RolledBack",
                bind(Rehearsal.step_guardrail_rollback, blue_green[0]),
            )
        )
    return steps + mlflow_story.steps(config)


@contextlib.contextmanager
def running_system(
    outdir: Path, templates: dict[str, dict[str, Any]], mlflow_url: str | None = None
) -> Iterator[PipelineHarness]:
    # People decide through the CLI (UpdateModelPackage); their changes reach the dispatcher as events.
    with PipelineHarness(outdir, templates, emit_events=True, mlflow_url=mlflow_url) as harness:
        yield harness


@contextlib.contextmanager
def named_identities(harness: PipelineHarness, config: Any) -> Iterator[None]:
    """alice (data scientist) and bob (a review-board session), reachable as AWS profiles (offline.people)."""
    import os
    import tempfile

    people = create_people(harness.session, config, ACCOUNT)
    with tempfile.TemporaryDirectory(prefix="rehearsal-profiles-") as folder:
        credentials = Path(folder) / "credentials"
        credentials.write_text(credentials_file(people))
        # Set before any execution runs (os.environ must not grow while execution threads read it).
        previous = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials)
        try:
            yield
        finally:
            if previous is None:
                os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
            else:
                os.environ["AWS_SHARED_CREDENTIALS_FILE"] = previous


def rehearse(
    outdir: Path,
    templates: dict[str, dict[str, Any]],
    report_path: Path,
    log: Callable[[str], None] = print,
    config: Any = None,
) -> tuple[bool, Rehearsal]:
    """Run every step of ``plan(config)``; returns (all steps behaved, the rehearsal with its report data).

    ``config`` is the environment's ``EnvironmentConfig`` (default: the repository's ``cdk.json``). The
    rehearsal starts its own MLflow server when the environment tracks experiments (its log
    ``mlflow-server.log`` next to the report)."""
    if config is None:
        config = _repository_config()
    with (
        mlflow_story.tracking_server(config, report_path.parent / "mlflow-server.log", log) as tracking,
        running_system(outdir, templates, tracking.url if tracking else None) as harness,
        named_identities(harness, config),
    ):
        rehearsal = Rehearsal(harness, config, log, mlflow=tracking)
        rehearsal.report.environment = config.name
        rehearsal.report.generated = datetime.now(UTC)
        ok = True
        for title, step in plan(config):
            started = time.perf_counter()
            try:
                detail = step(rehearsal)
                rehearsal.report.steps.append((title, True, detail))
                log(f"  PASS  {title}\n        {detail}  ({time.perf_counter() - started:.1f}s)")
            except Exception as error:  # a misbehaving step is reported, and the rehearsal fails
                ok = False
                rehearsal.report.steps.append((title, False, f"{type(error).__name__}: {error}"))
                log(f"  FAIL  {title}\n        {type(error).__name__}: {error}")
        rehearsal.collect()
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(render(rehearsal.report))
    return ok, rehearsal


def _repository_config() -> Any:
    from infra.app_factory import CDK_JSON
    from infra.config import CONTEXT_KEY, ENV_CONTEXT_KEY, load

    context = json.loads(CDK_JSON.read_text())["context"]
    return load({CONTEXT_KEY: context.get(CONTEXT_KEY)}, context.get(ENV_CONTEXT_KEY)).config
