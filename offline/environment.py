"""The process environment of an offline run (``make demo``, ``make bench``): no AWS account needed."""

from __future__ import annotations

import gc
import os
from typing import Any

OFFLINE_DEFAULTS = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # MLflow's usage telemetry: no network but the loopback here, and its thread sets and unsets an
    # environment variable while other threads may be iterating os.environ
    "MLFLOW_DISABLE_TELEMETRY": "true",
}
# Anything that would point boto3 at a real account or endpoint.
REAL_ACCOUNT_VARIABLES = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN")


def use_offline_environment() -> None:
    for variable, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(variable, value)
    for variable in REAL_ACCOUNT_VARIABLES:
        os.environ.pop(variable, None)


# CPython's cyclic garbage collector runs its youngest generation every 700 net allocations and scans
# everything every 100 of those by default. An emulated world is a few million long-lived objects
# (every backend, parsed state machine and pickled snapshot) that those full scans walk again and
# again for little garbage: with these thresholds the pipeline tests spend 15-20% less CPU, for about
# 12% more peak memory (measured on three pipeline test files: 790 MB against 704 MB).
COLLECTOR_THRESHOLDS = (100_000, 50, 100)


def collect_less_often() -> None:
    """This process's cyclic collector runs at ``COLLECTOR_THRESHOLDS`` (an emulated world's run)."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def freeze_the_survivors() -> None:
    """Collect this process's garbage once more, then move every object still alive out of the cyclic
    collector's sight (``gc.freeze``), for a process about to end: the full collections that follow
    (pytest runs two at the end of a session, the interpreter one more as it shuts down) then walk
    nothing but what is created after this call, instead of every emulated world the process hosted,
    which is freed with the process anyway. Garbage made unreachable before the call is still
    collected (and any exception its finalizer raises still reported). On a pytest process that ran
    three pipeline test files this saves about 2.5 s of CPU (3.1 s from the end of the session
    to exit against 0.9 s)."""
    gc.collect()
    gc.freeze()


_SHARED_MODEL_CACHES: dict[str | None, dict[Any, Any]] = {}
_CLIENT_METHODS: dict[tuple[str, int], dict[str, Any]] = {}


def share_service_models() -> None:
    """Every botocore session of this process reads the SDK's service models once.

    Each new session (every harness, every CLI run, every function's client factory) otherwise parses
    the models of the services it uses again (megabytes of JSON: SageMaker's alone takes ~0.3 s). A
    session's loader keeps what it read in its ``_cache`` (``botocore.loaders.instance_cache``); here
    every loader made for the same data path gets the same ``_cache``. Loaders stay distinct (boto3
    appends its own data path to its session's loader). Idempotent; nothing is undone at exit.

    A client's class is built from its service model too: one method (with its docstring object) per
    operation, SageMaker's ~350 for every client. Those methods depend only on the shared model, so
    they are built once per service model; each client still gets its own class from the session's
    ``creating-client-class`` handlers (boto3's S3 transfer methods and the like), as botocore does."""
    import botocore.client
    import botocore.loaders
    import botocore.session

    if getattr(botocore.session.create_loader, "shares_models", False):
        return
    _share_client_methods(botocore.client)
    original = botocore.loaders.create_loader

    def create_loader(search_path_string: str | None = None) -> Any:
        loader = original(search_path_string)
        loader._cache = _SHARED_MODEL_CACHES.setdefault(search_path_string, {})
        return loader

    create_loader.shares_models = True  # type: ignore[attr-defined]
    botocore.session.create_loader = create_loader  # type: ignore[assignment]


def _share_client_methods(client_module: Any) -> None:
    """``ClientCreator._create_client_class`` with the per-operation methods built once per model."""
    creator = client_module.ClientCreator

    def create_client_class(self: Any, service_name: str, service_model: Any) -> type:
        key = (service_name, id(service_model._service_description))  # the description is the shared model
        methods = _CLIENT_METHODS.get(key)
        if methods is None:
            methods = self._create_methods(service_model)
            methods["_PY_TO_OP_NAME"] = self._create_name_mapping(service_model)
            _CLIENT_METHODS[key] = methods
        class_attributes = dict(methods)
        bases = [client_module.BaseClient]
        self._event_emitter.emit(
            f"creating-client-class.{service_model.service_id.hyphenize()}",
            class_attributes=class_attributes,
            base_classes=bases,
        )
        return type(str(client_module.get_service_module_name(service_model)), tuple(bases), class_attributes)

    creator._create_client_class = create_client_class
