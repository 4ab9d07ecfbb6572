"""``registry register``: register a version that follows the contract the gates and the drift check read.

Everything is validated before SageMaker is called: first locally (URI shapes, the image's 12-digit
account, the commit hash, hyperparameters as a JSON object, the group managed, the baseline document
when given as a file), then against the account (the group exists, every report is a readable JSON
object, the baseline is valid and covers the group's features, the model artifact exists). Only then
is the model card created (Draft), the package created with the card's ARN in its metadata, and the
card updated with the package's ARN and version.

With ``--evidence-from DATASET`` (a CSV file with the label, the model's outputs, the protected
attributes and the group's features) the CLI computes the evidence itself with the registry's evidence
library (``mlops_registry.core.evidence``): the model-quality statistics, the Clarify bias report, the
explanations (given ``--model-file``) and the feature baseline, uploads them to the artifacts bucket
under ``evidence/<group>/sha256-<digest>/`` and registers them. A report computed this way replaces
the corresponding ``--*-report`` / ``--baseline`` option (giving both is an error).

``--mlflow-run`` and ``--evidence-from`` combine: the run gives the lineage, the hyperparameters, the
model and the model-quality report (its logged metrics); the data set gives what a run does not hold,
the bias report, the explanations (with ``--model-file``) and the feature baseline. The data set's own
quality statistics are then not registered: the version claims what its run logged, and the Staging
validation reproduces that claim on the governed holdout set.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from mlops_registry.cli.context import CliContext
from mlops_registry.cli.errors import EXIT_ERROR, EXIT_OK
from mlops_registry.cli.output import poll_delay, render_fields
from mlops_registry.core.baseline import (
    BaselineFormatError,
    FeatureBaseline,
    baseline_s3_key,
    dumps_feature_baseline,
    read_feature_baseline,
)
from mlops_registry.core.contracts import PENDING_APPROVAL, STAGE_ARCHIVED, STAGE_DEVELOPMENT, STAGE_PRODUCTION
from mlops_registry.core.lineage import (
    S3_URI,
    Lineage,
    ModelArtifacts,
    RegistrationError,
    model_package_request,
    parse_hyperparameters,
    registration_problems,
)
from mlops_registry.core.mlflow_run import (
    RunRegistration,
    client_for,
    metrics_report_uri,
    publish_run,
    read_run,
    tracking_uri_for,
)
from mlops_registry.core.reports import finite_metrics

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
BASELINE_FROM_FILE = "s3://registry-baseline-upload/feature-baseline.json"  # replaced by the upload's URI


def add_parsers(subparsers: Any, add_common: Any) -> None:
    parser = subparsers.add_parser("register", help="register a model version (validated before SageMaker is called)")
    parser.add_argument("--group", "-g", required=True, help="managed model package group")
    what = parser.add_argument_group("the model")
    what.add_argument(
        "--model-data", metavar="S3_URI", help="model artifact (model.tar.gz); from the run with --mlflow-run"
    )
    what.add_argument("--image", required=True, help="inference image URI in ECR")
    what.add_argument(
        "--content-type", action="append", dest="content_types", help="input MIME type (default text/csv)"
    )
    what.add_argument(
        "--response-type", action="append", dest="response_types", help="output MIME type (default text/csv)"
    )
    what.add_argument("--description", help="version description")
    reports = parser.add_argument_group("reports and baseline")
    reports.add_argument(
        "--metrics-report",
        metavar="S3_URI",
        help="model quality statistics (JSON); from the run's metrics with --mlflow-run",
    )
    reports.add_argument("--bias-report", metavar="S3_URI", help="Clarify bias report (JSON)")
    reports.add_argument("--explainability-report", metavar="S3_URI", help="Clarify explainability report")
    baseline = reports.add_mutually_exclusive_group()
    baseline.add_argument("--baseline", metavar="S3_URI", help="feature baseline document already in S3")
    baseline.add_argument(
        "--baseline-file", metavar="PATH", help="local feature baseline JSON, uploaded to the artifacts bucket"
    )
    evidence = parser.add_argument_group(
        "evidence computed locally (instead of the reports above; with --mlflow-run, all but the metrics)"
    )
    evidence.add_argument(
        "--evidence-from", metavar="CSV", help="labelled data set with the model's outputs and facet columns"
    )
    evidence.add_argument("--label", metavar="COLUMN", help="the label column")
    evidence.add_argument("--prediction", metavar="COLUMN", help="predicted label (or value, for regression)")
    evidence.add_argument("--score", metavar="COLUMN", help="probability of the positive label (binary)")
    evidence.add_argument(
        "--problem", choices=("binary", "multiclass", "regression"), default="binary", help="default: binary"
    )
    evidence.add_argument("--positive-label", default="1", help="the positive label value (default 1)")
    evidence.add_argument("--threshold", type=float, default=0.5, help="score threshold (default 0.5)")
    evidence.add_argument(
        "--facet-threshold",
        action="append",
        default=[],
        metavar="ATTRIBUTE=VALUE",
        help="a numeric protected attribute's threshold (sensitive group: values above it)",
    )
    evidence.add_argument("--group-variable", metavar="COLUMN", help="group column for CDDL / CDDPL")
    evidence.add_argument(
        "--model-file", metavar="PATH", help="model (.joblib/.pkl or model.tar.gz) for the explanations"
    )
    evidence.add_argument(
        "--model-features",
        metavar="COLUMN,...",
        help="the model's input columns in order (default: the group's features)",
    )
    evidence.add_argument(
        "--explanation-method", choices=("auto", "shap", "permutation"), default="auto", help="default: auto"
    )
    lineage = parser.add_argument_group("lineage (required; read from the run with --mlflow-run)")
    lineage.add_argument("--training-data", metavar="S3_URI", help="training data URI")
    lineage.add_argument("--repository", help="code repository URL")
    lineage.add_argument("--commit", help="git commit (7-40 hex characters)")
    lineage.add_argument("--hyperparameters", metavar="JSON|@FILE", help="JSON object, or @path to one")
    lineage.add_argument("--training-job", metavar="NAME|ARN", help="SageMaker training job (or the run's tag)")
    tracking = parser.add_argument_group("from an MLflow run (docs/mlflow.md)")
    tracking.add_argument(
        "--mlflow-run", metavar="RUN_ID", help="read params, metrics, git commit, datasets and model from this run"
    )
    tracking.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else the environment's managed tracking server)",
    )
    tracking.add_argument("--mlflow-model", help="MLflow registered model to add the version to (default: the group)")
    card = parser.add_argument_group("model card")
    card.add_argument("--owner", help="model owner")
    card.add_argument("--intended-uses", help="intended uses (default: the group's description)")
    card.add_argument("--problem-type", help="e.g. binary classification")
    card.add_argument("--algorithm-type", help="e.g. gradient boosted trees")
    parser.add_argument(
        "--dry-run", action="store_true", help="validate everything and print the request; create nothing"
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="follow the pipeline, reporting each stage change, until the version awaits the review board "
        "or reaches a final stage (see --until)",
    )
    parser.add_argument(
        "--until",
        choices=("board", "final"),
        default="board",
        help="with --wait: stop when the board is asked (default), or only at a final stage (Production or "
        "Archived, through the board's decision and the deployment)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits at most (default 300)")
    add_common(parser)
    parser.set_defaults(handler=run)


def run(ctx: CliContext) -> int:
    from mlops_registry.core import model_cards  # with the policies' models: only what registers loads them

    args = ctx.args
    group = ctx.group_config(args.group)  # exit 3 for a group this registry does not manage
    run_info = _read_mlflow_run(ctx, args, group) if args.mlflow_run else None
    computed: dict[str, dict[str, Any]] = {}
    if args.evidence_from:
        ctx.progress.step(f"computing the evidence from {args.evidence_from}")
        computed = _compute_evidence(args, group, from_run=run_info is not None)
        _use_computed_evidence(args, computed, ctx.artifacts_bucket, group.name)
    if run_info is None:
        _require_flags(args)
    _require_reports(args)
    ctx.progress.step("validating the registration locally")
    lineage, artifacts, baseline_document = _validate_locally(args, group)
    if "baseline" in computed:
        baseline_document = None  # uploaded with the rest of the evidence

    ctx.progress.step(f"checking the group, reports, baseline and artifact in {ctx.aws.describe_target()}")
    ctx.ensure_group_exists(group.name)
    metrics = _check_remote(
        ctx,
        group,
        artifacts,
        baseline_document is None,
        run_info.metrics_report() if run_info else None,
        skip=set(computed),
    )
    if "metrics" in computed:
        metrics = finite_metrics(computed["metrics"])

    actor = ctx.aws.caller_arn
    baseline_uri = artifacts.baseline_uri
    if baseline_document is not None:
        body = dumps_feature_baseline(baseline_document)
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        baseline_uri = f"s3://{ctx.artifacts_bucket}/{baseline_s3_key(group.name, f'sha256-{digest}')}"
    artifacts = _with_baseline(artifacts, baseline_uri)
    fields = model_cards.ModelCardFields(
        group=group.name,
        description=args.description or group.description,
        model_artifact=artifacts.model_data_url,
        image=artifacts.image,
        lineage=lineage,
        training_job_arn=lineage.training_job_arn(ctx.aws.partition, ctx.aws.region, ctx.aws.account),
        metrics=metrics,
        reports=artifacts.reports(),
        creator=actor,
        owner=args.owner,
        intended_uses=args.intended_uses,
        problem_type=args.problem_type,
        algorithm_type=args.algorithm_type,
        mlflow=_planned_mlflow(run_info, args, group.name),
    )
    card_name = model_cards.card_name_for(group.name, lineage.commit_id)
    request = model_package_request(
        group.name,
        artifacts,
        lineage,
        description=args.description,
        model_card_arn=f"arn:{ctx.aws.partition}:sagemaker:{ctx.aws.region}:{ctx.aws.account}:model-card/{card_name}",
        model_card_name=card_name,
        registered_by=actor,
        extra_customer_metadata=dict(fields.mlflow),
    )
    if args.dry_run:
        ctx.progress.step("dry run: nothing was created")
        data = {
            "dry_run": True,
            "create_model_package": request,
            "evidence_computed": computed,
            "model_card": model_cards.model_card_content(fields, group.risk_rating, group.fairness_waiver),
        }
        ctx.emit(data, lambda out: out.write(json.dumps(data, indent=2, default=str) + "\n"))
        return EXIT_OK

    s3 = ctx.aws.client("s3")
    for what, document in computed.items():
        uri = args.computed_uris[what]
        ctx.progress.step(f"uploading the computed {what} evidence to {uri}")
        bucket, key = _split(uri)
        s3.put_object(
            Bucket=bucket, Key=key, Body=json.dumps(document, allow_nan=False).encode(), ContentType="application/json"
        )
    if baseline_document is not None:
        ctx.progress.step(f"uploading the feature baseline to {baseline_uri}")
        bucket, key = _split(baseline_uri)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=dumps_feature_baseline(baseline_document).encode(),
            ContentType="application/json",
        )

    if run_info is not None:
        model_name = args.mlflow_model or group.name
        ctx.progress.step(
            f"writing the run's metrics to {artifacts.metrics_report_uri}; "
            f"registering the run's model as a version of MLflow model {model_name}"
        )
        metadata = publish_run(
            client_for(run_info.tracking_uri), s3, run_info, artifacts.metrics_report_uri, model_name
        )
        fields = replace(fields, mlflow=metadata)
        request["CustomerMetadataProperties"].update(metadata)

    sm = ctx.aws.client("sagemaker")
    ctx.progress.step(f"creating model card {card_name} (Draft, risk {group.risk_rating})")
    card_arn = model_cards.create_model_card(
        fields, group.risk_rating, card_name=card_name, fairness_waiver=group.fairness_waiver, sagemaker=sm
    )
    request["CustomerMetadataProperties"]["ModelCardArn"] = card_arn
    ctx.progress.step(f"creating the model package in {group.name}")
    try:
        package_arn = str(sm.create_model_package(**request)["ModelPackageArn"])
    except Exception:
        _discard_card(sm, card_name, ctx)
        raise
    version = int(package_arn.rsplit("/", 1)[1])
    ctx.progress.step(f"linking model card {card_name} to version {version}")
    model_cards.attach_package(card_name, package_arn, version, sagemaker=sm)
    data = {
        "package_arn": package_arn,
        "group": group.name,
        "version": version,
        "stage": STAGE_DEVELOPMENT,
        "stage_status": "Registered",
        "approval_status": PENDING_APPROVAL,
        "model_card_arn": card_arn,
        "model_card_status": "Draft",
        "feature_baseline": baseline_uri,
        "evidence_computed": sorted(computed),
        "lineage": lineage.as_dict(),
        "registered_by": actor,
    }
    if run_info is not None:
        data["mlflow"] = {**fields.mlflow, "RunLink": run_info.link}
    code = EXIT_OK
    if args.wait:
        stage, stage_status, settled = _wait_for_pipeline(
            ctx, package_arn, args.timeout, final_only=args.until == "final"
        )
        data.update({"stage": stage, "stage_status": stage_status})
        if not settled:
            code = EXIT_ERROR
    ctx.emit(
        data,
        lambda out: render_fields(
            f"registered {group.name} v{version}; the promotion pipeline evaluates it next",
            [(k, v) for k, v in data.items() if k not in ("group", "version")],
            out,
        ),
    )
    return code


# Where a version stops needing the pipeline: awaiting the board, or a final stage.
SETTLED_STATUSES = ("PendingApproval",)
FINAL_STAGES = (STAGE_PRODUCTION, STAGE_ARCHIVED)


def _wait_for_pipeline(
    ctx: CliContext, package_arn: str, timeout: float, *, final_only: bool = False
) -> tuple[str, str, bool]:
    """(stage, stage status, settled?) once the version awaits the board (unless ``final_only``) or
    reached a final stage; every stage change is reported on stderr as it is seen."""
    started = time.monotonic()
    polls = 0
    while True:
        view = ctx.registry.describe(package_arn)
        stage, status = view.stage or "-", view.stage_status or "-"
        if (status in SETTLED_STATUSES and not final_only) or (stage in FINAL_STAGES and status != "InProgress"):
            ctx.progress.step(f"version {view.version}: {stage} / {status}")
            return stage, status, True
        if time.monotonic() - started >= timeout:
            ctx.progress.warn(f"still {stage} / {status} after {timeout:.0f}s; not waiting any longer")
            return stage, status, False
        ctx.progress.tick(f"waiting for the pipeline ({stage} / {status})", started)
        time.sleep(poll_delay(polls))
        polls += 1


# --- evidence computed locally -----------------------------------------------------------------------
EVIDENCE_OPTIONS = {
    "metrics": "--metrics-report",
    "bias": "--bias-report",
    "explainability": "--explainability-report",
    "baseline": "--baseline",
}


def _compute_evidence(args: Any, group: Any, from_run: bool = False) -> dict[str, dict[str, Any]]:
    """The evidence documents for ``--evidence-from`` (NumPy, scikit-learn and shap load only here).

    With ``--mlflow-run`` (``from_run``) the run's metrics stay the model-quality report: the data set
    adds the bias report, the explanations and the feature baseline, and its quality statistics are
    not registered."""
    from mlops_registry.core.evidence.dataset import read_csv
    from mlops_registry.core.evidence.errors import EvidenceError
    from mlops_registry.core.evidence.service import compute_evidence, load_model, spec_for_group

    problems: list[str] = []
    for option, value in (("--label", args.label), ("--prediction or --score", args.prediction or args.score)):
        if not value:
            problems.append(f"{option}: required with --evidence-from")
    for option, value in EVIDENCE_OPTIONS.items():
        computes = {
            "metrics": not from_run,
            "bias": group.fairness is not None,
            "explainability": bool(args.model_file),
        }
        if option != "baseline" and getattr(args, value[2:].replace("-", "_")) and computes[option]:
            problems.append(f"{value}: give it or --evidence-from, not both (the evidence computes it)")
    if args.baseline or args.baseline_file:
        problems.append("--baseline/--baseline-file: give it or --evidence-from, not both (the evidence computes it)")
    thresholds: dict[str, float] = {}
    for item in args.facet_threshold:
        name, _, value = item.rpartition("=")
        try:
            thresholds[name] = float(value)
        except ValueError:
            problems.append(f"--facet-threshold: {item!r} is not ATTRIBUTE=NUMBER")
    if problems:
        raise RegistrationError(problems)
    try:
        spec = spec_for_group(
            group,
            label=args.label,
            prediction=args.prediction,
            score=args.score,
            problem_type=args.problem,
            positive_label=_positive_label(args.positive_label),
            threshold=args.threshold,
            facet_thresholds=thresholds,
            group_variable=args.group_variable,
            model_features=[c.strip() for c in args.model_features.split(",")] if args.model_features else None,
        )
        model = load_model(args.model_file) if args.model_file else None
        evidence = compute_evidence(
            read_csv(Path(args.evidence_from).expanduser()),
            spec,
            model=model,
            explanation_method=args.explanation_method,
        )
    except (EvidenceError, OSError) as error:
        raise RegistrationError([f"evidence from {args.evidence_from}: {error}"]) from error
    documents = evidence.documents()
    if from_run:
        documents.pop("metrics", None)
    if "bias" not in documents and not args.bias_report:
        raise RegistrationError(
            [f"--bias-report: required for {group.name} (no protected attributes to compute bias evidence for)"]
        )
    args.evidence_digest = evidence.digest()
    return documents


def _positive_label(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _use_computed_evidence(args: Any, computed: dict[str, Any], bucket: str, group: str) -> None:
    from mlops_registry.core.evidence.service import evidence_keys

    keys = evidence_keys(group, args.evidence_digest)
    args.computed_uris = {what: f"s3://{bucket}/{keys[what]}" for what in computed}
    for what, uri in args.computed_uris.items():
        setattr(args, EVIDENCE_OPTIONS[what][2:].replace("-", "_"), uri)


def _require_reports(args: Any) -> None:
    missing = [
        option
        for option in ("--metrics-report", "--bias-report", "--explainability-report")
        if not getattr(args, option[2:].replace("-", "_"))
    ]
    if not (args.baseline or args.baseline_file):
        missing.append("--baseline or --baseline-file")
    if missing:
        raise RegistrationError(
            [
                f"{option}: required (or computed with --evidence-from{' and --model-file' if 'explain' in option else ''})"
                for option in missing
            ]
        )


# --- from an MLflow run ---------------------------------------------------------------------------
FROM_THE_RUN = ("model_data", "metrics_report", "training_data", "repository", "commit", "hyperparameters")
REQUIRED_WITHOUT_RUN = (*FROM_THE_RUN, "training_job")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _require_flags(args: Any) -> None:
    missing = [_flag(name) for name in REQUIRED_WITHOUT_RUN if not getattr(args, name)]
    if missing:
        raise RegistrationError(
            [f"{flag}: required (or register from an MLflow run with --mlflow-run)" for flag in missing]
        )


def _read_mlflow_run(ctx: CliContext, args: Any, group: Any) -> RunRegistration:
    clashing = [_flag(name) for name in FROM_THE_RUN if getattr(args, name)]
    if clashing:
        raise RegistrationError(
            [f"{flag}: comes from the MLflow run; do not pass it with --mlflow-run" for flag in clashing]
        )
    uri = tracking_uri_for(
        args.tracking_uri, ctx.deployment.settings(), ctx.env_name, ctx.aws.partition, ctx.aws.region, ctx.aws.account
    )
    ctx.progress.step(f"reading MLflow run {args.mlflow_run} from {uri}")
    run_info = read_run(client_for(uri), uri, args.mlflow_run, args.training_job)
    args.model_data = run_info.model_data_url
    args.training_data = run_info.training_data_uri
    args.repository = run_info.repository
    args.commit = run_info.commit
    args.hyperparameters = json.dumps(run_info.hyperparameters, sort_keys=True)
    args.training_job = run_info.training_job
    args.metrics_report = metrics_report_uri(ctx.artifacts_bucket, group.name, run_info.run_id)
    return run_info


def _planned_mlflow(run_info: RunRegistration | None, args: Any, group: str) -> dict[str, str]:
    """What the package will record (the MLflow version number is known once it is created)."""
    if run_info is None:
        return {}
    return run_info.customer_metadata(args.mlflow_model or group, "(created at registration)")


# --- validation ----------------------------------------------------------------------------------
def _validate_locally(args: Any, group: Any) -> tuple[Lineage, ModelArtifacts, dict[str, Any] | None]:
    problems: list[str] = []
    hyperparameters: dict[str, Any] = {}
    try:
        hyperparameters = parse_hyperparameters(_maybe_file(args.hyperparameters, "hyperparameters"))
    except RegistrationError as error:
        problems.extend(error.problems)
    lineage = Lineage(
        training_data_uri=args.training_data,
        repository=args.repository,
        commit_id=args.commit,
        hyperparameters=hyperparameters,
        training_job=args.training_job,
    )
    artifacts = ModelArtifacts(
        model_data_url=args.model_data,
        image=args.image,
        metrics_report_uri=args.metrics_report,
        bias_report_uri=args.bias_report,
        explainability_report_uri=args.explainability_report,
        baseline_uri=args.baseline or BASELINE_FROM_FILE,
        content_types=tuple(args.content_types or ("text/csv",)),
        response_types=tuple(args.response_types or ("text/csv",)),
    )
    problems.extend(p for p in registration_problems(group.name, artifacts, lineage) if p not in problems)
    document = None
    if args.baseline_file:
        try:
            text = Path(args.baseline_file).expanduser().read_text()
        except OSError as error:
            problems.append(f"baseline file: cannot read {args.baseline_file} ({error.strerror or error})")
        else:
            try:
                document = json.loads(text)
                problems.extend(_baseline_problems(read_feature_baseline(document), group, args.baseline_file))
            except (ValueError, BaselineFormatError) as error:  # a BaselineFormatError names the field
                problems.append(f"baseline file {args.baseline_file}: {error}")
    if problems:
        raise RegistrationError(problems)
    return lineage, artifacts, document


def _baseline_problems(baseline: FeatureBaseline, group: Any, where: str) -> list[str]:
    missing = [feature for feature in group.features if feature not in baseline.features]
    if missing:
        return [f"feature baseline {where}: no entry for the group's feature(s) {', '.join(missing)}"]
    return []


def _check_remote(
    ctx: CliContext,
    group: Any,
    artifacts: ModelArtifacts,
    check_baseline: bool,
    metrics_document: dict[str, Any] | None = None,
    skip: set[str] | None = None,
) -> dict[str, float]:
    s3 = ctx.aws.client("s3")
    problems: list[str] = []
    metrics: dict[str, float] = {}
    if metrics_document is not None:  # from the MLflow run, written at registration
        metrics = finite_metrics(metrics_document)
        absent = [m.name for m in group.metrics if m.name not in metrics]
        if absent:
            ctx.progress.warn(f"the run logged no {', '.join(absent)}: the metrics gate will deny this version")
    for what, uri in (
        *((("metrics report", artifacts.metrics_report_uri),) if metrics_document is None else ()),
        ("bias report", artifacts.bias_report_uri),
        ("explainability report", artifacts.explainability_report_uri),
    ):
        if what.split()[0] in (skip or set()):
            continue  # computed here: uploaded after every check passed
        document, problem = _read_json(s3, uri, what)
        if problem:
            problems.append(problem)
        elif what == "metrics report" and document is not None:
            metrics = finite_metrics(document)
            absent = [m.name for m in group.metrics if m.name not in metrics]
            if absent:
                ctx.progress.warn(
                    f"the metrics report lacks {', '.join(absent)}: the metrics gate will deny this version"
                )
    if check_baseline and "baseline" not in (skip or set()):
        document, problem = _read_json(s3, artifacts.baseline_uri, "feature baseline")
        if problem:
            problems.append(problem)
        elif document is not None:
            try:
                problems.extend(_baseline_problems(read_feature_baseline(document), group, artifacts.baseline_uri))
            except BaselineFormatError as error:
                problems.append(f"feature baseline {artifacts.baseline_uri}: {error}")
    bucket, key = _split(artifacts.model_data_url)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            problems.append(f"model artifact {artifacts.model_data_url}: no such object")
        else:
            ctx.progress.warn(f"cannot check the model artifact {artifacts.model_data_url} ({code})")
    if problems:
        raise RegistrationError(problems)
    return metrics


def _read_json(s3: Any, uri: str, what: str) -> tuple[Any, str | None]:
    bucket, key = _split(uri)
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
        if int(obj.get("ContentLength", 0)) > MAX_DOCUMENT_BYTES:
            return None, f"{what} {uri}: larger than {MAX_DOCUMENT_BYTES} bytes"
        body = obj["Body"].read()
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound"):
            return None, f"{what} {uri}: no such object"
        return None, f"{what} {uri}: cannot be read ({code})"
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        return None, f"{what} {uri}: not valid JSON ({error})"
    if not isinstance(document, dict):
        return None, f"{what} {uri}: expected a JSON object"
    return document, None


def _maybe_file(value: str, what: str) -> str:
    if value.startswith("@"):
        try:
            return Path(value[1:]).expanduser().read_text()
        except OSError as error:
            raise RegistrationError([f"{what}: cannot read {value[1:]} ({error.strerror or error})"]) from error
    return value


def _split(uri: str) -> tuple[str, str]:
    match = S3_URI.match(uri)
    if not match:  # validated before; kept as a guard
        raise RegistrationError([f"{uri!r} is not an s3://bucket/key URI"])
    return match.group("bucket"), match.group("key")


def _with_baseline(artifacts: ModelArtifacts, uri: str) -> ModelArtifacts:
    from dataclasses import replace

    return replace(artifacts, baseline_uri=uri)


def _discard_card(sm: Any, card_name: str, ctx: CliContext) -> None:
    """The package was not created: delete its card so no orphan Draft card stays behind."""
    try:
        sm.delete_model_card(ModelCardName=card_name)
    except ClientError:
        ctx.progress.warn(f"model card {card_name} was created but the package was not; delete it by hand")
