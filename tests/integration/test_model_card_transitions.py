"""``mlops_registry.core.model_cards`` on moto: create, link, advance with the lifecycle, ensure for foreign packages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_registry.core import model_cards
from mlops_registry.core.errors import UnknownPackageError
from mlops_registry.core.lineage import Lineage, ModelArtifacts, model_package_request
from offline.harness.emulator import sagemaker_extensions

GROUP = "churn-classifier"
BUCKET = "s3://mlops-registry-dev-artifacts-123456789012-eu-west-1"
LINEAGE = Lineage(f"{BUCKET}/data/train.csv", "https://github.com/example/churn", "abcdef1", {"eta": 0.1}, "job-1")
ARTIFACTS = ModelArtifacts(
    model_data_url=f"{BUCKET}/churn/model.tar.gz",
    image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1",
    metrics_report_uri=f"{BUCKET}/churn/metrics.json",
    bias_report_uri=f"{BUCKET}/churn/bias.json",
    explainability_report_uri=f"{BUCKET}/churn/explainability.json",
    baseline_uri=f"{BUCKET}/churn/baseline.json",
)


@pytest.fixture
def sm() -> Iterator[Any]:
    with mock_aws(), sagemaker_extensions():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        yield client


def _package(sm: Any, card: tuple[str, str] | None = None) -> str:
    request = model_package_request(
        GROUP, ARTIFACTS, LINEAGE, model_card_arn=card[1] if card else None, model_card_name=card[0] if card else None
    )
    return str(sm.create_model_package(**request)["ModelPackageArn"])


def _card_for_new_package(sm: Any) -> tuple[str, str]:
    fields = model_cards.ModelCardFields(group=GROUP, description="churn", lineage=LINEAGE, metrics={"auc": 0.9})
    name = model_cards.card_name_for(GROUP, LINEAGE.commit_id)
    arn = model_cards.create_model_card(fields, "medium", card_name=name, sagemaker=sm)
    package = _package(sm, (name, arn))
    model_cards.attach_package(name, package, 1, sagemaker=sm)
    return name, package


def _status(sm: Any, name: str) -> str:
    return str(sm.describe_model_card(ModelCardName=name)["ModelCardStatus"])


def test_model_card_follows_the_lifecycle_forward_only(sm: Any) -> None:
    name, package = _card_for_new_package(sm)
    assert _status(sm, name) == "Draft"
    assert model_cards.advance_model_card(package, "Development", sagemaker=sm) is None
    staged = model_cards.advance_model_card(package, "Staging", sagemaker=sm)
    assert staged == model_cards.CardTransition(name, "Draft", "PendingReview", changed=True)
    assert _status(sm, name) == "PendingReview"
    again = model_cards.advance_model_card(package, "Staging", sagemaker=sm)
    assert again is not None and not again.changed  # idempotent
    model_cards.advance_model_card(package, "Production", sagemaker=sm)
    assert _status(sm, name) == "Approved"
    backwards = model_cards.advance_model_card(package, "Staging", sagemaker=sm)
    assert backwards is not None and not backwards.changed
    assert _status(sm, name) == "Approved"  # never backwards
    model_cards.advance_model_card(name, "Archived", sagemaker=sm)  # by card name too
    assert _status(sm, name) == "Archived"
    content = json.loads(sm.describe_model_card(ModelCardName=name)["Content"])
    assert content["model_package_details"]["model_package_arn"] == package  # content survives status updates


def test_model_card_archived_straight_from_draft(sm: Any) -> None:
    name, package = _card_for_new_package(sm)
    transition = model_cards.advance_model_card(package, "Archived", sagemaker=sm)
    assert transition == model_cards.CardTransition(name, "Draft", "Archived", changed=True)


def test_model_card_advance_without_a_card_is_a_no_op(sm: Any) -> None:
    package = _package(sm)
    assert model_cards.advance_model_card(package, "Production", sagemaker=sm) is None
    assert sm.list_model_cards()["ModelCardSummaries"] == []


def test_model_card_advance_errors(sm: Any) -> None:
    with pytest.raises(ValueError, match="stage"):
        model_cards.advance_model_card("some-card", "Retired", sagemaker=sm)
    with pytest.raises(UnknownPackageError):
        model_cards.advance_model_card(
            "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn-classifier/9", "Staging", sagemaker=sm
        )


def test_model_card_ensured_for_a_package_registered_without_one(sm: Any) -> None:
    package = _package(sm)
    arn = model_cards.ensure_model_card(package, "high", metrics={"auc": 0.91}, sagemaker=sm)
    custom = sm.describe_model_package(ModelPackageName=package)["CustomerMetadataProperties"]
    assert custom["ModelCardArn"] == arn
    assert custom["ModelCardName"] == f"{GROUP}-v1"
    assert custom["TrainingDataUri"] == LINEAGE.training_data_uri  # the lineage is kept
    card = sm.describe_model_card(ModelCardName=f"{GROUP}-v1")
    content = json.loads(card["Content"])
    assert (card["ModelCardStatus"], content["intended_uses"]["risk_rating"]) == ("Draft", "High")
    assert content["model_package_details"]["model_package_arn"] == package
    assert content["training_details"]["training_job_details"]["training_datasets"] == [LINEAGE.training_data_uri]
    assert content["additional_information"]["custom_details"]["code_commit"] == "abcdef1"
    # idempotent: a second call finds the linked card
    assert model_cards.ensure_model_card(package, "high", sagemaker=sm) == arn
    assert len(sm.list_model_cards()["ModelCardSummaries"]) == 1


def test_model_card_describe_for_the_cli(sm: Any) -> None:
    name, _ = _card_for_new_package(sm)
    described = model_cards.describe_card(name, sagemaker=sm)
    assert (described["name"], described["status"], described["risk_rating"]) == (name, "Draft", "Medium")
    assert described["content"]["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]["name"] == "auc"
