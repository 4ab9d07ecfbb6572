"""Small, pinned extensions of moto 5.2.5 that the offline harness needs. All patches live here.

moto is a test double: these patches make it closer to the real SageMaker API where the project
depends on documented behaviour that moto 5.2.5 lacks:
- ``ModelLifeCycle`` on CreateModelPackage / UpdateModelPackage / DescribeModelPackage;
- UpdateModelPackage leaving fields that the call does not mention unchanged (moto resets the
  approval status, approval description and customer metadata to None);
- ``LastModifiedBy`` reflecting an identity the caller chooses (the review board in tests);
- Lambda functions executed in-process (moto would need Docker) by ``InProcessLambdaRunner``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import sys
import tempfile
import threading
import traceback
import zipfile
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from moto.awslambda.models import LambdaFunction
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses

_state = threading.local()


def set_modifying_identity(identity: str | None) -> None:
    """The identity recorded as LastModifiedBy by the next UpdateModelPackage calls (tests only)."""
    _state.identity = identity


def _original(name: str) -> Callable[..., Any]:
    return getattr(sm_responses.SageMakerResponse, name)


def _patched_create(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_model_package(self: Any) -> Any:
        result = original(self)
        life_cycle = self._get_param("ModelLifeCycle")
        if life_cycle:
            package = _find_package(self.sagemaker_backend, result.result["ModelPackageArn"])
            if package is not None:
                package.model_life_cycle = life_cycle
        return result

    return create_model_package


def _find_package(backend: Any, arn: str | None) -> Any:
    if arn is None:
        return None
    name = backend.model_package_name_mapping.get(arn, arn)
    return backend.model_packages.get(name)


def _update_model_package(
    self: Any,
    model_package_arn: str,
    model_approval_status: str | None,
    approval_description: str | None,
    customer_metadata_properties: dict[str, str] | None,
    customer_metadata_properties_to_remove: list[str],
    additional_inference_specifications_to_add: list[Any] | None,
) -> str:
    package = _find_package(self, model_package_arn)
    if package is None:
        raise sm_models.ValidationError(f"Model package {model_package_arn} not found")
    if model_approval_status is not None:
        package.set_model_approval_status(model_approval_status)
    if approval_description is not None:
        package.approval_description = approval_description
    if customer_metadata_properties:
        merged = dict(package.customer_metadata_properties or {})
        merged.update(customer_metadata_properties)
        package.customer_metadata_properties = merged
    if customer_metadata_properties_to_remove and package.customer_metadata_properties:
        package.remove_customer_metadata_property(customer_metadata_properties_to_remove)
    package.add_additional_inference_specifications(additional_inference_specifications_to_add)
    package.modifications_done()
    identity = getattr(_state, "identity", None)
    if identity:
        package.last_modified_by = {"IamIdentity": {"Arn": identity}, "UserProfileName": identity.rsplit("/", 1)[-1]}
    return package.arn


def _patched_update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_model_package(self: Any) -> Any:
        result = original(self)
        life_cycle = self._get_param("ModelLifeCycle")
        if life_cycle:
            package = _find_package(self.sagemaker_backend, self._get_param("ModelPackageArn"))
            package.model_life_cycle = life_cycle
        return result

    return update_model_package


def _patched_response(original: Callable[..., Any]) -> Callable[..., Any]:
    def gen_response_object(self: Any) -> dict[str, Any]:
        response = original(self)
        life_cycle = getattr(self, "model_life_cycle", None)
        if life_cycle:
            response["ModelLifeCycle"] = life_cycle
        return response

    return gen_response_object


@contextlib.contextmanager
def sagemaker_extensions() -> Iterator[None]:
    """Apply the SageMaker model-package patches for the duration of the block."""
    with (
        mock.patch.object(
            sm_responses.SageMakerResponse, "create_model_package", _patched_create(_original("create_model_package"))
        ),
        mock.patch.object(
            sm_responses.SageMakerResponse, "update_model_package", _patched_update(_original("update_model_package"))
        ),
        mock.patch.object(sm_models.SageMakerModelBackend, "update_model_package", _update_model_package),
        mock.patch.object(
            sm_models.ModelPackage, "gen_response_object", _patched_response(sm_models.ModelPackage.gen_response_object)
        ),
    ):
        yield


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

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._code_dirs: dict[str, str] = {}
        self._root = tempfile.mkdtemp(prefix="lambda-code-")
        self.faults: list[Fault] = []
        self.invocations: list[tuple[str, bool]] = []
        self.extra_env: dict[str, str] = {}

    def _code_dir(self, function: LambdaFunction) -> str:
        digest = hashlib.sha256(function.code_bytes).hexdigest()[:16]
        if digest not in self._code_dirs:
            target = os.path.join(self._root, digest)
            with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
                archive.extractall(target)
            self._code_dirs[digest] = target
        return self._code_dirs[digest]

    def invoke(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
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
                result = handler(payload, context)
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
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    @contextlib.contextmanager
    def installed(self) -> Iterator[InProcessLambdaRunner]:
        runner = self

        def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return runner.invoke(self, event)

        with mock.patch.object(LambdaFunction, "_invoke_lambda", _invoke_lambda):
            yield self
