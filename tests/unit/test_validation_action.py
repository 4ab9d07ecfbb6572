"""The Staging validation task's one service call: ``start`` or ``poll``; any other action is refused
by name before a job, a model or an object is touched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from promotion.state import PromotionState
from promotion.validation import ValidationJobFailed, ValidationService

from mlops_registry.core.errors import InvalidEventError
from tests.unit.fakes import FakeRegistry, package, package_arn, policy

GROUP = "churn-classifier"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class NoJobs:
    """Any SageMaker or S3 call fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected call {name}")


def _service() -> ValidationService:
    registry = FakeRegistry()
    registry.add(package(GROUP, 3))
    return ValidationService(NoJobs(), bucket="artifacts", lambda_max_bytes=1024, registry=registry)  # type: ignore[arg-type]


def _state() -> PromotionState:
    return PromotionState(package_arn=package_arn(GROUP, 3), group=GROUP, version=3, policy=policy(GROUP))


@pytest.mark.parametrize("action", ["stop", "", "START"])
def test_an_unknown_action_is_refused_by_name(action: str) -> None:
    with pytest.raises(
        InvalidEventError, match=rf"^action: unknown validation action {action!r}; expected start or poll"
    ):
        _service().run(action, _state(), "arn:exec", NOW)


def test_poll_without_a_started_validation_fails_without_touching_a_job() -> None:
    with pytest.raises(ValidationJobFailed, match="no validation in progress"):
        _service().run("poll", _state(), "arn:exec", NOW)
