"""The registration contract: a version's lineage and the exact ``CreateModelPackage`` request.

Every version registered in a managed group -- by the ``registry`` CLI or by a SageMaker pipeline
built with ``mlops_registry.training`` -- carries what the promotion gates, the drift check and
``registry describe`` read:

- ``ModelMetrics.ModelQuality.Statistics`` (metrics gate), ``ModelMetrics.Bias.Report`` (bias gate),
  ``ModelMetrics.Explainability.Report`` (explainability gate): S3 URIs of JSON reports;
- ``DriftCheckBaselines.ModelDataQuality.Statistics``: the feature baseline (``mlops_registry.core.baseline``);
- lineage, required: ``MetadataProperties {Repository, CommitId, GeneratedBy}`` (GeneratedBy is the
  training job) and ``CustomerMetadataProperties {TrainingDataUri, Hyperparameters, TrainingJobName}``
  plus the linked model card (``ModelCardArn``, ``ModelCardName``);
- ``ModelLifeCycle {Development, Registered}`` and ``ModelApprovalStatus PendingManualApproval``,
  which is what makes the dispatcher start a promotion.

SageMaker limits a customer metadata value to 256 characters, so hyperparameters whose compact JSON
is longer are split over ``Hyperparameters.1`` .. ``Hyperparameters.N`` (with
``HyperparametersParts = N``) and reassembled by ``Lineage.from_package``.

Standard library only: the Lambdas, the CLI and the training helper all import it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_registry.core.contracts import PENDING_APPROVAL, STAGE_DEVELOPMENT
from mlops_registry.core.errors import RegistryError

STAGE_ON_REGISTRATION = STAGE_DEVELOPMENT
STATUS_ON_REGISTRATION = "Registered"
APPROVAL_ON_REGISTRATION = PENDING_APPROVAL
REPORT_CONTENT_TYPE = "application/json"

# CustomerMetadataProperties keys (the contract other components read).
TRAINING_DATA_URI = "TrainingDataUri"
HYPERPARAMETERS = "Hyperparameters"
HYPERPARAMETERS_PARTS = "HyperparametersParts"
TRAINING_JOB_NAME = "TrainingJobName"
MODEL_CARD_ARN = "ModelCardArn"
MODEL_CARD_NAME = "ModelCardName"
REGISTERED_BY = "RegisteredBy"
REGISTERED_WITH = "RegisteredWith"
# A version registered from an MLflow run (``registry register --mlflow-run``): where the run lives.
MLFLOW_TRACKING_URI = "MlflowTrackingUri"
MLFLOW_EXPERIMENT_ID = "MlflowExperimentId"
MLFLOW_RUN_ID = "MlflowRunId"
MLFLOW_MODEL_NAME = "MlflowModelName"
MLFLOW_MODEL_VERSION = "MlflowModelVersion"
MLFLOW_KEYS = (MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID, MLFLOW_RUN_ID, MLFLOW_MODEL_NAME, MLFLOW_MODEL_VERSION)

# SageMaker API limits (CreateModelPackage).
MAX_METADATA_VALUE = 256
MAX_METADATA_KEY = 128
MAX_METADATA_ENTRIES = 50
MAX_METADATA_PROPERTY = 1024
MAX_DESCRIPTION = 1024

S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>\S.*)$")
IMAGE_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d)\.amazonaws\.com(\.cn)?"
    r"/(?P<repository>[a-z0-9]+(?:[._\-/][a-z0-9]+)*)(?::(?P<tag>[\w][\w.\-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
ANY_12_DIGITS_ACCOUNT = re.compile(r"^(\d+)\.dkr\.ecr")
COMMIT = re.compile(r"^[0-9a-fA-F]{7,40}$")
TRAINING_JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
TRAINING_JOB_ARN = re.compile(
    r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:\d{12}:training-job/(?P<name>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$"
)
GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
METADATA_KEY = re.compile(r"^[\w\s.:/=+\-@]+$")


class RegistrationError(RegistryError, ValueError):
    """The registration request breaks the contract; ``problems`` names every offending field."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid registration: " + "; ".join(self.problems))


# --- field validators (each returns a problem naming the field, or None) ----------------------
def s3_uri_problem(value: str | None, what: str, *, required: bool = True) -> str | None:
    if not value:
        return f"{what}: required (an s3://bucket/key URI)" if required else None
    if not S3_URI.match(value):
        return f"{what}: {value!r} is not an s3://bucket/key URI"
    return None


