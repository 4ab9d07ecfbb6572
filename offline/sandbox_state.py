"""The sandbox's emulator state in its folder: saved while it runs, restored at the next start.

moto 5 keeps every service's data in memory and has no persistence of its own (its recorder replays
HTTP requests, which would re-run every promotion with new times, identities and ledger hashes). The
sandbox therefore saves the data itself, in one file of its folder (``emulator.state``):

- the backends of the services that hold the registry's truth and what serves: SageMaker (packages
  with their lifecycle and approvals, model cards, models, endpoint configs, endpoints), DynamoDB
  (ledger, approvals, locks, idempotency records), S3 (reports, artifacts, capture), CloudFormation
  (the serving stacks with their parameters), CloudWatch (metrics, alarms) and Application Auto
  Scaling, pickled as one object graph (a stack's resources are the SageMaker backend's own objects);
- every Step Functions execution as data: name, input, status, output, error and its event history.

What the sandbox builds from the cloud assembly at every start is not saved: functions (with the
current code), state machines, SSM parameters (the published policy of the current ``cdk.json``),
topics, queues, and the named people (new keys, the same ARNs).

On restore, finished executions come back as they ended. An execution that was running (waiting for
the review board, or an A/B test waiting for traffic) resumes at the top-level state it was in, with
that state's input, under its own name and ARN: a task is re-run, which the pipeline's tasks are
built for (the approval request refreshes its task token, keeps one ledger entry and notifies once;
the gates and lifecycle writes are idempotent per execution), so an approval given after a restart
completes the promotion.

The file is written when the data may have changed: a request that is not a read (``Describe*``,
``List*``, ``Get*``, ``Query``, ``Scan``, ...) reached the emulator in the last ``SETTLE_SECONDS``
(from the HTTP server or an in-process client: the functions, the dispatcher), or an execution moved
(a Wait state ends without a request). An idle sandbox, or one only read from, pickles nothing.

A file saved by another moto, Python or format version, or for other resources (groups, tables,
buckets or serving templates changed in ``cdk.json``), is refused with a message naming the reason
and ``make sandbox-reset``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from offline.emulator_version import check_emulator_version

FORMAT = 1
STATE_FILE = "emulator.state"
# Services whose data is saved (moto backend names); pickled together so shared objects stay shared.
SAVED_SERVICES = ("sagemaker", "dynamodb", "s3", "cloudformation", "cloudwatch", "applicationautoscaling")
_PICKLE_ATTEMPTS = 5  # a snapshot taken while a thread changes a dict is retried
# A request's writes land while it runs (a transform job scores its input before CreateTransformJob
# returns): the state is checked again this long after the last write started.
SETTLE_SECONDS = 10.0
READ_ACTIONS = ("Describe", "List", "Get", "Query", "Scan", "BatchGet", "Search")


class StateError(RuntimeError):
    """The saved state cannot be restored (other versions, other resources, unreadable)."""


def fingerprint(harness: Any) -> str:
    """What the saved data depends on: the names of the data-holding resources and the serving templates."""
    resolver = harness.resolver
    tables = sorted(
        (r.ref, json.dumps(r.properties.get("KeySchema"), sort_keys=True))
        for r in resolver.of_type("AWS::DynamoDB::Table")
    )
    shape = {
        "tables": tables,
        "buckets": sorted(r.ref for r in resolver.of_type("AWS::S3::Bucket")),
        "groups": sorted(r.ref for r in resolver.of_type("AWS::SageMaker::ModelPackageGroup")),
        "state_machines": sorted(r.attrs["Name"] for r in resolver.of_type("AWS::StepFunctions::StateMachine")),
        "serving": {name: resolver.templates[stack] for name, stack in sorted(harness.serving_stacks.items())},
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()


def _header(app: str) -> dict[str, Any]:
    import moto

    return {
        "format": FORMAT,
        "moto": moto.__version__,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "app": app,
    }


# --- Step Functions executions as data -------------------------------------------------------------------
def _sfn_backend(account: str, region: str) -> Any:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return stepfunctions_parser_backends[account][region]


def _execution_data(execution: Any) -> dict[str, Any]:
    worker = execution.exec_worker
    history = execution.to_history_output()["events"] if worker is not None and worker.env is not None else []
    return {
        "state_machine_arn": execution.state_machine.arn,
        "name": execution.name,
        "arn": execution.exec_arn,
        "role_arn": execution.role_arn,
        "status": str(execution.status),
        "start_date": execution.start_date,
        "stop_date": execution.stop_date,
        "input": execution.execution_input,
        "output": execution.output,
        "error": execution.error,
        "cause": execution.cause,
        "history": [dict(event) for event in history],
    }


class _RecordedWorker:
    """A finished execution's worker: serves the saved history (GetExecutionHistory), runs nothing."""

    check_emulator_version()  # reaches into moto's private classes

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.env = SimpleNamespace(event_manager=SimpleNamespace(get_event_history=lambda: [dict(e) for e in events]))

    def stop(self, **_: Any) -> None:
        return None


