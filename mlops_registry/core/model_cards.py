"""Model cards (SageMaker Model Card API) for registered versions, advanced with the lifecycle.

At registration the CLI (or the training helper) creates a card in ``Draft`` from the package's
metadata -- overview, intended uses, training details, evaluation results and the group's risk rating
from config -- and the package links to it through ``CustomerMetadataProperties`` (``ModelCardArn``,
``ModelCardName``). Once the package exists, ``attach_package`` records its ARN and version in the card.

The promotion pipeline calls ``advance_model_card(package_arn, stage)`` on every stage change:

    Development → (stays Draft)   Staging → PendingReview   Production → Approved   Archived → Archived

The card never moves backwards (a version archived from Development goes Draft → Archived, and a
repeated call is a no-op), and a package without a card is left alone: a version registered before
cards existed must not fail its promotion.

Content follows the model card JSON schema: ``model_overview``, ``intended_uses``,
``training_details``, ``evaluation_details``, ``additional_information`` (and
``model_package_details`` once attached). Strings are trimmed to the schema's maximum lengths.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.core.arns import PACKAGE_ARN
from mlops_registry.core.aws import client
from mlops_registry.core.config import FairnessWaiver
from mlops_registry.core.contracts import STAGE_ARCHIVED, STAGE_DEVELOPMENT, STAGE_PRODUCTION, STAGE_STAGING
from mlops_registry.core.errors import UnknownPackageError
from mlops_registry.core.lineage import (
    MLFLOW_EXPERIMENT_ID,
    MLFLOW_KEYS,
    MLFLOW_MODEL_NAME,
    MLFLOW_MODEL_VERSION,
    MLFLOW_RUN_ID,
    MLFLOW_TRACKING_URI,
    MODEL_CARD_ARN,
    MODEL_CARD_NAME,
    REGISTERED_BY,
    Lineage,
    PartialLineage,
)
from mlops_registry.core.model_registry import ModelRegistry, PackageView

# Package customer metadata key -> the card's custom detail showing it.
MLFLOW_CARD_DETAILS = {
    MLFLOW_TRACKING_URI: "mlflow_tracking_uri",
    MLFLOW_EXPERIMENT_ID: "mlflow_experiment_id",
    MLFLOW_RUN_ID: "mlflow_run_id",
    MLFLOW_MODEL_NAME: "mlflow_model_name",
    MLFLOW_MODEL_VERSION: "mlflow_model_version",
}
CARD_STATUSES = ("Draft", "PendingReview", "Approved", "Archived")
STATUS_FOR_STAGE = {
    STAGE_DEVELOPMENT: None,
    STAGE_STAGING: "PendingReview",
    STAGE_PRODUCTION: "Approved",
    STAGE_ARCHIVED: "Archived",
}
RISK_RATINGS = {"low": "Low", "medium": "Medium", "high": "High", "unknown": "Unknown"}
CARD_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
CARD_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:\d{12}:model-card/(?P<name>.+)$")
MAX_CUSTOM_DETAIL = 1024
MAX_TEXT = 1024
MAX_LONG_TEXT = 2048
MAX_HYPERPARAMETER_VALUE = 255


@dataclass(frozen=True)
class ModelCardFields:
    """What a card says about one version (all of it known before the package exists)."""

    group: str
    description: str
    model_artifact: str | None = None
    image: str | None = None
    lineage: Lineage | PartialLineage | None = None
    training_job_arn: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    reports: Mapping[str, str] = field(default_factory=dict)
    creator: str | None = None
    owner: str | None = None
    intended_uses: str | None = None
    problem_type: str | None = None
    algorithm_type: str | None = None
    package_arn: str | None = None
    version: int | None = None
    # Where the version was trained: MLflow tracking URI, experiment id, run id, model name and version
    # (``mlops_registry.core.lineage.MLFLOW_KEYS``), for a version registered from an MLflow run.
    mlflow: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def from_package(view: PackageView, metrics: Mapping[str, float] | None = None) -> ModelCardFields:
        """The fields a registered package's own metadata gives (lineage, reports, artifact, image)."""
        reports = {
            "metrics": view.metrics_report_uri,
            "bias": view.bias_report_uri,
            "explainability": view.explainability_report_uri,
            "feature_baseline": view.baseline_uri,
        }
        return ModelCardFields(
            group=view.group,
            description=view.description or f"Model package group {view.group}",
            model_artifact=view.model_data_url,
            image=view.image,
            lineage=Lineage.from_package(view.metadata_properties, view.customer_metadata),
            metrics=dict(metrics or {}),
            reports={name: uri for name, uri in reports.items() if uri},
            creator=view.customer_metadata.get(REGISTERED_BY),
            package_arn=view.arn,
            version=view.version,
            mlflow={k: view.customer_metadata[k] for k in MLFLOW_KEYS if view.customer_metadata.get(k)},
        )


