"""``registry describe --arn A``: one version, with its lineage data → code → params → job → package → endpoint."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.cli.context import NOT_FOUND_CODES, CliContext
from mlops_registry.cli.errors import EXIT_OK
from mlops_registry.cli.output import render_fields, render_table
from mlops_registry.cli.serving import serving_state
from mlops_registry.core.lineage import (
    MLFLOW_EXPERIMENT_ID,
    MLFLOW_MODEL_NAME,
    MLFLOW_MODEL_VERSION,
    MLFLOW_RUN_ID,
    MLFLOW_TRACKING_URI,
    MODEL_CARD_ARN,
    MODEL_CARD_NAME,
    Lineage,
    lineage_chain,
)
from mlops_registry.core.mlflow_rest import run_link


def add_parsers(subparsers: Any, add_common: Any) -> None:
    parser = subparsers.add_parser("describe", help="everything about one version, including its lineage")
    target = parser.add_argument_group("the version (--arn, or --group with --version)")
    target.add_argument("--arn", help="model package ARN")
    target.add_argument("--group", "-g", help="managed model package group")
    target.add_argument("--version", type=int, help="version number in the group")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(ctx: CliContext) -> int:
    ctx.progress.step("reading the model package")
    view = ctx.resolve_package(ctx.args.arn, ctx.args.group, ctx.args.version)
    sm = ctx.aws.client("sagemaker")
    lineage = Lineage.from_package(view.metadata_properties, view.customer_metadata)

    ctx.progress.step("reading the training job, model card, endpoint and audit ledger")
    training_job = _training_job(sm, lineage.training_job_name)
    card = _card(sm, view.customer_metadata)
    serving = serving_state(sm, ctx.endpoint_name(view.group))
    variant = serving.variant_of(view.arn)
    endpoint = (
        {
            "endpoint_name": serving.endpoint_name,
            "status": serving.status,
            "variant": variant.variant,
            "traffic_share": serving.share(variant),
        }
        if variant
        else None
    )
    pending = ctx.approvals.get(view.arn)
    entries = [e.as_dict() for e in ctx.ledger.history(view.group) if e.version == view.version]
    package = {
        "arn": view.arn,
        "group": view.group,
        "version": view.version,
        "description": view.description,
        "created": view.created,
        "stage": view.stage,
        "stage_status": view.stage_status,
        "approval_status": view.approval_status,
        "approval_description": view.approval_description,
        "last_modified_by": view.last_modified_by,
        "model_data_url": view.model_data_url,
        "image": view.image,
    }
    chain = [
        {"step": step.kind, "value": step.value}
        for step in lineage_chain(lineage, view.arn, {"stage": view.stage, "approval": view.approval_status}, endpoint)
    ]
    data = {
        "package": package,
        "lineage": {**lineage.as_dict(), "training_job_details": training_job},
        "lineage_chain": chain,
        "reports": {
            "metrics": view.metrics_report_uri,
            "bias": view.bias_report_uri,
            "explainability": view.explainability_report_uri,
            "feature_baseline": view.baseline_uri,
        },
        "model_card": card,
        "serving": {**serving.as_dict(), "this_version": endpoint},
        "approval_pending": (
            {"requested_at": pending.requested_at, "execution_arn": pending.execution_arn} if pending else None
        ),
        "ledger": entries,
        "customer_metadata": view.customer_metadata,
        "metadata_properties": view.metadata_properties,
        "mlflow": _mlflow(view.customer_metadata),
    }
    ctx.emit(data, lambda out: _table(data, out))
    return EXIT_OK


def _training_job(sm: Any, name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    try:
        job = sm.describe_training_job(TrainingJobName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] in NOT_FOUND_CODES:
            return {"name": name, "found": False, "note": "recorded on the package; not found in SageMaker"}
        return {"name": name, "found": None, "note": f"not readable ({error.response['Error']['Code']})"}
    return {
        "name": name,
        "found": True,
        "arn": job.get("TrainingJobArn"),
        "status": job.get("TrainingJobStatus"),
        "created": job.get("CreationTime"),
        "image": job.get("AlgorithmSpecification", {}).get("TrainingImage"),
        "output": job.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
    }


def _card(sm: Any, customer_metadata: dict[str, str]) -> dict[str, Any] | None:
    from mlops_registry.core import model_cards  # with the policies' models: loaded when a card is read

    card = customer_metadata.get(MODEL_CARD_NAME) or customer_metadata.get(MODEL_CARD_ARN)
    if not card:
        return None
    try:
        described = model_cards.describe_card(card, sagemaker=sm)
    except ClientError as error:
        if error.response["Error"]["Code"] in NOT_FOUND_CODES:
            return {
                "name": model_cards.card_name_of(card),
                "status": "missing",
                "arn": customer_metadata.get(MODEL_CARD_ARN),
            }
        raise
    return {k: v for k, v in described.items() if k != "content"} | {
        "evaluation": described["content"].get("evaluation_details"),
    }


def _table(data: dict[str, Any], out: Any) -> None:
    package = data["package"]
    render_fields(f"{package['group']} v{package['version']}", list(package.items()), out)
    out.write("\nlineage  " + "  →  ".join(f"{s['step']}: {s['value'] or '-'}" for s in data["lineage_chain"]) + "\n")
    lineage = data["lineage"]
    if lineage["missing"]:
        out.write(f"  incomplete lineage: missing {', '.join(lineage['missing'])}\n")
    job = lineage.get("training_job_details") or {}
    if job:
        out.write(f"  training job {job.get('name')}: {job.get('status') or job.get('note')}\n")
    mlflow = data["mlflow"]
    if mlflow:
        out.write(f"  MLflow run {mlflow['run_id']} (model {mlflow['model_name']} v{mlflow['model_version']}): ")
        out.write(f"{mlflow['run_link']}\n")
    out.write("\n")
    render_fields("reports", list(data["reports"].items()), out)
    card = data["model_card"]
    out.write("\n")
    if card:
        render_fields(
            "model card",
            [
                ("name", card.get("name")),
                ("status", card.get("status")),
                ("risk rating", card.get("risk_rating")),
                ("arn", card.get("arn")),
            ],
            out,
        )
    else:
        out.write("model card: none linked\n")
    serving = data["serving"]
    this = serving.get("this_version")
    out.write(
        f"\nserving  endpoint {serving['endpoint_name']}: {serving['status']}"
        + (f"; this version serves on {this['variant']}" if this else "; this version does not serve")
        + "\n"
    )
    if data["approval_pending"]:
        out.write(f"approval pending since {data['approval_pending']['requested_at']}\n")
    out.write("\n")
    if data["ledger"]:
        render_table(
            data["ledger"],
            [("at", "AT"), ("to_stage", "TO"), ("decision", "DECISION"), ("actor", "ACTOR"), ("reason", "REASON")],
            out,
        )
    else:
        out.write("no ledger entries for this version\n")


def _mlflow(customer_metadata: dict[str, str]) -> dict[str, str] | None:
    """The MLflow run a version was registered from, with a link to it (docs/mlflow.md)."""
    uri, experiment, run_id = (
        customer_metadata.get(k) for k in (MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID, MLFLOW_RUN_ID)
    )
    if not (uri and experiment and run_id):
        return None
    return {
        "tracking_uri": uri,
        "experiment_id": experiment,
        "run_id": run_id,
        "model_name": customer_metadata.get(MLFLOW_MODEL_NAME, "-"),
        "model_version": customer_metadata.get(MLFLOW_MODEL_VERSION, "-"),
        "run_link": run_link(uri, experiment, run_id),
    }
