"""The functions' runtime: each Lambda function's handler runs in this process, with its own
environment variables, as the emulator invokes it (``emulator.in_process_lambdas``)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import shutil
import sys
import threading
import traceback
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from offline.folder_cache import keep_newest, staging_folder
from offline.harness import emulator

# Unzipped function code, one folder per archive digest, shared by every process and run: the same
# code is the same folder, so its bytecode (kept by path under PYTHONPYCACHEPREFIX) is compiled once,
# not again by every test worker, sandbox and demo. The newest KEEP_CODE folders are kept.
CODE_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "lambda-code"
KEEP_CODE = 24


def unzipped(code: bytes, digest: str) -> Path:
    """The folder holding ``code`` (a function's zip archive, ``digest`` its hash), unzipped once."""
    target = CODE_CACHE / digest
    if not target.is_dir():
        staging = staging_folder(CODE_CACHE)
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)  # atomic: another process unzipping the same archive keeps its own
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        keep_newest(CODE_CACHE, KEEP_CODE)
    os.utime(target)
    return target


class LambdaContext:
    """The subset of the Lambda context object that Powertools and the handlers use."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = hashlib.sha1(os.urandom(8)).hexdigest()
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "offline"
        self._timeout_ms = timeout_s * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


Fault = Callable[[str, dict[str, Any]], "BaseException | None"]


class InProcessLambdaRunner:
    """Runs moto Lambda functions in this process: unzips the function's code, imports the handler.

    Invocations are serialized (one lock) because each sets the function's environment variables in
    ``os.environ``. A handler's exception is reported as ``{"errorMessage", "errorType"}`` with
    ``errored=True`` so Step Functions Retry/Catch match on the exception's class name. ``faults``
    lets a test make a function fail on chosen invocations (throttling, permanent errors); a fault's
    ``error_type`` attribute, when present, stands for an error raised by the Lambda service itself
    (e.g. ``Lambda.TooManyRequestsException``).
    """

    # Unzipped code by the archive's digest, shared by every runner of the process (the same code is
    # the same folder, and the same modules in ``sys.modules``).
    _code_dirs: dict[str, str] = {}
    _code_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.faults: list[Fault] = []
        # Called after a handler returned; an error returned here replaces its response (the function
        # ran, but its caller sees the error: a lost response, a Lambda service error after the work).
        self.after: list[Callable[[str, dict[str, Any], Any], BaseException | None]] = []
        self.invocations: list[tuple[str, bool]] = []
        self.extra_env: dict[str, str] = {}
        self._introduced: set[str] = set()
        # Context managers entered around each handler call, given the function's name (the IAM
        # proof marks whose code is running with it).
        self.around: list[Callable[[str], contextlib.AbstractContextManager[Any]]] = []

    def reserve(self, environment: dict[str, str]) -> None:
        """Set variables a function will use before any execution thread runs, so os.environ never
        grows while other threads iterate it (a dict changing size under iteration raises)."""
        with self._lock:
            for key, value in environment.items():
                if key not in os.environ:
                    os.environ[key] = value
                    self._introduced.add(key)

    def wait_for_invocation_in_progress(self) -> None:
        """Return once the invocation running now (if any) has returned (invocations are serialized)."""
        with self._lock:
            return

    def _code_dir(self, function: Any) -> str:
        digest = hashlib.sha256(function.code_bytes).hexdigest()[:16]
        with self._code_lock:
            if digest not in self._code_dirs:
                self._code_dirs[digest] = str(unzipped(function.code_bytes, digest))
            return self._code_dirs[digest]

    def invoke(self, function: Any, event: Any) -> tuple[str, bool, str]:
        with self._lock:
            name = function.function_name
            payload = json.loads(event) if isinstance(event, (str, bytes)) and event else (event or {})
            for fault in self.faults:
                error = fault(name, payload)
                if error is not None:
                    self.invocations.append((name, True))
                    error_type = getattr(error, "error_type", type(error).__name__)
                    return json.dumps({"errorMessage": str(error), "errorType": error_type}), True, ""
            code_dir = self._code_dir(function)
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
            module_name, handler_name = str(function.handler).rsplit(".", 1)
            env = dict(function.environment_vars or {})
            env.update(self.extra_env)
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                handler = getattr(importlib.import_module(module_name), handler_name)
                context = LambdaContext(name, int(function.memory_size or 512), int(function.timeout or 60))
                with contextlib.ExitStack() as wrapped:
                    for around in self.around:
                        wrapped.enter_context(around(name))
                    result = handler(payload, context)
                for after in self.after:
                    lost = after(name, payload, result)
                    if lost is not None:
                        self.invocations.append((name, True))
                        error_type = getattr(lost, "error_type", type(lost).__name__)
                        return json.dumps({"errorMessage": str(lost), "errorType": error_type}), True, ""
                self.invocations.append((name, False))
                return json.dumps(result, default=str), False, ""
            except Exception as error:  # reported to Step Functions as the function's error
                self.invocations.append((name, True))
                body = {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "stackTrace": traceback.format_exc().splitlines()[-5:],
                }
                return json.dumps(body), True, ""
            finally:
                # Keys are never deleted while executions run: other threads (botocore reading proxy
                # settings on every request) iterate os.environ, and a key deleted between their
                # iteration and lookup raised KeyError in unrelated tasks (a rare, real flake).
                # A variable another function introduced keeps its last value until the runner is
                # uninstalled; every invocation sets its own function's variables first.
                for key, value in saved.items():
                    if value is None:
                        self._introduced.add(key)
                    else:
                        os.environ[key] = value

    @contextlib.contextmanager
    def installed(self) -> Iterator[InProcessLambdaRunner]:
        try:
            with emulator.in_process_lambdas(self.invoke):
                yield self
        finally:
            with self._lock:
                for key in self._introduced:
                    os.environ.pop(key, None)
                self._introduced.clear()