def _resume_point(definition: dict[str, Any], history: list[dict[str, Any]], execution_input: Any) -> tuple[str, Any]:
    """The top-level state the execution was last in and that state's input (else the start)."""
    for event in reversed(history):
        entered = event.get("stateEnteredEventDetails")
        if entered and entered.get("name") in definition["States"]:
            return str(entered["name"]), json.loads(entered.get("input") or "{}")
    return str(definition["StartAt"]), execution_input


def _resumed_worker(execution: Any, saved: dict[str, Any]) -> Any:
    """A worker that continues ``execution`` at the state it was in: the saved history, then new events."""
    check_emulator_version()  # reaches into moto's private classes
    from moto.stepfunctions.parser.asl.eval.evaluation_details import EvaluationDetails, StateMachineDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    definition = json.loads(execution.state_machine.definition)
    state, state_input = _resume_point(definition, saved["history"], execution.input_data)
    history = saved["history"]

    class ResumedWorker(ExecutionWorker):
        def _execution_logic(self) -> None:
            program = self._get_evaluation_entrypoint()
            env: Any = self._get_evaluation_environment()  # moto's types mark these fields final
            env.event_manager._history_event_list.extend(dict(e) for e in history)
            env.event_manager._event_id_gen._next_id = len(history) + 1
            env.event_history_context = EventHistoryContext(previous_event_id=len(history))
            env.states.reset(input_value=state_input)
            self.env = env
            program.eval(env)
            self._execution_communication.terminated()

    machine = execution.state_machine
    return ResumedWorker(
        evaluation_details=EvaluationDetails(
            aws_execution_details=execution._get_start_aws_execution_details(),
            execution_details=execution.get_start_execution_details(),
            state_machine_details=StateMachineDetails(
                arn=machine.arn,
                name=machine.name,
                typ=machine.sm_type,
                definition=json.dumps({**definition, "StartAt": state}),
            ),
        ),
        exec_comm=BaseExecutionWorkerCommunication(execution),
        cloud_watch_logging_session=None,
        activity_store={},
    ), state


def _restore_execution(backend: Any, saved: dict[str, Any], account: str, region: str) -> tuple[Any, str | None]:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.backend.execution import Execution

    machine = backend.describe_state_machine(saved["state_machine_arn"])
    execution: Any = Execution(
        name=saved["name"],
        sm_type=machine.sm_type,
        role_arn=saved["role_arn"],
        exec_arn=saved["arn"],
        account_id=account,
        region_name=region,
        state_machine=machine,
        start_date=saved["start_date"],
        cloud_watch_logging_session=None,
        input_data=saved["input"],
        trace_header=None,
        activity_store={},
    )
    resumed_at = None
    if saved["status"] == ExecutionStatus.RUNNING:
        execution.exec_worker, resumed_at = _resumed_worker(execution, saved)
        execution.exec_status = ExecutionStatus.RUNNING
    else:
        execution.exec_status = ExecutionStatus(saved["status"])
        execution.stop_date = saved["stop_date"]
        execution.output = saved["output"]
        execution.error = saved["error"]
        execution.cause = saved["cause"]
        execution.exec_worker = _RecordedWorker(saved["history"])
    machine.executions.append(execution)
    if resumed_at is not None:
        execution.exec_worker.start()
    return execution, resumed_at


