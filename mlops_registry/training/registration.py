"""Register a trained model so the package follows exactly what the gates and the drift check read.

Two ways, one contract (``mlops_registry.core.lineage``):

- in a SageMaker pipeline: ``registration_step(registration, pipeline_session=...)`` returns a
  ``ModelStep`` (a RegisterModel step) whose request the SDK builds under a ``PipelineSession``;
  values may be pipeline variables (e.g. ``train_step.properties.ModelArtifacts.S3ModelArtifacts``);
- as a call, e.g. at the end of a training script: ``register_model_package(registration,
  sagemaker_session=...)`` sends the same request and, given a risk rating, creates the version's
  model card first and links it (as the ``registry register`` CLI does).

Both go through the SDK's own model registry functions (``get_model_package_args`` and
``create_model_package_from_containers``, what ``ModelBuilder.register()`` calls) rather than
``ModelBuilder``, which for a plain registration would demand an execution role, create the default
SageMaker bucket and add script-mode environment variables to the container.

Either way the package carries ``ModelMetrics`` (ModelQuality.Statistics, Bias.Report,
Explainability.Report), ``DriftCheckBaselines.ModelDataQuality.Statistics`` (the feature baseline),
the lineage (``MetadataProperties`` Repository/CommitId/GeneratedBy, ``CustomerMetadataProperties``
TrainingDataUri/Hyperparameters/TrainingJobName), ``ModelLifeCycle`` Development/Registered and
``PendingManualApproval``: the registry's EventBridge rule starts the promotion pipeline from there.
Literal values are validated before anything is built; pipeline variables resolve at execution time.
A version registered by a pipeline step gets its model card from the promotion pipeline
(``mlops_registry.core.model_cards.ensure_model_card``), since no card can be created at definition time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

from botocore.exceptions import ClientError
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.helper.pipeline_variable import PipelineVariable
from sagemaker.core.metadata_properties import MetadataProperties
from sagemaker.core.model_life_cycle import ModelLifeCycle
from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.model_registry import create_model_package_from_containers, get_model_package_args

from mlops_registry.core import lineage as contract
from mlops_registry.core import model_cards
from mlops_registry.core.model_registry import ModelRegistry
from mlops_registry.core.reports import finite_metrics

Value: TypeAlias = "str | PipelineVariable"
REGISTERED_WITH = "registry-training"


def _literal(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ModelRegistration:
    """One version to register, with the lineage the registry requires."""

    group: str
    model_data_url: Value
    image: Value
    metrics_report_uri: Value
    bias_report_uri: Value
    explainability_report_uri: Value
    baseline_uri: Value
    training_data_uri: Value
    repository: str
    commit_id: str
    hyperparameters: Mapping[str, Any]
    training_job: Value
    description: str | None = None
    content_types: tuple[str, ...] = ("text/csv",)
    response_types: tuple[str, ...] = ("text/csv",)
    model_card_arn: str | None = None
    model_card_name: str | None = None
    registered_by: str | None = None
    # Where the version was tracked (mlops_registry.core.lineage.MLFLOW_KEYS), when registered from an MLflow run.
    mlflow: Mapping[str, str] = field(default_factory=dict)

    # --- validation ------------------------------------------------------------------------------
    def problems(self, managed_groups: Sequence[str] | None = None) -> list[str]:
        """Every problem with the literal values (pipeline variables are resolved only at run time)."""
        found: list[str | None] = []
        if not contract.GROUP_NAME.match(self.group or ""):
            found.append(f"group: {self.group!r} is not a valid model package group name")
        elif managed_groups is not None and self.group not in managed_groups:
            found.append(
                f"group: {self.group!r} is not managed by this registry (managed: {', '.join(managed_groups)})"
            )
        for what, value in (
            ("model artifact", self.model_data_url),
            ("metrics report", self.metrics_report_uri),
            ("bias report", self.bias_report_uri),
            ("explainability report", self.explainability_report_uri),
            ("feature baseline", self.baseline_uri),
            ("training data", self.training_data_uri),
        ):
            if not isinstance(value, PipelineVariable):
                found.append(contract.s3_uri_problem(_literal(value), what))
        if not isinstance(self.image, PipelineVariable):
            found.append(contract.image_uri_problem(_literal(self.image)))
        if not isinstance(self.training_job, PipelineVariable):
            found.append(contract.training_job_problem(_literal(self.training_job)))
        found.append(contract.commit_problem(self.commit_id))
        if not self.repository or not self.repository.strip():
            found.append("repository: required (the code repository the model was trained from)")
        try:
            contract.parse_hyperparameters(self.hyperparameters)
        except contract.RegistrationError as error:
            found.extend(error.problems)
        if not self.content_types or not self.response_types:
            found.append("content types and response types: at least one of each is required")
        problems = [p for p in found if p]
        if not problems:
            problems.extend(contract.customer_metadata_problems(self._literal_customer_metadata()))
        return problems

    def validate(self, managed_groups: Sequence[str] | None = None) -> ModelRegistration:
        problems = self.problems(managed_groups)
        if problems:
            raise contract.RegistrationError(problems)
        return self

    # --- the SDK objects -----------------------------------------------------------------------------
    def model_metrics(self) -> ModelMetrics:
        def report(uri: Value) -> MetricsSource:
            return MetricsSource(content_type=contract.REPORT_CONTENT_TYPE, s3_uri=uri)

        return ModelMetrics(
            model_statistics=report(self.metrics_report_uri),
            bias=report(self.bias_report_uri),
            explainability=report(self.explainability_report_uri),
        )

    def drift_check_baselines(self) -> DriftCheckBaselines:
        return DriftCheckBaselines(
            model_data_statistics=MetricsSource(content_type=contract.REPORT_CONTENT_TYPE, s3_uri=self.baseline_uri)
        )

    def metadata_properties(self) -> MetadataProperties:
        return MetadataProperties(commit_id=self.commit_id, repository=self.repository, generated_by=self.training_job)

    def customer_metadata_properties(self) -> dict[str, Value]:
        properties: dict[str, Value] = dict(self._literal_customer_metadata())
        properties[contract.TRAINING_DATA_URI] = self.training_data_uri
        properties[contract.TRAINING_JOB_NAME] = self._training_job_name()
        return properties

    def _literal_customer_metadata(self) -> dict[str, str]:
        properties = contract.hyperparameter_properties(contract.compact_json(dict(self.hyperparameters)))
        if isinstance(self.training_data_uri, str):
            properties[contract.TRAINING_DATA_URI] = self.training_data_uri
        name = self._training_job_name()
        if isinstance(name, str):
            properties[contract.TRAINING_JOB_NAME] = name
        if self.model_card_arn:
            properties[contract.MODEL_CARD_ARN] = self.model_card_arn
        if self.model_card_name:
            properties[contract.MODEL_CARD_NAME] = self.model_card_name
        if self.registered_by:
            properties[contract.REGISTERED_BY] = self.registered_by[: contract.MAX_METADATA_VALUE]
        properties[contract.REGISTERED_WITH] = REGISTERED_WITH
        properties.update(self.mlflow)
        return properties

    def _training_job_name(self) -> Value:
        if isinstance(self.training_job, str):
            match = contract.TRAINING_JOB_ARN.match(self.training_job)
            return match.group("name") if match else self.training_job
        return self.training_job

    def model_life_cycle(self) -> ModelLifeCycle:
        return ModelLifeCycle(
            stage=contract.STAGE_ON_REGISTRATION,
            stage_status=contract.STATUS_ON_REGISTRATION,
            stage_description="Registered; the promotion pipeline evaluates it next",
        )

    def model_package_arguments(self) -> dict[str, Any]:
        """The SDK's ``create_model_package_from_containers`` arguments (validated first)."""
        self.validate()
        return dict(
            get_model_package_args(
                content_types=list(self.content_types),
                response_types=list(self.response_types),
                model_package_group_name=self.group,
                container_def_list=[{"Image": self.image, "ModelDataUrl": self.model_data_url}],
                model_metrics=self.model_metrics(),
                drift_check_baselines=self.drift_check_baselines(),
                metadata_properties=self.metadata_properties(),
                customer_metadata_properties=self.customer_metadata_properties(),
                approval_status=contract.APPROVAL_ON_REGISTRATION,
                description=self.description or f"{self.group} trained from {self.repository}@{self.commit_id}",
                model_life_cycle=self.model_life_cycle(),
            )
        )


