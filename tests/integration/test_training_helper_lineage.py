"""The training-side helper (``mlops_registry.training``, SageMaker SDK v3) against moto.

The registration it builds is executed against moto -- the direct call through the SDK's session, and
the pipeline step's captured request sent as SageMaker Pipelines would send it -- and the resulting
package is read back the way the gates, the drift check and ``registry describe`` read it. ``sagemaker``
is imported inside the fixtures only: it takes seconds to import and needs a region.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_registry.core.errors import UnknownGroupError
from mlops_registry.core.lineage import Lineage, ModelArtifacts, RegistrationError, model_package_request
from mlops_registry.core.model_registry import PackageView
from offline.harness.emulator import sagemaker_extensions
from offline.samples import churn_reports

REGION = "eu-west-1"
GROUP = "churn-classifier"
BUCKET = "mlops-registry-dev-artifacts-123456789012-eu-west-1"
HYPERPARAMETERS = {"max_depth": 6, "eta": 0.2}


@dataclass
class Emulated:
    boto: Any
    sm: Any
    s3: Any


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulated]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(), sagemaker_extensions():
        session = boto3.session.Session(region_name=REGION)
        sm = session.client("sagemaker")
        s3 = session.client("s3")
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        for name, document in churn_reports().items():
            s3.put_object(Bucket=BUCKET, Key=f"churn/{name}.json", Body=json.dumps(document).encode())
        yield Emulated(session, sm, s3)


def _registration(**changes: Any) -> Any:
    from mlops_registry.training import ModelRegistration

    values: dict[str, Any] = {
        "group": GROUP,
        "model_data_url": f"s3://{BUCKET}/churn/model.tar.gz",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:1",
        "metrics_report_uri": f"s3://{BUCKET}/churn/metrics.json",
        "bias_report_uri": f"s3://{BUCKET}/churn/bias.json",
        "explainability_report_uri": f"s3://{BUCKET}/churn/explainability.json",
        "baseline_uri": f"s3://{BUCKET}/baselines/churn/feature-baseline.json",
        "training_data_uri": f"s3://{BUCKET}/datasets/churn/train.csv",
        "repository": "https://github.com/example/churn-model",
        "commit_id": "abcdef1234567",
        "hyperparameters": HYPERPARAMETERS,
        "training_job": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/churn-train-7",
    }
    values.update(changes)
    return ModelRegistration(**values)


def _assert_contract(package: dict[str, Any], registration: Any) -> None:
    view = PackageView.from_description(package)
    assert view.metrics_report_uri == registration.metrics_report_uri
    assert view.bias_report_uri == registration.bias_report_uri
    assert view.explainability_report_uri == registration.explainability_report_uri
    assert view.baseline_uri == registration.baseline_uri
    assert (view.model_data_url, view.image) == (registration.model_data_url, registration.image)
    assert view.approval_status == "PendingManualApproval"
    assert (view.stage, view.stage_status) == ("Development", "Registered")
    lineage = Lineage.from_package(package["MetadataProperties"], package["CustomerMetadataProperties"])
    assert lineage.complete, lineage.missing
    assert lineage.hyperparameters == HYPERPARAMETERS
    assert (lineage.repository, lineage.commit_id) == (registration.repository, registration.commit_id)
    assert lineage.training_job == registration.training_job
    assert lineage.training_job_name == "churn-train-7"
    assert lineage.training_data_uri == registration.training_data_uri
    assert package["CustomerMetadataProperties"]["RegisteredWith"] == "registry-training"


def test_lineage_training_helper_registers_the_contract_with_its_model_card(emulated: Emulated) -> None:
    from sagemaker.core.helper.session_helper import Session

    from mlops_registry.training import register_model_package

    # Given a trained model's registration, When the training script registers it through the SDK
    registration = _registration(registered_by="arn:aws:iam::123456789012:role/training")
    session = Session(boto_session=emulated.boto, sagemaker_client=emulated.sm)
    registered = register_model_package(
        registration, sagemaker_session=session, risk_rating="high", managed_groups=[GROUP]
    )
    # Then the package follows the contract and links its Draft model card, which records the package
    package = emulated.sm.describe_model_package(ModelPackageName=registered.package_arn)
    _assert_contract(package, registration)
    custom = package["CustomerMetadataProperties"]
    assert custom["ModelCardArn"] == registered.model_card_arn
    card = emulated.sm.describe_model_card(ModelCardName=custom["ModelCardName"])
    content = json.loads(card["Content"])
    assert card["ModelCardStatus"] == "Draft"
    assert content["intended_uses"]["risk_rating"] == "High"
    assert content["model_package_details"]["model_package_arn"] == registered.package_arn
    assert content["training_details"]["training_job_details"]["training_arn"] == registration.training_job
    metrics = content["evaluation_details"][0]["metric_groups"][0]["metric_data"]
    assert {m["name"] for m in metrics} == {"auc", "f1", "log_loss"}
    assert registered.version == 1


def test_lineage_training_helper_step_request_executes_as_the_contract(emulated: Emulated) -> None:
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    from mlops_registry.training import registration_step

    # Given a pipeline session, When the helper builds the registration step
    registration = _registration()
    pipeline_session = PipelineSession(boto_session=emulated.boto, sagemaker_client=emulated.sm)
    step = registration_step(registration, pipeline_session=pipeline_session, name="RegisterChurnModel")
    assert step.step_type.value == "RegisterModel"
    # Then its request, sent as SageMaker Pipelines sends it, creates a package that follows the contract
    arguments = dict(step.arguments)
    arn = emulated.sm.create_model_package(**arguments)["ModelPackageArn"]
    _assert_contract(emulated.sm.describe_model_package(ModelPackageName=arn), registration)
    # and it is the same request the CLI sends (same contract, one definition)
    contract = model_package_request(
        GROUP,
        ModelArtifacts(
            model_data_url=registration.model_data_url,
            image=registration.image,
            metrics_report_uri=registration.metrics_report_uri,
            bias_report_uri=registration.bias_report_uri,
            explainability_report_uri=registration.explainability_report_uri,
            baseline_uri=registration.baseline_uri,
        ),
        Lineage(
            registration.training_data_uri,
            registration.repository,
            registration.commit_id,
            HYPERPARAMETERS,
            registration.training_job,
        ),
        registered_with="registry-training",
    )
    for key in (
        "ModelPackageGroupName",
        "ModelMetrics",
        "DriftCheckBaselines",
        "MetadataProperties",
        "CustomerMetadataProperties",
        "ModelLifeCycle",
        "ModelApprovalStatus",
        "InferenceSpecification",
    ):
        assert arguments[key] == contract[key], key


def test_lineage_training_helper_step_takes_pipeline_variables(emulated: Emulated) -> None:
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.pipeline import Pipeline

    from mlops_registry.training import registration_step

    model_data = ParameterString(name="ModelData", default_value=f"s3://{BUCKET}/churn/model.tar.gz")
    training_job = ParameterString(name="TrainingJob", default_value="churn-train-7")
    pipeline_session = PipelineSession(boto_session=emulated.boto, sagemaker_client=emulated.sm)
    step = registration_step(
        _registration(model_data_url=model_data, training_job=training_job), pipeline_session=pipeline_session
    )
    definition = json.loads(
        Pipeline(
            name="churn-training",
            parameters=[model_data, training_job],
            steps=[step],
            sagemaker_session=pipeline_session,
        ).definition()
    )
    arguments = definition["Steps"][0]["Arguments"]
    assert definition["Steps"][0]["Type"] == "RegisterModel"
    assert arguments["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == {"Get": "Parameters.ModelData"}
    assert arguments["MetadataProperties"]["GeneratedBy"] == {"Get": "Parameters.TrainingJob"}
    assert arguments["CustomerMetadataProperties"]["TrainingJobName"] == {"Get": "Parameters.TrainingJob"}
    assert arguments["ModelLifeCycle"]["Stage"] == "Development"
    assert arguments["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"].endswith("feature-baseline.json")


def test_lineage_training_helper_refuses_invalid_values_before_sagemaker(emulated: Emulated) -> None:
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    from mlops_registry.training import register_model_package, registration_step

    bad = _registration(image="1234.dkr.ecr.eu-west-1.amazonaws.com/churn:1", commit_id="HEAD", hyperparameters=[1])
    with pytest.raises(RegistrationError) as raised:
        register_model_package(bad, sagemaker_session=Session(boto_session=emulated.boto, sagemaker_client=emulated.sm))
    assert any("12-digit account" in p for p in raised.value.problems)
    assert any(p.startswith("commit:") for p in raised.value.problems)
    assert any(p.startswith("hyperparameters:") for p in raised.value.problems)
    with pytest.raises(RegistrationError, match="not managed"):
        _registration().validate(managed_groups=["fraud-detector"])
    with pytest.raises(RegistrationError):
        registration_step(
            bad, pipeline_session=PipelineSession(boto_session=emulated.boto, sagemaker_client=emulated.sm)
        )
    assert emulated.sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"] == []
    assert emulated.sm.list_model_cards()["ModelCardSummaries"] == []


def test_lineage_training_helper_never_creates_a_group(emulated: Emulated) -> None:
    from sagemaker.core.helper.session_helper import Session

    from mlops_registry.training import register_model_package

    session = Session(boto_session=emulated.boto, sagemaker_client=emulated.sm)
    with pytest.raises(UnknownGroupError):
        register_model_package(replace(_registration(), group="unmanaged-model"), sagemaker_session=session)
    groups = emulated.sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == [GROUP]


def test_training_helper_uploads_computed_evidence_and_registers_it(emulated: Emulated) -> None:
    from mlops_registry.core.evidence.bias import Facet
    from mlops_registry.core.evidence.dataset import from_columns
    from mlops_registry.core.evidence.service import EvidenceSpec, compute_evidence
    from mlops_registry.training.evidence import upload_evidence, with_evidence

    # Given a validation set scored by the trained model at the end of a training script
    rows = 60
    data = from_columns(
        {
            "tenure_months": [float(i % 40) for i in range(rows)],
            "gender": ["F" if i % 2 else "M" for i in range(rows)],
            "churned": [int(i % 40 < 12) for i in range(rows)],
            "score": [0.9 if i % 40 < 14 else 0.1 for i in range(rows)],
        }
    )
    spec = EvidenceSpec(label="churned", features=("tenure_months",), score="score", facets=(Facet("gender"),))
    evidence = compute_evidence(data, spec)
    # When the helper uploads it and registers the version with it
    uris = upload_evidence(evidence, bucket=BUCKET, group=GROUP, s3=emulated.s3)
    registration = with_evidence(_registration(), uris)
    from sagemaker.core.helper.session_helper import Session

    from mlops_registry.training import register_model_package

    session = Session(boto_session=emulated.boto, sagemaker_client=emulated.sm)
    registered = register_model_package(registration, sagemaker_session=session, managed_groups=[GROUP])
    view = PackageView.from_description(emulated.sm.describe_model_package(ModelPackageName=registered.package_arn))
    # Then the package references the uploaded documents, which hold the computed values
    assert view.metrics_report_uri == uris["metrics"] and view.bias_report_uri == uris["bias"]
    assert view.baseline_uri == uris["baseline"]
    key = uris["metrics"].split(f"s3://{BUCKET}/", 1)[1]
    stored = json.loads(emulated.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert stored["binary_classification_metrics"]["recall"]["value"] == 1.0
    assert "explainability" not in uris  # no model object given: the registration keeps its own report
