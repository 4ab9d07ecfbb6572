"""Model card content per the SageMaker model card JSON schema, built from a version's metadata."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from mlops_registry.core.lineage import Lineage
from mlops_registry.core.model_cards import (
    STATUS_FOR_STAGE,
    ModelCardFields,
    card_name_for,
    model_card_content,
)

SCHEMA_SECTIONS = {
    "model_overview",
    "intended_uses",
    "business_details",
    "training_details",
    "evaluation_details",
    "additional_information",
    "model_package_details",
}


def _fields(**changes: object) -> ModelCardFields:
    values: dict[str, object] = {
        "group": "churn-classifier",
        "description": "Predicts 90-day customer churn.",
        "model_artifact": "s3://bucket/churn/model.tar.gz",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1",
        "lineage": Lineage(
            "s3://bucket/train.csv", "https://git/repo", "abcdef1", {"eta": 0.1, "tags": ["a"]}, "job-1"
        ),
        "metrics": {"auc": 0.9, "f1": 0.7},
        "reports": {"metrics": "s3://bucket/m.json", "feature_baseline": "s3://bucket/b.json"},
    }
    values.update(changes)
    return ModelCardFields(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "card"), [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("unknown", "Unknown")]
)
def test_model_card_risk_rating_comes_from_config(config: str, card: str) -> None:
    assert model_card_content(_fields(), config)["intended_uses"]["risk_rating"] == card


def test_model_card_content_has_the_schema_sections() -> None:
    content = model_card_content(
        _fields(package_arn="arn:aws:sagemaker:eu-west-1:1:model-package/g/3", version=3), "high"
    )
    assert set(content) <= SCHEMA_SECTIONS
    assert {
        "model_overview",
        "intended_uses",
        "training_details",
        "evaluation_details",
        "additional_information",
    } <= set(content)
    overview = content["model_overview"]
    assert overview["model_artifact"] == ["s3://bucket/churn/model.tar.gz"]
    assert overview["inference_environment"] == {
        "container_image": ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1"]
    }
    assert overview["model_version"] == 3
    job = content["training_details"]["training_job_details"]
    assert job["training_datasets"] == ["s3://bucket/train.csv"]
    assert job["user_provided_hyper_parameters"] == [
        {"name": "eta", "value": "0.1"},
        {"name": "tags", "value": '["a"]'},
    ]
    evaluation = content["evaluation_details"][0]
    assert evaluation["metric_groups"][0]["metric_data"] == [
        {"name": "auc", "type": "number", "value": 0.9},
        {"name": "f1", "type": "number", "value": 0.7},
    ]
    assert content["additional_information"]["custom_details"]["feature_baseline"] == "s3://bucket/b.json"
    assert content["model_package_details"]["model_package_version"] == 3


def test_model_card_strings_respect_schema_limits() -> None:
    content = model_card_content(_fields(description="x" * 5000, lineage=None, metrics={}), "low")
    assert len(content["model_overview"]["model_description"]) <= 1024
    assert len(content["intended_uses"]["purpose_of_model"]) <= 2048
    assert content["training_details"]["training_job_details"] == {}


def test_model_card_rejects_an_unknown_risk_rating() -> None:
    with pytest.raises(ValueError, match="risk rating"):
        model_card_content(_fields(), "extreme")


def test_model_card_names_are_valid_and_distinct() -> None:
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    names = {card_name_for("a-very-long-group-name-" + "x" * 40, "abcdef1234", moment) for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name
        assert "-20260301120000-abcdef1-" in name


def test_model_card_status_for_each_stage() -> None:
    assert STATUS_FOR_STAGE == {
        "Development": None,
        "Staging": "PendingReview",
        "Production": "Approved",
        "Archived": "Archived",
    }