@dataclass
class _Registrant:
    """What a ``ModelStep`` asks of the "model" behind its arguments: the ``PipelineSession``."""

    sagemaker_session: Any


@dataclass(frozen=True)
class RegisteredVersion:
    package_arn: str
    group: str
    version: int
    model_card_arn: str | None


def registration_step(
    registration: ModelRegistration,
    *,
    pipeline_session: Any,
    name: str = "RegisterModel",
    depends_on: list[Any] | None = None,
    retry_policies: list[Any] | None = None,
) -> Any:
    """A ``ModelStep`` (RegisterModel) that registers the version when the pipeline runs.

    ``pipeline_session`` is a ``sagemaker.core.workflow.pipeline_context.PipelineSession``: under it the
    SDK captures the CreateModelPackage request instead of sending it.
    """
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.model_step import ModelStep

    if not isinstance(pipeline_session, PipelineSession):
        raise TypeError("registration_step needs a PipelineSession (a plain Session would register right away)")
    arguments = registration.model_package_arguments()
    pipeline_session.init_model_step_arguments(_Registrant(pipeline_session))
    try:
        step_args = create_model_package_from_containers(pipeline_session, **arguments)
    finally:
        pipeline_session.context = None
    return ModelStep(name=name, step_args=step_args, depends_on=depends_on, retry_policies=retry_policies)