@dataclass(frozen=True)
class CardTransition:
    card_name: str
    from_status: str
    to_status: str
    changed: bool


def card_name_for(group: str, commit_id: str, at: datetime | None = None) -> str:
    """A unique, valid card name: ``<group>-<UTC yyyymmddHHMMSS>-<commit[:7]>-<random>`` (≤ 63 characters).

    The random part keeps two registrations of one commit in the same second apart.
    """
    stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    commit = re.sub(r"[^a-zA-Z0-9]", "", commit_id)[:7] or "nocommit"
    suffix = secrets.token_hex(3)
    name = f"{group[:33].rstrip('-')}-{stamp}-{commit}-{suffix}"
    return name if CARD_NAME.match(name) else f"card-{stamp}-{commit}-{suffix}"


def risk_rating_value(risk_rating: str) -> str:
    try:
        return RISK_RATINGS[risk_rating.lower()]
    except KeyError as error:
        raise ValueError(f"risk rating {risk_rating!r} must be one of {sorted(RISK_RATINGS)}") from error


def model_card_content(
    fields: ModelCardFields, risk_rating: str, fairness_waiver: FairnessWaiver | None = None
) -> dict[str, Any]:
    """The card's content per the model card JSON schema; a fairness waiver is stated as an ethical
    consideration, with its reason and who approved it."""
    rating = risk_rating_value(risk_rating)
    overview: dict[str, Any] = {
        "model_name": fields.group,
        "model_description": _text(fields.description or f"Model package group {fields.group}"),
    }
    if fields.version is not None:
        overview["model_version"] = fields.version
    if fields.creator:
        overview["model_creator"] = _text(fields.creator)
    if fields.owner:
        overview["model_owner"] = _text(fields.owner)
    if fields.problem_type:
        overview["problem_type"] = _text(fields.problem_type)
    if fields.algorithm_type:
        overview["algorithm_type"] = _text(fields.algorithm_type)
    if fields.model_artifact:
        overview["model_artifact"] = [fields.model_artifact]
    if fields.image:
        overview["inference_environment"] = {"container_image": [fields.image]}

    content: dict[str, Any] = {
        "model_overview": overview,
        "intended_uses": {
            "purpose_of_model": _text(fields.description or fields.group, MAX_LONG_TEXT),
            "intended_uses": _text(fields.intended_uses or fields.description or fields.group, MAX_LONG_TEXT),
            "risk_rating": rating,
            "explanations_for_risk_rating": _text(
                f"Risk rating '{risk_rating.lower()}' of model package group {fields.group}, set by the "
                "registry configuration (cdk.json groups[].riskRating).",
                MAX_LONG_TEXT,
            ),
        },
        "training_details": {"training_job_details": _training_job_details(fields)},
        "evaluation_details": _evaluation_details(fields),
        "additional_information": {"custom_details": _custom_details(fields)},
    }
    if fairness_waiver is not None:
        content["additional_information"]["ethical_considerations"] = _text(
            f"Fairness evaluation waived for model package group {fields.group}: {fairness_waiver.reason} "
            f"(approved by {fairness_waiver.approved_by}; registry configuration groups[].fairnessWaiver).",
            MAX_LONG_TEXT,
        )
    if fields.package_arn:
        content["model_package_details"] = _package_details(fields)
    return content


def _training_job_details(fields: ModelCardFields) -> dict[str, Any]:
    details: dict[str, Any] = {}
    lineage = fields.lineage
    if fields.training_job_arn:
        details["training_arn"] = fields.training_job_arn
    if lineage is not None and lineage.training_data_uri:
        details["training_datasets"] = [lineage.training_data_uri]
    if lineage is not None and lineage.hyperparameters:
        details["user_provided_hyper_parameters"] = [
            {"name": str(name)[:255], "value": _hyperparameter_value(value)}
            for name, value in sorted(lineage.hyperparameters.items())
        ][:100]
    return details


def _hyperparameter_value(value: Any) -> str:
    text = value if isinstance(value, str) and value else json.dumps(value, sort_keys=True)
    return text[:MAX_HYPERPARAMETER_VALUE]


def _evaluation_details(fields: ModelCardFields) -> list[dict[str, Any]]:
    if not fields.metrics and not fields.reports.get("metrics"):
        return []
    evaluation: dict[str, Any] = {
        "name": "registration-evaluation",
        "evaluation_observation": _text(
            "Metrics reported at registration; the promotion pipeline's metrics gate compares them with the "
            "group's baselines and the current Production version.",
            2096,
        ),
    }
    if fields.metrics:
        evaluation["metric_groups"] = [
            {
                "name": "model-quality",
                "metric_data": [
                    {"name": name[:255], "type": "number", "value": value}
                    for name, value in sorted(fields.metrics.items())
                ],
            }
        ]
    metadata = {name: uri[:MAX_CUSTOM_DETAIL] for name, uri in fields.reports.items() if uri}
    if metadata:
        evaluation["metadata"] = metadata
    return [evaluation]


