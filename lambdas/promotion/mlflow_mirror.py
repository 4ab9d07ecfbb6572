"""The lifecycle, mirrored into MLflow: aliases and tags on the version's registered model version.

MLflow is a view; the registry and the ledger hold the truth. So a mirror never blocks a promotion:
each MLflow call is retried (``attempts``, exponential backoff) when MLflow is unreachable, throttled
or failing, and a write that still fails is recorded in the ledger (``mlflow-mirror-failed``) and
notified, and the stage change carries on.

What is written (docs/mlflow.md):

- every stage change: tags ``stage`` (Development/Staging/Production/Archived), ``ledger_entry``
  (the ledger entry id of the change) and, on Production, ``approved_by``;
- Production: alias ``champion`` -> this version (and ``challenger`` removed if it pointed here);
- an A/B test starting: alias ``challenger`` -> this version;
- Archived: every alias that points at this version is removed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlops_registry.core.contracts import STAGE_ARCHIVED, STAGE_PRODUCTION
from mlops_registry.core.lineage import MLFLOW_MODEL_NAME, MLFLOW_MODEL_VERSION, MLFLOW_TRACKING_URI
from mlops_registry.core.mlflow_rest import MlflowError
from mlops_registry.core.model_registry import PackageView
from mlops_registry.core.observability import logger

CHAMPION = "champion"
CHALLENGER = "challenger"
ALIASES = (CHAMPION, CHALLENGER)
MIRROR_FAILED_TRANSITION = "mlflow-mirror-failed"


class MlflowRegistry(Protocol):
    """The MLflow calls the mirror makes (``mlops_registry.core.mlflow_rest.MlflowRestClient``)."""

    def set_alias(self, name: str, alias: str, version: str) -> None: ...

    def delete_alias(self, name: str, alias: str) -> None: ...

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None: ...

    def aliases(self, name: str) -> dict[str, str]: ...


@dataclass(frozen=True)
class MirrorTarget:
    tracking_uri: str
    model_name: str
    model_version: str

    @staticmethod
    def of(view: PackageView) -> MirrorTarget | None:
        meta = view.customer_metadata
        name, version, uri = meta.get(MLFLOW_MODEL_NAME), meta.get(MLFLOW_MODEL_VERSION), meta.get(MLFLOW_TRACKING_URI)
        if not (name and version and uri):
            return None
        return MirrorTarget(uri, name, version)


@dataclass
class MirrorResult:
    status: str  # "mirrored" | "skipped" | "failed"
    detail: str = ""
    writes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, "writes": self.writes}


class MlflowMirror:
    def __init__(
        self,
        tracking_uri: str,
        client_factory: Callable[[str], MlflowRegistry],
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.client_factory = client_factory
        self.attempts = max(1, attempts)
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep

    def _retrying(self, what: str, call: Callable[[], Any]) -> Any:
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except MlflowError as error:
                if not error.retryable or attempt == self.attempts:
                    raise
                logger.warning("MLflow %s failed (attempt %d of %d): %s", what, attempt, self.attempts, error)
                self.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def mirror(
        self, view: PackageView, stage: str, ledger_entry: str, approved_by: str | None = None, alias: str | None = None
    ) -> MirrorResult:
        """Write ``stage`` (and the alias it implies) to the version's MLflow model version."""
        target = MirrorTarget.of(view)
        if target is None:
            return MirrorResult("skipped", "the version was not registered from an MLflow run")
        if target.tracking_uri != self.tracking_uri:
            return MirrorResult(
                "skipped",
                f"the version is tracked on {target.tracking_uri}, not this environment's MLflow {self.tracking_uri}",
            )
        client = self.client_factory(target.tracking_uri)
        name, version = target.model_name, target.model_version
        writes: list[str] = []

        def tag(key: str, value: str) -> None:
            self._retrying(f"tag {key}", lambda: client.set_version_tag(name, version, key, value))
            writes.append(f"tag {key}={value}")

        tag("stage", stage)
        tag("ledger_entry", ledger_entry)
        if approved_by:
            tag("approved_by", approved_by)
        if alias:
            self._retrying(f"alias {alias}", lambda: client.set_alias(name, alias, version))
            writes.append(f"alias {alias}->{version}")
        if stage in (STAGE_PRODUCTION, STAGE_ARCHIVED):
            current = self._retrying("read aliases", lambda: client.aliases(name))
            for other in ALIASES:
                if other != alias and current.get(other) == version:
                    self._retrying(f"remove alias {other}", functools.partial(client.delete_alias, name, other))
                    writes.append(f"alias {other} removed")
        return MirrorResult("mirrored", f"{name} v{version}", writes)

    def safely(self, *args: Any, **kwargs: Any) -> MirrorResult:
        """``mirror`` that never raises: a failure comes back as ``status == "failed"``."""
        try:
            return self.mirror(*args, **kwargs)
        except Exception as error:  # MLflow is a view: nothing it does may fail the promotion
            logger.exception("MLflow mirror failed")
            return MirrorResult("failed", f"{type(error).__name__}: {error}"[:1000])