# --- what may have changed the data ------------------------------------------------------------------------
def _action(request: Any) -> str:
    """The operation a request names (JSON target, RPC v2 path, query ``Action``), "" for REST calls."""
    from urllib.parse import parse_qs

    target = request.headers.get("X-Amz-Target")
    if target:
        return str(target).rsplit(".", 1)[-1]
    if "/operation/" in request.path:  # smithy RPC v2 (CloudWatch): /service/<service>/operation/<name>
        return str(request.path).rsplit("/operation/", 1)[-1].strip("/")
    action = request.args.get("Action")
    if not action and str(request.content_type or "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(request.get_data(cache=True).decode(errors="replace")).get("Action", [""])[0]
    return str(action or "")


def writes(request: Any) -> bool:
    """Whether a request may change the emulator's data: everything but reads (an unknown REST call writes)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    action = _action(request)
    return not (action and action.startswith(READ_ACTIONS))


class ChangeWatch:
    """When the emulator last saw a request that writes, through moto's one entry of every request (the
    recorder's hook, called by the HTTP server and by in-process clients alike)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_write = clock()  # a start (restore, people, samples) is a change

    @contextlib.contextmanager
    def installed(self) -> Iterator[ChangeWatch]:
        check_emulator_version()  # wraps moto's request recorder
        from unittest import mock

        from moto.moto_api import recorder

        record = recorder._record_request
        watch = self

        def record_request(request: Any, body: bytes | None = None) -> None:
            try:
                if writes(request):
                    watch.last_write = watch.clock()
            except Exception:  # an unreadable request counts as a write
                watch.last_write = watch.clock()
            record(request, body)

        with mock.patch.object(recorder, "_record_request", record_request):
            yield self


def _executions_progress(account: str, region: str) -> tuple[tuple[str, str, int], ...]:
    """Every execution's status and number of history events: cheap to read, moves at every state."""
    progress = []
    for machine in _sfn_backend(account, region).state_machines:
        for execution in list(machine.executions):
            manager = getattr(getattr(execution.exec_worker, "env", None), "event_manager", None)
            events = getattr(manager, "_history_event_list", None)
            progress.append((str(execution.exec_arn), str(execution.exec_status), len(events or ())))
    return tuple(progress)


# --- the file ---------------------------------------------------------------------------------------------
class EmulatorState:
    """Saves the emulator's data to ``root/emulator.state`` and restores it (see the module docstring)."""

    def __init__(self, root: Path, app: str, account: str, region: str, watch: ChangeWatch | None = None) -> None:
        self.path = root / STATE_FILE
        self.app = app
        self.account = account
        self.region = region
        self._last_digest: str | None = None
        self._lock = threading.Lock()
        self.watch = watch  # None: every check pickles (nothing tells what changed)
        self._checked_at: float | None = None
        self._progress: tuple[tuple[str, str, int], ...] | None = None
        self.pickled = 0  # snapshots taken (each costs a pickle of every saved backend)

    def _refuse(self, why: str) -> StateError:
        return StateError(
            f"{self.path}: {why}; it cannot be restored. Run `make sandbox-reset` "
            f"(SANDBOX_DIR={self.path.parent}) to start from an empty sandbox."
        )

    def check(self, resources: bool = True) -> dict[str, Any] | None:
        """The saved header when a state exists and fits this sandbox (its versions and, with ``resources``,
        its resources), None when there is none."""
        if not self.path.is_file():
            return None
        try:
            with self.path.open("rb") as file:
                header = pickle.load(file)
        except Exception as error:
            raise self._refuse(f"unreadable ({type(error).__name__}: {error})") from error
        current = _header(self.app)
        if not isinstance(header, dict):
            raise self._refuse("not a sandbox state file")
        for key, what in (("format", "state format"), ("moto", "moto"), ("python", "Python")):
            if header.get(key) != current[key]:
                raise self._refuse(f"saved by {what} {header.get(key)}, this sandbox runs {what} {current[key]}")
        if resources and header.get("app") != current["app"]:
            raise self._refuse(
                "saved for other resources (groups, tables, buckets or serving stacks of cdk.json changed since)"
            )
        return header

    def restore(self) -> dict[str, Any]:
        """Put the saved backends in place and bring the executions back; returns what was restored."""
        from moto.backends import get_backend

        header = self.check()
        if header is None:
            return {}
        try:
            with self.path.open("rb") as file:
                pickle.load(file)
                payload = pickle.load(file)
        except Exception as error:
            raise self._refuse(f"unreadable ({type(error).__name__}: {error})") from error
        for service, regions in payload["backends"].items():
            account_backends = get_backend(service)[self.account]  # type: ignore[call-overload]
            for region, backend in regions.items():
                account_backends[region] = backend
        backend = _sfn_backend(self.account, self.region)
        known = {machine.arn for machine in backend.state_machines}
        finished, resumed = 0, []
        for saved in payload["executions"]:
            if saved["state_machine_arn"] not in known:
                continue
            execution, state = _restore_execution(backend, saved, self.account, self.region)
            if state is None:
                finished += 1
            else:
                resumed.append((execution.exec_arn, state))
        self._last_digest = hashlib.sha256(self._payload_bytes()).hexdigest()
        return {"saved_at": header.get("saved_at"), "finished": finished, "resumed": resumed}

    def _payload_bytes(self) -> bytes:
        from moto.backends import get_backend

        self.pickled += 1
        for attempt in range(_PICKLE_ATTEMPTS):
            try:
                backends = {
                    service: dict(get_backend(service)[self.account].items())  # type: ignore[call-overload]
                    for service in SAVED_SERVICES
                }
                executions = [
                    _execution_data(execution)
                    for machine in _sfn_backend(self.account, self.region).state_machines
                    for execution in list(machine.executions)
                ]
                return pickle.dumps({"backends": backends, "executions": executions}, protocol=pickle.HIGHEST_PROTOCOL)
            except RuntimeError:  # a dict changed size under the snapshot (a function or execution is running)
                if attempt == _PICKLE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def save(self) -> bool:
        """Write the state when it changed since the last save; True when written."""
        import datetime

        with self._lock:
            payload = self._payload_bytes()
            digest = hashlib.sha256(payload).hexdigest()
            if digest == self._last_digest:
                return False
            header = {
                **_header(self.app),
                "saved_at": datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds"),
            }
            temporary = self.path.with_suffix(".tmp")
            with temporary.open("wb") as file:
                pickle.dump(header, file)
                file.write(payload)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
            self._last_digest = digest
            return True

    def save_if_changed(self) -> bool:
        """``save()`` when the data may have changed since the last check (the module docstring); True
        when written."""
        if self.watch is None:
            return self.save()
        progress = _executions_progress(self.account, self.region)
        settled = self._checked_at is not None and self.watch.last_write < self._checked_at - SETTLE_SECONDS
        if settled and progress == self._progress:
            return False
        self._checked_at, self._progress = self.watch.clock(), progress
        return self.save()

    @contextlib.contextmanager
    def saving_every(self, seconds: float, log: Any) -> Iterator[None]:
        """Save in the background every ``seconds`` when the data may have changed, while the block runs
        (a kill -9 loses at most that)."""
        done = threading.Event()

        def loop() -> None:
            while not done.wait(seconds):
                try:
                    self.save_if_changed()
                except Exception as error:  # keep serving; the next tick (or the final save) tries again
                    log(f"saving the state failed: {type(error).__name__}: {error}")

        thread = threading.Thread(target=loop, name="sandbox-state-saver", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=30)