def _custom_details(fields: ModelCardFields) -> dict[str, str]:
    details: dict[str, str | None] = {"registry_group": fields.group}
    lineage = fields.lineage
    if lineage is not None:
        details.update(
            {
                "training_data_uri": lineage.training_data_uri,
                "code_repository": lineage.repository,
                "code_commit": lineage.commit_id,
                "training_job": lineage.training_job,
            }
        )
    for name, uri in fields.reports.items():
        details[name if name.endswith("baseline") else f"{name}_report"] = uri
    if fields.package_arn:
        details["model_package_arn"] = fields.package_arn
    for key, detail in MLFLOW_CARD_DETAILS.items():
        details[detail] = fields.mlflow.get(key)
    return {key: str(value)[:MAX_CUSTOM_DETAIL] for key, value in details.items() if value}


def _package_details(fields: ModelCardFields) -> dict[str, Any]:
    details: dict[str, Any] = {"model_package_arn": fields.package_arn, "model_package_group_name": fields.group}
    if fields.version is not None:
        details["model_package_version"] = fields.version
    return details


def _text(value: str, limit: int = MAX_TEXT) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- API ----------------------------------------------------------------------------------------
def create_model_card(
    fields: ModelCardFields,
    risk_rating: str,
    *,
    card_name: str | None = None,
    fairness_waiver: FairnessWaiver | None = None,
    sagemaker: Any | None = None,
) -> str:
    """Create the version's card in ``Draft``; returns its ARN."""
    name = card_name or card_name_for(fields.group, (fields.lineage.commit_id or "") if fields.lineage else "")
    if not CARD_NAME.match(name):
        raise ValueError(f"model card name {name!r} is not valid (1-63 alphanumerics and hyphens)")
    content = model_card_content(fields, risk_rating, fairness_waiver)
    response = (sagemaker or client("sagemaker")).create_model_card(
        ModelCardName=name,
        Content=json.dumps(content, sort_keys=True),
        ModelCardStatus="Draft",
        Tags=[{"Key": "registry-group", "Value": fields.group}],
    )
    return str(response["ModelCardArn"])


def attach_package(card: str, package_arn: str, version: int, *, sagemaker: Any | None = None) -> dict[str, Any] | None:
    """Record the package ARN and version in a Draft card (no-op when the card moved on already)."""
    sm = sagemaker or client("sagemaker")
    name = card_name_of(card)
    description = sm.describe_model_card(ModelCardName=name)
    if description.get("ModelCardStatus") != "Draft":
        return None
    content = _content_of(description)
    content.setdefault("model_overview", {})["model_version"] = version
    match = PACKAGE_ARN.match(package_arn)
    group = match.group("group") if match else str(content.get("model_overview", {}).get("model_name", ""))
    content["model_package_details"] = {
        "model_package_arn": package_arn,
        "model_package_group_name": group,
        "model_package_version": version,
    }
    custom = content.setdefault("additional_information", {}).setdefault("custom_details", {})
    custom["model_package_arn"] = package_arn[:MAX_CUSTOM_DETAIL]
    sm.update_model_card(ModelCardName=name, Content=json.dumps(content, sort_keys=True), ModelCardStatus="Draft")
    return content


def package_card_name(group: str, version: int) -> str:
    """The deterministic card name of a package whose card the pipeline creates (``ensure_model_card``)."""
    return f"{group[:52].rstrip('-')}-v{version}"


def ensure_model_card(
    package_arn: str,
    risk_rating: str,
    *,
    metrics: Mapping[str, float] | None = None,
    fairness_waiver: FairnessWaiver | None = None,
    sagemaker: Any | None = None,
) -> str:
    """The card a package links to, created (from the package's metadata) and linked when it has none.

    For versions registered without the CLI (a SageMaker pipeline step, Studio): the promotion
    pipeline can call it when a version enters Development. Idempotent: the card name is derived from
    the package, a retry finds the card it created and only links it.
    """
    sm = sagemaker or client("sagemaker")
    view = ModelRegistry(sm).describe(package_arn)
    linked = view.customer_metadata.get(MODEL_CARD_ARN)
    if linked:
        return linked
    name = package_card_name(view.group, view.version)
    try:
        arn = str(sm.describe_model_card(ModelCardName=name)["ModelCardArn"])
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ResourceNotFound", "ValidationException"):
            raise
        arn = create_model_card(
            ModelCardFields.from_package(view, metrics),
            risk_rating,
            card_name=name,
            fairness_waiver=fairness_waiver,
            sagemaker=sm,
        )
    sm.update_model_package(
        ModelPackageArn=view.arn, CustomerMetadataProperties={MODEL_CARD_ARN: arn, MODEL_CARD_NAME: name}
    )
    return arn


