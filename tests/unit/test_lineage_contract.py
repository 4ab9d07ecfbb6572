"""The registration contract (``mlops_registry.core.lineage``): validators, lineage round trip, the request."""

from __future__ import annotations

import json

import pytest

from mlops_registry.core.lineage import (
    MAX_METADATA_VALUE,
    Lineage,
    ModelArtifacts,
    RegistrationError,
    commit_problem,
    image_uri_problem,
    lineage_chain,
    model_package_request,
    parse_hyperparameters,
    registration_problems,
    s3_uri_problem,
    training_job_problem,
)

BUCKET = "s3://mlops-registry-dev-artifacts-123456789012-eu-west-1"


def _lineage(**changes: object) -> Lineage:
    fields: dict[str, object] = {
        "training_data_uri": f"{BUCKET}/datasets/churn/train.csv",
        "repository": "https://github.com/example/churn-model",
        "commit_id": "abcdef1",
        "hyperparameters": {"max_depth": 6},
        "training_job": "churn-train-42",
    }
    fields.update(changes)
    return Lineage(**fields)  # type: ignore[arg-type]


def _artifacts(**changes: object) -> ModelArtifacts:
    fields: dict[str, object] = {
        "model_data_url": f"{BUCKET}/churn/v1/model.tar.gz",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1.0",
        "metrics_report_uri": f"{BUCKET}/churn/v1/metrics.json",
        "bias_report_uri": f"{BUCKET}/churn/v1/bias.json",
        "explainability_report_uri": f"{BUCKET}/churn/v1/explainability.json",
        "baseline_uri": f"{BUCKET}/baselines/churn/1/feature-baseline.json",
    }
    fields.update(changes)
    return ModelArtifacts(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("s3://bucket/key.json", True),
        ("s3://my.bucket-1/a/b/c", True),
        ("s3://b/key", False),  # bucket names have 3-63 characters
        ("s3://bucket/", False),
        ("s3://Bucket/key", False),
        ("https://bucket.s3.amazonaws.com/key", False),
        ("", False),
    ],
)
def test_lineage_s3_uri_shapes(uri: str, ok: bool) -> None:
    assert (s3_uri_problem(uri, "report") is None) is ok


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1.0", None),
        ("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com/team/churn@sha256:" + "a" * 64, None),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/churn", None),
        ("12345678901.dkr.ecr.eu-west-1.amazonaws.com/churn:1", "12-digit account"),
        ("1234567890123.dkr.ecr.eu-west-1.amazonaws.com/churn:1", "12-digit account"),
        ("docker.io/library/python:3.11", "not an ECR image URI"),
        (None, "required"),
    ],
)
def test_lineage_image_uri_needs_a_12_digit_account(image: str | None, fragment: str | None) -> None:
    problem = image_uri_problem(image)
    assert (problem is None) if fragment is None else (problem is not None and fragment in problem)


@pytest.mark.parametrize(
    ("commit", "ok"), [("abcdef1", True), ("A" * 40, True), ("abcdef", False), ("a" * 41, False), ("xyz1234", False)]
)
def test_lineage_commit_is_7_to_40_hex(commit: str, ok: bool) -> None:
    assert (commit_problem(commit) is None) is ok


@pytest.mark.parametrize(
    ("job", "ok"),
    [
        ("churn-train-42", True),
        ("arn:aws:sagemaker:eu-west-1:123456789012:training-job/churn-train-42", True),
        ("churn_train", False),
        ("-leading", False),
    ],
)
def test_lineage_training_job_name_or_arn(job: str, ok: bool) -> None:
    assert (training_job_problem(job) is None) is ok


@pytest.mark.parametrize(
    ("value", "fragment"),
    [("[1, 2]", "must be a JSON object"), ("{nope", "not valid JSON"), ("", "required"), ('{"a": NaN}', "strict JSON")],
)
def test_lineage_hyperparameters_must_be_a_json_object(value: str, fragment: str) -> None:
    with pytest.raises(RegistrationError, match=fragment):
        parse_hyperparameters(value)


def test_lineage_round_trips_through_package_metadata() -> None:
    lineage = _lineage(training_job="arn:aws:sagemaker:eu-west-1:123456789012:training-job/churn-train-42")
    read = Lineage.from_package(lineage.metadata_properties(), lineage.customer_metadata())
    assert read.complete
    assert read.hyperparameters == {"max_depth": 6}
    assert read.training_job_name == "churn-train-42"
    assert read.training_job == lineage.training_job
    assert lineage.metadata_properties()["GeneratedBy"] == lineage.training_job