def register_model_package(
    registration: ModelRegistration,
    *,
    sagemaker_session: Any,
    risk_rating: str | None = None,
    managed_groups: Sequence[str] | None = None,
) -> RegisteredVersion:
    """Register now (``sagemaker_session`` a SageMaker ``Session``).

    The group must exist (the registry's CDK app creates the managed groups; this never creates one).
    With ``risk_rating``, the model card is created first (Draft), linked from the package, and then
    records the package's ARN and version.
    """
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    if isinstance(sagemaker_session, PipelineSession):
        raise TypeError("register_model_package registers right away: use registration_step in a pipeline")
    arguments = registration.validate(managed_groups).model_package_arguments()
    sm = sagemaker_session.sagemaker_client
    ModelRegistry(sm).ensure_group(registration.group)
    card_arn = None
    card_name = None
    if risk_rating is not None:
        card_name = model_cards.card_name_for(registration.group, registration.commit_id)
        metrics = _registered_metrics(sagemaker_session, registration.metrics_report_uri)
        card_arn = model_cards.create_model_card(
            _card_fields(registration, metrics), risk_rating, card_name=card_name, sagemaker=sm
        )
        registration = replace(registration, model_card_arn=card_arn, model_card_name=card_name)
        arguments = registration.model_package_arguments()
    try:
        response = create_model_package_from_containers(sagemaker_session, **arguments)
    except Exception:
        if card_name:
            sm.delete_model_card(ModelCardName=card_name)
        raise
    package_arn = str(response["ModelPackageArn"])
    version = int(package_arn.rsplit("/", 1)[1])
    if card_name:
        model_cards.attach_package(card_name, package_arn, version, sagemaker=sm)
    return RegisteredVersion(package_arn, registration.group, version, card_arn)


def _registered_metrics(sagemaker_session: Any, uri: Value) -> dict[str, float]:
    """The metrics report's values for the card's evaluation results (empty when it cannot be read)."""
    match = contract.S3_URI.match(uri) if isinstance(uri, str) else None
    if match is None:
        return {}
    try:
        body = (
            sagemaker_session.boto_session.client("s3")
            .get_object(Bucket=match.group("bucket"), Key=match.group("key"))["Body"]
            .read()
        )
        report = json.loads(body)
    except (ClientError, ValueError):
        return {}
    return finite_metrics(report) if isinstance(report, dict) else {}


def _card_fields(registration: ModelRegistration, metrics: Mapping[str, float]) -> model_cards.ModelCardFields:
    job = registration.training_job
    return model_cards.ModelCardFields(
        training_job_arn=job if isinstance(job, str) and contract.TRAINING_JOB_ARN.match(job) else None,
        metrics=dict(metrics),
        group=registration.group,
        description=registration.description or f"{registration.group} model",
        model_artifact=_literal(registration.model_data_url),
        image=_literal(registration.image),
        lineage=contract.Lineage(
            training_data_uri=str(registration.training_data_uri),
            repository=registration.repository,
            commit_id=registration.commit_id,
            hyperparameters=registration.hyperparameters,
            training_job=str(registration.training_job),
        ),
        reports={
            "metrics": str(registration.metrics_report_uri),
            "bias": str(registration.bias_report_uri),
            "explainability": str(registration.explainability_report_uri),
            "feature_baseline": str(registration.baseline_uri),
        },
        creator=registration.registered_by,
        mlflow=dict(registration.mlflow),
    )