def card_name_of(card: str) -> str:
    match = CARD_ARN.match(card)
    return match.group("name") if match else card


def card_of_package(package_arn: str, *, sagemaker: Any | None = None) -> str | None:
    """The card name a package links to, or ``None`` when it has none."""
    sm = sagemaker or client("sagemaker")
    try:
        description = sm.describe_model_package(ModelPackageName=package_arn)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
            raise UnknownPackageError(f"model package {package_arn} does not exist") from error
        raise
    custom = description.get("CustomerMetadataProperties") or {}
    card = custom.get(MODEL_CARD_NAME) or custom.get(MODEL_CARD_ARN)
    return card_name_of(card) if card else None


def advance_model_card(
    package_arn_or_card_name: str, stage: str, *, sagemaker: Any | None = None
) -> CardTransition | None:
    """Move the card to the status of ``stage``; idempotent, never backwards.

    Returns ``None`` when there is nothing to do for the stage or the package has no card; otherwise
    the transition (``changed`` is ``False`` when the card already was at or past the target).
    """
    if stage not in STATUS_FOR_STAGE:
        raise ValueError(f"stage {stage!r} must be one of {list(STATUS_FOR_STAGE)}")
    target = STATUS_FOR_STAGE[stage]
    if target is None:
        return None
    sm = sagemaker or client("sagemaker")
    if PACKAGE_ARN.match(package_arn_or_card_name):
        name = card_of_package(package_arn_or_card_name, sagemaker=sm)
        if name is None:
            return None
    else:
        name = card_name_of(package_arn_or_card_name)
    description = sm.describe_model_card(ModelCardName=name)
    current = str(description.get("ModelCardStatus", "Draft"))
    rank = {status: index for index, status in enumerate(CARD_STATUSES)}
    if rank.get(current, 0) >= rank[target]:
        return CardTransition(name, current, current, changed=False)
    # Content is sent unchanged with the status (an update without content must not blank the card).
    sm.update_model_card(
        ModelCardName=name, Content=json.dumps(_content_of(description), sort_keys=True), ModelCardStatus=target
    )
    return CardTransition(name, current, target, changed=True)


def describe_card(card: str, *, sagemaker: Any | None = None) -> dict[str, Any]:
    """Name, ARN, status, version and parsed content of a card (for ``registry describe``)."""
    sm = sagemaker or client("sagemaker")
    description = sm.describe_model_card(ModelCardName=card_name_of(card))
    return {
        "name": description.get("ModelCardName"),
        "arn": description.get("ModelCardArn"),
        "status": description.get("ModelCardStatus"),
        "version": description.get("ModelCardVersion"),
        "risk_rating": _content_of(description).get("intended_uses", {}).get("risk_rating"),
        "content": _content_of(description),
    }


def _content_of(description: Mapping[str, Any]) -> dict[str, Any]:
    raw = description.get("Content")
    if not raw:
        return {}
    try:
        content = json.loads(raw)
    except ValueError:
        return {}
    return content if isinstance(content, dict) else {}


PLATFORM_EVALUATION = "platform-holdout-validation"


def record_evaluation(
    package_arn: str,
    observation: str,
    datasets: list[str],
    metrics: Mapping[str, float],
    documents: Mapping[str, str],
    *,
    sagemaker: Any | None = None,
) -> str | None:
    """Add (or replace) the platform's holdout evaluation in the package's card: the data set, the
    reproduced metrics and the URI of every evidence document. ``None`` when the package has no card.
    The card's status is left as it is (the content is sent with it)."""
    sm = sagemaker or client("sagemaker")
    name = card_of_package(package_arn, sagemaker=sm)
    if name is None:
        return None
    description = sm.describe_model_card(ModelCardName=name)
    content = _content_of(description)
    evaluation: dict[str, Any] = {
        "name": PLATFORM_EVALUATION,
        "evaluation_observation": _text(observation, 2096),
        "datasets": [uri[:1024] for uri in datasets],
        "metadata": {what: uri[:MAX_CUSTOM_DETAIL] for what, uri in sorted(documents.items())},
    }
    if metrics:
        evaluation["metric_groups"] = [
            {
                "name": "holdout-model-quality",
                "metric_data": [
                    {"name": metric[:255], "type": "number", "value": value}
                    for metric, value in sorted(metrics.items())
                ],
            }
        ]
    others = [e for e in content.get("evaluation_details", []) if e.get("name") != PLATFORM_EVALUATION]
    content["evaluation_details"] = [*others, evaluation]
    sm.update_model_card(
        ModelCardName=name,
        Content=json.dumps(content, sort_keys=True),
        ModelCardStatus=str(description.get("ModelCardStatus", "Draft")),
    )
    return name