def test_lineage_splits_hyperparameters_beyond_the_metadata_limit() -> None:
    hyperparameters = {f"param_{i:03d}": "x" * 20 for i in range(30)}
    lineage = _lineage(hyperparameters=hyperparameters)
    metadata = lineage.customer_metadata()
    assert "Hyperparameters" not in metadata
    parts = int(metadata["HyperparametersParts"])
    assert parts == -(-len(json.dumps(hyperparameters, separators=(",", ":"))) // MAX_METADATA_VALUE)
    assert all(len(v) <= MAX_METADATA_VALUE for v in metadata.values())
    assert Lineage.from_package(lineage.metadata_properties(), metadata).hyperparameters == hyperparameters
    broken = {k: v for k, v in metadata.items() if k != "Hyperparameters.2"}
    assert Lineage.from_package(lineage.metadata_properties(), broken).missing == ["hyperparameters"]


def test_lineage_of_a_package_without_lineage_names_what_is_missing() -> None:
    read = Lineage.from_package({}, {"Hyperparameters": "not json"})
    assert not read.complete
    assert read.missing == ["training_data_uri", "repository", "commit_id", "hyperparameters", "training_job"]


def test_lineage_model_package_request_is_the_contract() -> None:
    request = model_package_request(
        "churn-classifier",
        _artifacts(),
        _lineage(),
        model_card_arn="arn:aws:sagemaker:eu-west-1:123456789012:model-card/churn-1",
        model_card_name="churn-1",
        registered_by="arn:aws:iam::123456789012:user/alice",
    )
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    assert request["ModelLifeCycle"]["Stage"] == "Development"
    assert request["ModelLifeCycle"]["StageStatus"] == "Registered"
    metrics = request["ModelMetrics"]
    assert metrics["ModelQuality"]["Statistics"]["S3Uri"].endswith("metrics.json")
    assert metrics["Bias"]["Report"]["S3Uri"].endswith("bias.json")
    assert metrics["Explainability"]["Report"]["S3Uri"].endswith("explainability.json")
    assert request["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"] == {
        "ContentType": "application/json",
        "S3Uri": f"{BUCKET}/baselines/churn/1/feature-baseline.json",
    }
    assert request["MetadataProperties"] == {
        "Repository": "https://github.com/example/churn-model",
        "CommitId": "abcdef1",
        "GeneratedBy": "churn-train-42",
    }
    custom = request["CustomerMetadataProperties"]
    assert custom["ModelCardArn"].endswith("model-card/churn-1")
    assert (custom["ModelCardName"], custom["TrainingJobName"]) == ("churn-1", "churn-train-42")
    assert custom["Hyperparameters"] == '{"max_depth":6}'
    assert custom["RegisteredWith"] == "registry-cli"


def test_lineage_registration_problems_are_all_reported_at_once() -> None:
    problems = registration_problems(
        "churn-classifier",
        _artifacts(image="1.dkr.ecr.eu-west-1.amazonaws.com/x", bias_report_uri="bias.json"),
        _lineage(commit_id="zzz", repository=" "),
        managed_groups=["churn-classifier"],
    )
    assert len(problems) == 4
    assert any(p.startswith("image:") for p in problems)
    assert any(p.startswith("bias report:") for p in problems)
    assert any(p.startswith("commit:") for p in problems)
    assert any(p.startswith("repository:") for p in problems)
    assert registration_problems("other", _artifacts(), _lineage(), managed_groups=["churn-classifier"]) == [
        "group: 'other' is not managed by this registry (managed: churn-classifier)"
    ]
    with pytest.raises(RegistrationError) as raised:
        model_package_request("churn-classifier", _artifacts(metrics_report_uri="s3://x"), _lineage())
    assert raised.value.problems == ["metrics report: 's3://x' is not an s3://bucket/key URI"]


def test_lineage_chain_runs_from_data_to_endpoint() -> None:
    lineage = _lineage()
    read = Lineage.from_package(lineage.metadata_properties(), lineage.customer_metadata())
    chain = lineage_chain(read, "arn:pkg", {"stage": "Production"}, {"endpoint_name": "ep"})
    assert [(s.kind, s.value) for s in chain] == [
        ("data", lineage.training_data_uri),
        ("code", "https://github.com/example/churn-model@abcdef1"),
        ("params", '{"max_depth":6}'),
        ("training-job", "churn-train-42"),
        ("package", "arn:pkg"),
        ("endpoint", "ep"),
    ]