def image_uri_problem(value: str | None, what: str = "image") -> str | None:
    if not value:
        return f"{what}: required (an ECR image URI such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag)"
    account = ANY_12_DIGITS_ACCOUNT.match(value)
    if account and len(account.group(1)) != 12:
        return f"{what}: {value!r} has account {account.group(1)!r}; an ECR image URI needs a 12-digit account"
    if not IMAGE_URI.match(value):
        return (
            f"{what}: {value!r} is not an ECR image URI "
            "(<12-digit account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:digest])"
        )
    return None


def commit_problem(value: str | None) -> str | None:
    if not value:
        return "commit: required (the git commit the model was trained from)"
    if not COMMIT.match(value):
        return f"commit: {value!r} is not a git commit hash (7 to 40 hexadecimal characters)"
    return None


def training_job_problem(value: str | None) -> str | None:
    if not value:
        return "training job: required (the SageMaker training job name or ARN)"
    if not (TRAINING_JOB_NAME_PATTERN.match(value) or TRAINING_JOB_ARN.match(value)):
        return f"training job: {value!r} is neither a training job name nor a training job ARN"
    return None


def parse_hyperparameters(value: str | bytes | Mapping[str, Any] | None) -> dict[str, Any]:
    """The hyperparameters as a JSON object; ``RegistrationError`` when they are not one."""
    if value is None or value == "":
        raise RegistrationError(["hyperparameters: required (a JSON object, e.g. '{\"max_depth\": 6}')"])
    if isinstance(value, Mapping):
        document: Any = dict(value)
    elif not isinstance(value, str | bytes):
        raise RegistrationError([f"hyperparameters: must be a JSON object, got {type(value).__name__}"])
    else:
        try:
            document = json.loads(value)
        except ValueError as error:
            raise RegistrationError([f"hyperparameters: not valid JSON ({error})"]) from error
    if not isinstance(document, dict):
        raise RegistrationError([f"hyperparameters: must be a JSON object, got {type(document).__name__}"])
    try:
        json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise RegistrationError([f"hyperparameters: not serialisable as strict JSON ({error})"]) from error
    return document


def compact_json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)


# --- lineage ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lineage:
    """Where a version comes from: data → code → parameters → training job."""

    training_data_uri: str
    repository: str
    commit_id: str
    hyperparameters: Mapping[str, Any]
    training_job: str  # a training job name or ARN

    @property
    def training_job_name(self) -> str:
        match = TRAINING_JOB_ARN.match(self.training_job)
        return match.group("name") if match else self.training_job

    def training_job_arn(self, partition: str, region: str, account: str) -> str:
        if TRAINING_JOB_ARN.match(self.training_job):
            return self.training_job
        return f"arn:{partition}:sagemaker:{region}:{account}:training-job/{self.training_job.lower()}"

    def problems(self) -> list[str]:
        found = [
            s3_uri_problem(self.training_data_uri, "training data"),
            commit_problem(self.commit_id),
            training_job_problem(self.training_job),
        ]
        if not self.repository or not self.repository.strip():
            found.append("repository: required (the code repository the model was trained from)")
        elif len(self.repository) > MAX_METADATA_PROPERTY:
            found.append(f"repository: longer than {MAX_METADATA_PROPERTY} characters")
        if self.training_data_uri and len(self.training_data_uri) > MAX_METADATA_VALUE:
            found.append(f"training data: URI longer than {MAX_METADATA_VALUE} characters (a SageMaker metadata limit)")
        if not isinstance(self.hyperparameters, Mapping):
            found.append("hyperparameters: must be a JSON object")
        else:
            try:
                parse_hyperparameters(self.hyperparameters)
            except RegistrationError as error:
                found.extend(error.problems)
        return [p for p in found if p]

    def validate(self) -> Lineage:
        problems = self.problems()
        if problems:
            raise RegistrationError(problems)
        return self

    def metadata_properties(self) -> dict[str, str]:
        return {"Repository": self.repository, "CommitId": self.commit_id, "GeneratedBy": self.training_job}

    def customer_metadata(self) -> dict[str, str]:
        properties = {TRAINING_DATA_URI: self.training_data_uri, TRAINING_JOB_NAME: self.training_job_name}
        properties.update(hyperparameter_properties(compact_json(dict(self.hyperparameters))))
        return properties

    def as_dict(self) -> dict[str, Any]:
        return {
            "training_data_uri": self.training_data_uri,
            "repository": self.repository,
            "commit_id": self.commit_id,
            "hyperparameters": dict(self.hyperparameters),
            "training_job": self.training_job,
            "training_job_name": self.training_job_name,
        }

    @staticmethod
    def from_package(
        metadata_properties: Mapping[str, str] | None, customer_metadata: Mapping[str, str] | None
    ) -> PartialLineage:
        """What a registered package records (fields it lacks are ``None`` and listed in ``missing``)."""
        meta = dict(metadata_properties or {})
        custom = dict(customer_metadata or {})
        hyperparameters: dict[str, Any] | None = None
        text = join_hyperparameter_properties(custom)
        if text is not None:
            try:
                parsed = json.loads(text)
                hyperparameters = parsed if isinstance(parsed, dict) else None
            except ValueError:
                hyperparameters = None
        return PartialLineage(
            training_data_uri=custom.get(TRAINING_DATA_URI),
            repository=meta.get("Repository"),
            commit_id=meta.get("CommitId"),
            hyperparameters=hyperparameters,
            training_job=meta.get("GeneratedBy") or custom.get(TRAINING_JOB_NAME),
            training_job_name=custom.get(TRAINING_JOB_NAME),
        )


