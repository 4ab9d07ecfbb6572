"""The mirror's retry policy over an in-memory MLflow (the real-server paths: tests/pipeline)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from promotion.mlflow_mirror import MlflowMirror

from mlops_registry.core.lineage import MLFLOW_MODEL_NAME, MLFLOW_MODEL_VERSION, MLFLOW_TRACKING_URI
from mlops_registry.core.mlflow_rest import MlflowError
from mlops_registry.core.model_registry import PackageView

URI = "http://127.0.0.1:5000"


def _view(uri: str = URI, **extra: str) -> PackageView:
    meta = {MLFLOW_TRACKING_URI: uri, MLFLOW_MODEL_NAME: "churn", MLFLOW_MODEL_VERSION: "3", **extra}
    return PackageView(
        arn="arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/3",
        group="churn",
        version=3,
        approval_status="Approved",
        stage="Production",
        stage_status="Deployed",
        created=datetime.now(UTC),
        customer_metadata=meta,
    )


class FlakyMlflow:
    """Fails the first ``failures`` calls with ``error``, then records what is written."""

    def __init__(self, failures: int, error: MlflowError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0
        self.tags: dict[str, str] = {}
        self.alias_map: dict[str, str] = {}

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._maybe_fail()
        self.alias_map[alias] = version

    def delete_alias(self, name: str, alias: str) -> None:
        self._maybe_fail()
        self.alias_map.pop(alias, None)

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._maybe_fail()
        self.tags[key] = value

    def aliases(self, name: str) -> dict[str, str]:
        self._maybe_fail()
        return dict(self.alias_map)


def _mirror(client: Any, attempts: int = 3) -> tuple[MlflowMirror, list[float]]:
    sleeps: list[float] = []
    return MlflowMirror(URI, lambda uri: client, attempts=attempts, backoff_seconds=0.5, sleep=sleeps.append), sleeps


def test_an_unreachable_mlflow_is_retried_with_backoff_then_succeeds() -> None:
    client = FlakyMlflow(2, MlflowError("unreachable", retryable=True))
    mirror, sleeps = _mirror(client)
    result = mirror.safely(_view(), "Production", "entry-1", approved_by="alice", alias="champion")
    assert result.status == "mirrored"
    assert sleeps == [0.5, 1.0]
    assert client.tags == {"stage": "Production", "ledger_entry": "entry-1", "approved_by": "alice"}
    assert client.alias_map == {"champion": "3"}


def test_after_the_last_attempt_the_failure_is_returned_not_raised() -> None:
    client = FlakyMlflow(10, MlflowError("unreachable", retryable=True))
    mirror, sleeps = _mirror(client, attempts=3)
    result = mirror.safely(_view(), "Staging", "entry-2")
    assert (result.status, client.calls, len(sleeps)) == ("failed", 3, 2)
    assert "unreachable" in result.detail


def test_a_refusal_is_not_retried() -> None:
    client = FlakyMlflow(1, MlflowError("HTTP 404 RESOURCE_DOES_NOT_EXIST", retryable=False, status=404))
    mirror, sleeps = _mirror(client)
    result = mirror.safely(_view(), "Staging", "entry-3")
    assert (result.status, client.calls, sleeps) == ("failed", 1, [])


def test_versions_not_from_this_environments_mlflow_are_skipped() -> None:
    client = FlakyMlflow(0, MlflowError("-", retryable=True))
    mirror, _ = _mirror(client)
    assert mirror.safely(_view(uri="http://elsewhere:5000"), "Staging", "e").status == "skipped"
    no_run = _view()
    no_run.customer_metadata.clear()
    assert mirror.safely(no_run, "Staging", "e").status == "skipped"
    assert client.calls == 0
