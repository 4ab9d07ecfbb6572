"""``make sandbox``: the synthesized app on a local AWS emulator server, for trying the ``registry`` CLI.

One process holds everything: the app synthesized from the user's ``cdk.json`` (or an existing cloud
assembly), provisioned on moto by ``PipelineHarness`` (functions with their real code, the promotion
state machine from the template, serving stacks, tables, buckets, parameters), and moto's HTTP server
on ``127.0.0.1:<port>`` in front of the same in-memory backends. What AWS wires, the sandbox wires:

- every CreateModelPackage / UpdateModelPackage (from the CLI, Studio-like calls, or the pipeline's
  own writes) becomes a ``SageMaker Model Package State Change`` event, matched against the
  synthesized rule's pattern and delivered to the dispatcher on a separate thread, as EventBridge does;
- the state machine runs the real function code; deployments update the serving stacks;
- scheduled functions run on demand (``python -m offline.sandbox invoke DriftFunction --schedule-of G``: the
  event the group's schedule sends now; or a JSON event of your own);
- A/B endpoints get traffic on demand (``python -m offline.sandbox traffic GROUP``): the per-variant
  metrics SageMaker and the application would publish, so an A/B test runs to its decision;
- two named identities, ``alice`` (data scientist) and ``bob`` (review board), are IAM users with their
  own keys, so the ledger records who registered and who approved.

Its state lives in one folder (default ``.sandbox/``): the cloud assembly, ``env`` to source,
``credentials`` / ``config`` for the AWS profiles, sample inputs, the log, the pid and
``emulator.state``, the emulator's data, saved while it runs and restored by the next start
(``offline.sandbox_state``). Ctrl-C (or SIGTERM) saves and stops it; ``make sandbox-reset`` removes
the folder.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import queue
import random
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from offline.emulator_version import check_emulator_version
from offline.environment import freeze_the_survivors
from offline.people import PEOPLE, create_people, credentials_file
from offline.sandbox_state import ChangeWatch, EmulatorState, StateError, fingerprint

DEFAULT_PORT = 4599
DEFAULT_STATE_DIR = Path(".sandbox")
HOST = "127.0.0.1"
ENV_FILE = "env"
PID_FILE = "sandbox.pid"
LOG_FILE = "sandbox.log"
SCHEDULES_FILE = "schedules.json"  # each group's drift schedule input, as synthesized (rebuilt at every start)
SAVE_INTERVAL_SECONDS = 2.0  # the state is saved when it changed, checked this often (and at Ctrl-C)


class SandboxError(RuntimeError):
    """The sandbox cannot start (port taken, config invalid, assembly unreadable)."""


# --- EventBridge: model package state changes to the dispatcher -------------------------------------------
class EventRelay:
    """Delivers a state-change event for every model package write, in order, on one thread.

    SageMaker emits the event after the write returns and EventBridge delivers it asynchronously; the
    relay does the same, so a ``registry register`` returns before the promotion starts, as in AWS.
    """

    def __init__(self, harness: Any, log: Callable[[str], None]) -> None:
        self.harness = harness
        self.log = log
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sandbox-event-relay", daemon=True)
        self.delivered: list[tuple[str, str]] = []

    def _run(self) -> None:
        while True:
            arn = self._queue.get()
            if arn is None:
                return
            try:
                outcome = self.harness.deliver(self.harness.state_change_event(arn))
            except Exception as error:  # one bad delivery must not stop the relay (EventBridge retries)
                self.log(f"event for {arn}: delivery failed: {type(error).__name__}: {error}")
                continue
            action = str(outcome.get("action"))
            self.delivered.append((arn, action))
            if action in ("started", "resumed"):
                self.log(
                    f"event: {arn.split('model-package/', 1)[-1]} -> dispatcher {action} ({outcome.get('reason')})"
                )

    @contextlib.contextmanager
    def installed(self) -> Iterator[EventRelay]:
        check_emulator_version()  # patches moto's SageMaker responses
        from moto.sagemaker.responses import SageMakerResponse

        create: Any = SageMakerResponse.create_model_package
        update: Any = SageMakerResponse.update_model_package
        relay = self

        def create_model_package(response: Any) -> Any:
            result = create(response)
            relay._queue.put(result.result["ModelPackageArn"])
            return result

        def update_model_package(response: Any) -> Any:
            result = update(response)
            relay._queue.put(response._get_param("ModelPackageArn"))
            return result

        self._thread.start()
        try:
            with (
                mock.patch.object(SageMakerResponse, "create_model_package", create_model_package),
                mock.patch.object(SageMakerResponse, "update_model_package", update_model_package),
            ):
                yield self
        finally:
            self._queue.put(None)
            self._thread.join(timeout=10)


# --- the sandbox --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def env_file(self) -> Path:
        return self.root / ENV_FILE

    @property
    def pid_file(self) -> Path:
        return self.root / PID_FILE

    @property
    def log_file(self) -> Path:
        return self.root / LOG_FILE

    @property
    def cdk_out(self) -> Path:
        return self.root / "cdk.out"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def schedules_file(self) -> Path:
        return self.root / SCHEDULES_FILE


def _load_context(config_path: Path, env_name: str | None) -> tuple[dict[str, Any], Any]:
    from infra.config import CONTEXT_KEY, ENV_CONTEXT_KEY, load
    from mlops_registry.core.config import ConfigError

    try:
        context = json.loads(config_path.read_text())["context"]
    except (OSError, ValueError, KeyError) as error:
        raise SandboxError(f"{config_path}: not a cdk.json with a 'context' object ({error})") from error
    if env_name:
        context[ENV_CONTEXT_KEY] = env_name
    try:
        loaded = load({CONTEXT_KEY: context.get(CONTEXT_KEY)}, context.get(ENV_CONTEXT_KEY))
    except ConfigError as error:
        raise SandboxError(f"{config_path}: {error}") from error
    return context, loaded.config


SEED_MARKER = "seeded.json"  # in samples/<group>/: what was seeded, for which policy and sample code


def _seed_key(group: Any) -> str:
    """What a group's samples depend on: its policy and the code that makes them."""
    digest = hashlib.sha256(group.model_dump_json(by_alias=True).encode())
    for source in (Path(__file__), Path(__file__).with_name("samples.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _seeded(harness: Any, marker: Path, key: str) -> bool:
    """The group's samples of a restored state are in place: seeded with this key, every object present."""
    try:
        seeded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    if seeded.get("key") != key or not marker.with_name("feature-baseline.json").is_file():
        return False
    for bucket, object_key in seeded.get("objects", []):
        try:
            harness.s3.head_object(Bucket=bucket, Key=object_key)
        except harness.s3.exceptions.ClientError:
            return False
    return True


def _seed_samples(harness: Any, config: Any, layout: Layout) -> dict[str, str]:
    """Sample inputs per group (artifact, passing reports, a fairness-failing bias report, a baseline).

    A restored state keeps the ones it saved when the group's policy and the sample code are unchanged
    (training the sample models is most of a start)."""
    prefixes = {}
    for group in config.groups:
        prefix = f"samples/{group.name}"
        local = layout.samples / group.name
        marker, key = local / SEED_MARKER, _seed_key(group)
        if not _seeded(harness, marker, key):
            objects = _seed_group(harness, group, prefix, local)
            marker.write_text(json.dumps({"key": key, "objects": objects}))
        prefixes[group.name] = prefix
    return prefixes


def _seed_group(harness: Any, group: Any, prefix: str, local: Path) -> list[tuple[str, str]]:
    """The group's samples in the buckets and its local baseline; the (bucket, key) of every object."""
    from mlops_registry.core.baseline import build_feature_baseline
    from offline.samples import passing_reports, unfair_reports

    models, artifacts = harness.models_bucket, harness.artifacts_bucket
    objects = []
    reports = passing_reports(group)
    harness.s3.put_object(Bucket=models, Key=f"{prefix}/model.tar.gz", Body=reports.pop("model"))
    objects.append((models, f"{prefix}/model.tar.gz"))
    for kind, document in reports.items():
        harness.put_json(f"{prefix}/{kind}.json", document)
        objects.append((artifacts, f"{prefix}/{kind}.json"))
    unfair = unfair_reports(group)
    if unfair is not None:
        # A model that discriminates: Staging's bias evidence on the holdout set denies it.
        harness.s3.put_object(Bucket=models, Key=f"{prefix}/unfair-model.tar.gz", Body=unfair.pop("model"))
        harness.put_json(f"{prefix}/unfair-bias.json", unfair["bias"])
        objects += [(models, f"{prefix}/unfair-model.tar.gz"), (artifacts, f"{prefix}/unfair-bias.json")]
    rng = random.Random(group.name)
    columns = {f: [rng.gauss(50 + 10 * i, 10) for _ in range(500)] for i, f in enumerate(group.features)}
    baseline = build_feature_baseline(columns)
    harness.put_json(f"{prefix}/feature-baseline.json", baseline)
    objects.append((artifacts, f"{prefix}/feature-baseline.json"))
    local.mkdir(parents=True, exist_ok=True)
    (local / "feature-baseline.json").write_text(json.dumps(baseline))
    return objects


def _write_profiles(layout: Layout, endpoint: str, region: str, identities: dict[str, dict[str, str]]) -> None:
    config = []
    for name in identities:
        config += [f"[profile {name}]", f"region = {region}", f"endpoint_url = {endpoint}", ""]
    (layout.root / "credentials").write_text(credentials_file(identities))
    (layout.root / "config").write_text("\n".join(config))


def _environment(layout: Layout, endpoint: str, region: str, env_name: str, harness: Any) -> str:
    """No config file: the CLI reads the groups from the sandbox's SSM parameters, as in an account."""
    root = layout.root.resolve()
    variables = {
        "AWS_CONFIG_FILE": str(root / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "credentials"),
        "AWS_PROFILE": PEOPLE[0].name,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "REGISTRY_ENV": env_name,
        "SANDBOX_ARTIFACTS": f"s3://{harness.artifacts_bucket}",
        "SANDBOX_MODELS": f"s3://{harness.models_bucket}",
        "SANDBOX_SAMPLES": str(root / "samples"),
    }
    lines = [
        "# Generated by `make sandbox`: source it (`. .sandbox/env`) to point the registry CLI at the sandbox.",
        "# The AWS profile picks the identity: alice (data scientist, default) or bob (review board).",
        "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN",
        *(f"export {key}={shlex.quote(value)}" for key, value in variables.items()),
    ]
    return "\n".join(lines) + "\n"


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def serve(
    layout: Layout,
    port: int,
    config_path: Path,
    env_name: str | None,
    assembly: Path | None = None,
    stop: threading.Event | None = None,
    out: Callable[[str], None] = print,
    wait_seconds: int = 2,
) -> None:
    """Stand the sandbox up, print how to use it, and serve until ``stop`` is set (Ctrl-C, SIGTERM)."""
    from moto.server import ThreadedMotoServer

    from offline.environment import collect_less_often, use_offline_environment
    from offline.harness import ACCOUNT, REGION, PipelineHarness
    from offline.synth import read_assembly, synthesize

    use_offline_environment()
    collect_less_often()
    if not _port_free(port):
        raise SandboxError(f"port {port} on {HOST} is in use (another sandbox?): choose one with PORT=...")
    context, config = _load_context(config_path, env_name)
    if config.account and config.region and config.region != REGION:
        out(f"note: environment {config.name!r} names region {config.region}; the sandbox emulates {REGION}")
    try:  # a state saved by other versions is refused before the slow synthesis
        EmulatorState(layout.root, "", ACCOUNT, REGION).check(resources=False)
    except StateError as error:
        raise SandboxError(str(error)) from error
    layout.root.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=layout.log_file, level=logging.WARNING, force=True)
    started = time.perf_counter()
    if assembly is not None:
        templates, outdir = read_assembly(assembly), assembly
    else:
        out(f"synthesizing environment {config.name!r} from {config_path} ...")
        templates, outdir = synthesize(layout.cdk_out, context), layout.cdk_out
    endpoint = f"http://{HOST}:{port}"
    stop = stop or threading.Event()
    with (
        PipelineHarness(outdir, templates, prove_iam=False, count_iam=False, wait_seconds=wait_seconds) as harness,
        EventRelay(harness, lambda line: out(f"  {line}")).installed(),
        ChangeWatch().installed() as watch,  # which requests write, in-process or through the server
    ):
        state = EmulatorState(layout.root, fingerprint(harness), ACCOUNT, REGION, watch)
        try:
            restored = state.restore()
        except StateError as error:
            raise SandboxError(str(error)) from error
        harness.executions.extend(arn for arn, _ in restored.get("resumed", []))
        identities = create_people(harness.session, config, ACCOUNT)
        _seed_samples(harness, config, layout)
        server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
        server.start()
        try:
            _write_profiles(layout, endpoint, REGION, identities)
            layout.env_file.write_text(_environment(layout, endpoint, REGION, config.name, harness))
            schedules = {group.name: harness.drift_schedule_input(group.name) for group in config.groups}
            layout.schedules_file.write_text(json.dumps(schedules, indent=1))
            layout.pid_file.write_text(str(os.getpid()))
            if restored:
                out(_restored_line(state, restored))
            out(_banner(layout, endpoint, config, identities, time.perf_counter() - started))
            with state.saving_every(SAVE_INTERVAL_SECONDS, lambda line: out(f"  {line}")):
                while not stop.wait(0.5):
                    pass
        finally:
            out("stopping the sandbox ...")
            server.stop()
            try:
                state.save()
            except Exception as error:  # the last periodic save stays in place (the file is replaced atomically)
                out(f"saving the state at stop failed ({type(error).__name__}: {error}); the last save stays")
            layout.pid_file.unlink(missing_ok=True)
    out(f"sandbox stopped (state saved in {state.path}; `make sandbox` resumes it, `make sandbox-reset` removes it)")


def _restored_line(state: EmulatorState, restored: dict[str, Any]) -> str:
    resumed = restored["resumed"]
    line = (
        f"restored the state saved at {restored['saved_at']} from {state.path}: "
        f"{restored['finished']} finished executions, {len(resumed)} resumed"
    )
    for arn, at in resumed:
        line += f"\n  resumed {arn.rsplit(':', 1)[-1]} at {at}"
    return line


def _banner(layout: Layout, endpoint: str, config: Any, identities: dict[str, dict[str, str]], took: float) -> str:
    groups = ", ".join(f"{g.name} ({g.deployment.mode})" for g in config.groups)
    who = "; ".join(f"{name} = {i['role']} ({i['arn']})" for name, i in identities.items())
    first = config.groups[0].name
    return "\n".join(
        [
            f"sandbox ready in {took:.1f}s: environment {config.name!r} on {endpoint}",
            f"  groups:     {groups}",
            f"  identities: {who}",
            f"  state:      {layout.root}/ (log: {layout.log_file})",
            "",
            "In another shell:",
            f"  . {layout.env_file}                  # the CLI now talks to the sandbox as alice",
            f"  registry status --group {first}",
            '  make sandbox-run ARGS="groups"       # or through make; AS=bob runs as the review board',
            "  registry --profile bob approve --group G --version N --reason '...'",
            "See docs/sandbox.md for a whole promotion. Ctrl-C stops the sandbox.",
        ]
    )


def schedule_payload(group: str, layout: Layout, now: datetime | None = None) -> str:
    """What the group's drift schedule sends at ``now``: its synthesized input, ``windowEnd`` the scheduled
    time (EventBridge Scheduler's ``<aws.scheduler.scheduled-time>``, to the minute)."""
    if not layout.schedules_file.is_file():
        raise SandboxError(f"{layout.schedules_file}: no sandbox is running (start one with `make sandbox`)")
    schedules = json.loads(layout.schedules_file.read_text())
    if group not in schedules:
        raise SandboxError(f"group {group!r} has no drift schedule; scheduled groups: {', '.join(sorted(schedules))}")
    scheduled = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    return json.dumps({**schedules[group], "windowEnd": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")})


def invoke(function_fragment: str, payload: str, layout: Layout) -> int:
    """Run a deployed function now (what its schedule would do), through the sandbox's endpoint."""
    import boto3

    endpoint = _read_env(layout).get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise SandboxError(f"{layout.env_file}: no sandbox is running (start one with `make sandbox`)")
    client = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="eu-west-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    matches = [n for n in names if function_fragment in n]
    if len(matches) != 1:
        raise SandboxError(f"function {function_fragment!r} matches {matches or 'nothing'}; functions: {sorted(names)}")
    response = client.invoke(FunctionName=matches[0], Payload=payload.encode())
    print(response["Payload"].read().decode())
    return 1 if response.get("FunctionError") else 0


def traffic(
    group_name: str,
    layout: Layout,
    requests: int | None = None,
    lift: float = 0.5,
    base_rate: float = 0.1,
    seed: int = 0,
    wait_seconds: float = 60,
) -> str:
    """Requests on a group's A/B endpoint as CloudWatch would count them: per-variant invocations (SageMaker's
    metrics) and successes (the application's success metric), routed by the variants' current weights."""
    import boto3

    from mlops_registry.cli.config import PublishedPolicies
    from mlops_registry.core.contracts import VARIANT_CHALLENGER, VARIANT_CHAMPION
    from mlops_registry.core.names import endpoint_name
    from offline.traffic import default_requests, put_variant_metrics, simulate

    variables = _read_env(layout)
    if not variables.get("AWS_ENDPOINT_URL"):
        raise SandboxError(f"{layout.env_file}: no sandbox is running (start one with `make sandbox`)")
    session = boto3.session.Session(
        aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=variables.get("AWS_REGION")
    )
    # The group's policy as the functions and the CLI read it: published in the sandbox's SSM parameters
    deployed = PublishedPolicies(
        env_name=variables["REGISTRY_ENV"], ssm=session.client("ssm", endpoint_url=variables["AWS_ENDPOINT_URL"])
    )
    names = deployed.group_names()
    if group_name not in names:
        raise SandboxError(f"GROUP={group_name!r}: not a group of environment {deployed.env_name!r}; groups: {names}")
    group = deployed.group(group_name)
    if group.deployment.mode != "ab_test":
        ab_groups = [name for name in names if deployed.group(name).deployment.mode == "ab_test"]
        raise SandboxError(
            f"GROUP={group_name!r}: deployment mode is {group.deployment.mode}, not ab_test; A/B groups: {ab_groups}"
        )
    policy = group.deployment.ab_test
    endpoint = endpoint_name(deployed.env_name, group_name)
    sagemaker = session.client("sagemaker", endpoint_url=variables["AWS_ENDPOINT_URL"])
    deadline = time.monotonic() + wait_seconds
    while True:  # an approval just given deploys the challenger within seconds: wait for it
        try:
            described = sagemaker.describe_endpoint(EndpointName=endpoint)
            weights = {v["VariantName"]: float(v.get("CurrentWeight", 0)) for v in described["ProductionVariants"]}
        except sagemaker.exceptions.ClientError:
            weights = {}
        if set(weights) == {VARIANT_CHAMPION, VARIANT_CHALLENGER} and all(weights.values()):
            break
        if time.monotonic() > deadline:
            raise SandboxError(
                f"endpoint {endpoint}: no A/B test running after {wait_seconds}s (variant weights {weights or 'none'});"
                f" approve a new version of {group_name} first (registry status --group {group_name})"
            )
        time.sleep(0.5)
    total = requests if requests is not None else default_requests(weights, policy.min_samples_per_variant)
    try:
        counts = simulate(weights, total, base_rate, lift, seed)
    except ValueError as error:
        raise SandboxError(str(error)) from error
    put_variant_metrics(
        session.client("cloudwatch", endpoint_url=variables["AWS_ENDPOINT_URL"]),
        endpoint,
        counts,
        policy.success_metric_name,
    )
    lines = [
        f"sent {total} requests to {endpoint} ({policy.success_metric_name} per request: base rate {base_rate}, "
        f"challenger lift {lift:+})"
    ]
    for variant, c in counts.items():
        rate = c["successes"] / c["invocations"] if c["invocations"] else 0.0
        lines.append(
            f"  {variant:<10} weight {weights[variant]:.2f}  {c['invocations']} invocations, "
            f"{c['successes']} {policy.success_metric_name} ({rate:.1%})"
        )
    lines.append(f"the next A/B evaluation reads them (registry status --group {group_name})")
    return "\n".join(lines)


def _read_env(layout: Layout) -> dict[str, str]:
    if not layout.env_file.is_file():
        return {}
    found = {}
    for line in layout.env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            found[key] = shlex.split(value)[0] if value else ""
    return found


def reset(layout: Layout) -> str:
    """Stop a running sandbox of this folder (its recorded pid) and remove the folder."""
    import shutil

    message = f"removed {layout.root}"
    if layout.pid_file.is_file():
        pid = int(layout.pid_file.read_text().strip() or 0)
        with contextlib.suppress(ProcessLookupError):
            if pid:
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.1)
        message = f"stopped the sandbox (pid {pid}) and " + message
    shutil.rmtree(layout.root, ignore_errors=True)
    return message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.sandbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, default=Path(os.environ.get("SANDBOX_DIR", DEFAULT_STATE_DIR)))
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="stand the sandbox up and serve until Ctrl-C")
    start.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    start.add_argument("--config", type=Path, default=Path("cdk.json"), help="the cdk.json to stand up")
    start.add_argument("--env", default=None, help="environment in cdk.json (default: its context's env)")
    start.add_argument("--assembly", type=Path, default=None, help="an already synthesized cdk.out to reuse")
    start.add_argument(
        "--wait-seconds", type=int, default=2, help="how long every Wait state pauses (0: no pause; A/B tests spin)"
    )
    run = commands.add_parser("invoke", help="invoke a deployed function now (a schedule's job, on demand)")
    run.add_argument("function", help="a fragment of the function's name, e.g. DriftFunction")
    event = run.add_mutually_exclusive_group()
    event.add_argument("payload", nargs="?", default="{}", help="JSON event")
    event.add_argument("--schedule-of", metavar="GROUP", help="the event the group's drift schedule sends now")
    send = commands.add_parser("traffic", help="requests on an A/B endpoint: the per-variant metrics it evaluates")
    send.add_argument("group", help="an A/B-tested group whose challenger serves")
    send.add_argument(
        "--requests", type=int, default=None, help="total requests (default: four times the minimum sample)"
    )
    send.add_argument("--lift", type=float, default=0.5, help="the challenger's relative lift of the success rate")
    send.add_argument("--base-rate", type=float, default=0.1, help="the champion's success rate per request")
    send.add_argument("--seed", type=int, default=0, help="seed of the simulated outcomes")
    send.add_argument("--wait", type=float, default=60, help="seconds to wait for the A/B test to start")
    commands.add_parser("reset", help="stop the sandbox of --state and remove its folder")
    args = parser.parse_args(argv)
    layout = Layout(args.state)
    try:
        if args.command == "start":
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            serve(
                layout,
                args.port,
                args.config,
                args.env,
                args.assembly,
                stop,
                out=lambda s: print(s, flush=True),
                wait_seconds=args.wait_seconds,
            )
            return 0
        if args.command == "invoke":
            payload = schedule_payload(args.schedule_of, layout) if args.schedule_of else args.payload
            return invoke(args.function, payload, layout)
        if args.command == "traffic":
            print(traffic(args.group, layout, args.requests, args.lift, args.base_rate, args.seed, args.wait))
            return 0
        print(reset(layout))
        return 0
    except SandboxError as error:
        print(f"sandbox: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    code = main()
    freeze_the_survivors()  # its emulated world ends with the process: no collection walks it again
    sys.exit(code)