@dataclass(frozen=True)
class PartialLineage:
    """Lineage as read back from a package; older or foreign packages may lack fields."""

    training_data_uri: str | None
    repository: str | None
    commit_id: str | None
    hyperparameters: dict[str, Any] | None
    training_job: str | None
    training_job_name: str | None

    @property
    def missing(self) -> list[str]:
        names = ("training_data_uri", "repository", "commit_id", "hyperparameters", "training_job")
        return [name for name in names if getattr(self, name) in (None, "")]

    @property
    def complete(self) -> bool:
        return not self.missing

    def as_dict(self) -> dict[str, Any]:
        return {
            "training_data_uri": self.training_data_uri,
            "repository": self.repository,
            "commit_id": self.commit_id,
            "hyperparameters": self.hyperparameters,
            "training_job": self.training_job,
            "training_job_name": self.training_job_name,
            "missing": self.missing,
        }


def hyperparameter_properties(text: str) -> dict[str, str]:
    """Customer metadata holding the hyperparameters' compact JSON (split when over the value limit)."""
    if len(text) <= MAX_METADATA_VALUE:
        return {HYPERPARAMETERS: text}
    parts = [text[i : i + MAX_METADATA_VALUE] for i in range(0, len(text), MAX_METADATA_VALUE)]
    split = {f"{HYPERPARAMETERS}.{index}": part for index, part in enumerate(parts, start=1)}
    split[HYPERPARAMETERS_PARTS] = str(len(parts))
    return split


def join_hyperparameter_properties(custom: Mapping[str, str]) -> str | None:
    """The hyperparameters' JSON text from customer metadata (inverse of ``hyperparameter_properties``)."""
    if HYPERPARAMETERS in custom:
        return custom[HYPERPARAMETERS]
    parts = custom.get(HYPERPARAMETERS_PARTS)
    if not parts or not parts.isdigit():
        return None
    chunks = [custom.get(f"{HYPERPARAMETERS}.{index}") for index in range(1, int(parts) + 1)]
    if any(chunk is None for chunk in chunks):
        return None
    return "".join(chunk for chunk in chunks if chunk is not None)


# --- the CreateModelPackage request -----------------------------------------------------------
@dataclass(frozen=True)
class ModelArtifacts:
    """What serves and what the gates and the drift check read."""

    model_data_url: str
    image: str
    metrics_report_uri: str
    bias_report_uri: str
    explainability_report_uri: str
    baseline_uri: str
    content_types: tuple[str, ...] = ("text/csv",)
    response_types: tuple[str, ...] = ("text/csv",)

    def problems(self) -> list[str]:
        found = [
            s3_uri_problem(self.model_data_url, "model artifact"),
            image_uri_problem(self.image),
            s3_uri_problem(self.metrics_report_uri, "metrics report"),
            s3_uri_problem(self.bias_report_uri, "bias report"),
            s3_uri_problem(self.explainability_report_uri, "explainability report"),
            s3_uri_problem(self.baseline_uri, "feature baseline"),
        ]
        if not self.content_types:
            found.append("content types: at least one is required")
        if not self.response_types:
            found.append("response types: at least one is required")
        return [p for p in found if p]

    def reports(self) -> dict[str, str]:
        return {
            "metrics": self.metrics_report_uri,
            "bias": self.bias_report_uri,
            "explainability": self.explainability_report_uri,
            "feature_baseline": self.baseline_uri,
        }


def registration_problems(
    group: str, artifacts: ModelArtifacts, lineage: Lineage, managed_groups: Iterable[str] | None = None
) -> list[str]:
    """Every local problem of a registration request, each naming its field (empty when valid)."""
    problems: list[str] = []
    if not group or not GROUP_NAME.match(group):
        problems.append(f"group: {group!r} is not a valid model package group name")
    elif managed_groups is not None:
        managed = sorted(managed_groups)
        if group not in managed:
            problems.append(f"group: {group!r} is not managed by this registry (managed: {', '.join(managed)})")
    problems.extend(artifacts.problems())
    problems.extend(lineage.problems())
    return problems


def model_package_request(
    group: str,
    artifacts: ModelArtifacts,
    lineage: Lineage,
    *,
    description: str | None = None,
    model_card_arn: str | None = None,
    model_card_name: str | None = None,
    registered_by: str | None = None,
    registered_with: str = "registry-cli",
    extra_customer_metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``CreateModelPackage`` request of one version, validated (``RegistrationError`` otherwise)."""
    problems = registration_problems(group, artifacts, lineage)
    customer = dict(extra_customer_metadata or {})
    customer.update(lineage.customer_metadata() if not problems else {})
    if model_card_arn:
        customer[MODEL_CARD_ARN] = model_card_arn
    if model_card_name:
        customer[MODEL_CARD_NAME] = model_card_name
    if registered_by:
        customer[REGISTERED_BY] = registered_by[:MAX_METADATA_VALUE]
    customer[REGISTERED_WITH] = registered_with
    problems.extend(customer_metadata_problems(customer))
    if description and len(description) > MAX_DESCRIPTION:
        problems.append(f"description: longer than {MAX_DESCRIPTION} characters")
    if problems:
        raise RegistrationError(problems)

    def report(uri: str) -> dict[str, str]:
        return {"ContentType": REPORT_CONTENT_TYPE, "S3Uri": uri}

    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": description or f"{group} trained from {lineage.repository}@{lineage.commit_id}",
        "ModelApprovalStatus": APPROVAL_ON_REGISTRATION,
        "InferenceSpecification": {
            "Containers": [{"Image": artifacts.image, "ModelDataUrl": artifacts.model_data_url}],
            "SupportedContentTypes": list(artifacts.content_types),
            "SupportedResponseMIMETypes": list(artifacts.response_types),
        },
        "ModelMetrics": {
            "ModelQuality": {"Statistics": report(artifacts.metrics_report_uri)},
            "Bias": {"Report": report(artifacts.bias_report_uri)},
            "Explainability": {"Report": report(artifacts.explainability_report_uri)},
        },
        "DriftCheckBaselines": {"ModelDataQuality": {"Statistics": report(artifacts.baseline_uri)}},
        "MetadataProperties": lineage.metadata_properties(),
        "CustomerMetadataProperties": customer,
        "ModelLifeCycle": {
            "Stage": STAGE_ON_REGISTRATION,
            "StageStatus": STATUS_ON_REGISTRATION,
            "StageDescription": "Registered; the promotion pipeline evaluates it next",
        },
    }


def customer_metadata_problems(properties: Mapping[str, str]) -> list[str]:
    problems = []
    if len(properties) > MAX_METADATA_ENTRIES:
        problems.append(f"customer metadata: {len(properties)} entries, SageMaker allows {MAX_METADATA_ENTRIES}")
    for key, value in properties.items():
        if not key or len(key) > MAX_METADATA_KEY or not METADATA_KEY.match(key):
            problems.append(f"customer metadata: key {key!r} is not allowed by SageMaker")
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE:
            problems.append(f"customer metadata: value of {key!r} must be a string of at most {MAX_METADATA_VALUE}")
    return problems


@dataclass(frozen=True)
class LineageStep:
    kind: str  # data | code | params | training-job | package | endpoint
    value: str | None
    detail: dict[str, Any] = field(default_factory=dict)


def lineage_chain(
    lineage: PartialLineage, package_arn: str, package_detail: Mapping[str, Any], endpoint: Mapping[str, Any] | None
) -> list[LineageStep]:
    """data → code → params → training job → package → endpoint, for ``describe``."""
    code = f"{lineage.repository}@{lineage.commit_id}" if lineage.repository or lineage.commit_id else None
    params = compact_json(lineage.hyperparameters) if lineage.hyperparameters is not None else None
    return [
        LineageStep("data", lineage.training_data_uri),
        LineageStep("code", code, {"repository": lineage.repository, "commit": lineage.commit_id}),
        LineageStep("params", params),
        LineageStep("training-job", lineage.training_job, {"name": lineage.training_job_name}),
        LineageStep("package", package_arn, dict(package_detail)),
        LineageStep(
            "endpoint",
            endpoint.get("endpoint_name") if endpoint else None,
            dict(endpoint or {}),
        ),
    ]
