"""Staging validates on the governed holdout set: Batch Transform with the model's own container, the
platform's own evidence, the self-reported metrics cross-checked.

Expected values come from scikit-learn run on the same model and holdout, never from the library.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from offline.harness import PipelineHarness, board_member
from offline.samples import sample_model

GROUP = "churn-classifier"
ALICE = board_member("alice")


def _holdout(harness: PipelineHarness, group: str = GROUP) -> dict[str, list[str]]:
    policy = harness.policies[group]
    body = harness.s3.get_object(Bucket=harness.artifacts_bucket, Key=policy.validation.holdout.key)["Body"].read()
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    return {name: [row[name] for row in rows] for name in rows[0]}


def _features(harness: PipelineHarness, columns: dict[str, list[str]], group: str = GROUP) -> np.ndarray:
    return np.column_stack([np.asarray(columns[f], dtype=float) for f in harness.policies[group].features])


def _read(harness: PipelineHarness, uri: str) -> Any:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return json.loads(harness.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _run(
    harness: PipelineHarness, reports: dict[str, Any], tag: str, model: str = "honest"
) -> tuple[Any, dict[str, Any]]:
    registration = harness.register_version(GROUP, tag=tag, model=model, **reports)
    outcome = harness.announce(registration)
    assert outcome.get("action") == "started", outcome
    return registration, outcome


def test_reproduced_claims_pass_and_the_platform_evidence_is_stored_and_referenced(harness: PipelineHarness) -> None:
    # Given a real model whose registrant reports what its own evaluation measured
    policy = harness.policies[GROUP]
    model = sample_model(policy)
    registration, outcome = _run(harness, model.reports, "v1")
    # When it goes through Staging and the board approves
    assert harness.pending_approval(registration.package_arn)
    harness.approve_with_cli(registration.package_arn, ALICE, "v1 reviewed")
    result = harness.wait(outcome["execution_arn"])
    assert result["status"] == "SUCCEEDED", result
    states = harness.states_entered(outcome["execution_arn"])
    assert states.index("EnterStaging") < states.index("StartValidation") < states.index("BiasGate")
    # Then the ledger's Production entry carries the platform's verdict and its documents
    production = harness.ledger().history(GROUP)[-1]
    validation = production.evidence["gates"]["validation"]
    assert validation["passed"] is True
    documents = validation["evidence"]["documents"]
    assert documents["holdout"].endswith(policy.validation.holdout.key)
    # and the bias and explainability gates judged the platform's documents, not the registrant's
    assert production.evidence["gates"]["bias"]["evidence"]["report"] == documents["bias"]
    assert production.evidence["gates"]["explainability"]["evidence"]["report"] == documents["explainability"]
    # The stored evidence agrees with scikit-learn on the same model and holdout
    columns = _holdout(harness)
    x = _features(harness, columns)
    y = np.asarray(columns["churned"], dtype=float)
    scores = model.estimator.predict_proba(x)[:, 1]
    statistics = _read(harness, documents["metrics"])["binary_classification_metrics"]
    assert statistics["auc"]["value"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert validation["evidence"]["metrics"]["auc"]["holdout"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    # Clarify's DPPL (published formula): q_a' - q_d', predicted-positive rates of the rest and the facet
    predicted = scores >= 0.5
    gender = np.asarray(columns["gender"])
    expected_dppl = predicted[gender != "F"].mean() - predicted[gender == "F"].mean()
    post = _read(harness, documents["bias"])["post_training_bias_metrics"]["facets"]["gender"]
    dppl = {f["value_or_threshold"]: m["value"] for f in post for m in f["metrics"] if m["name"] == "DPPL"}
    assert dppl["F"] == pytest.approx(expected_dppl, abs=1e-12)
    # Permutation importance from the transform's outputs = scikit-learn's, same rows, repeats and seed
    explained = _read(harness, documents["explainability"])["explanations"]["permutation_importance"]["label0"]
    reference = permutation_importance(
        model.estimator, x[:500], y[:500], scoring="neg_brier_score", n_repeats=3, random_state=0
    )
    for index, feature in enumerate(policy.features):
        assert explained["global_shap_values"][feature] == pytest.approx(reference.importances_mean[index], abs=1e-12)
    # The model card lists the evaluation with every document; the transient model is gone
    card = harness.sm.describe_model_card(
        ModelCardName=harness.package(registration.package_arn)["CustomerMetadataProperties"]["ModelCardName"]
    )
    evaluations = {e["name"]: e for e in json.loads(card["Content"])["evaluation_details"]}
    assert evaluations["platform-holdout-validation"]["metadata"]["bias"] == documents["bias"]
    assert evaluations["platform-holdout-validation"]["datasets"] == [documents["holdout"]]
    assert not [m for m in harness.sm.list_models()["Models"] if m["ModelName"].startswith("val-")]


def test_a_self_reported_metric_not_reproduced_is_denied_with_both_numbers(harness: PipelineHarness) -> None:
    # Given a registrant who claims a better AUC than the model has (it passes the Development gate)
    model = sample_model(harness.policies[GROUP])
    reports = json.loads(json.dumps(model.reports))
    reports["metrics"]["binary_classification_metrics"]["auc"]["value"] = 0.95
    registration, outcome = _run(harness, reports, "overclaimed")
    # When Staging validates it on the holdout set
    result = harness.wait(outcome["execution_arn"])
    # Then it is rejected, and the ledger's reason names the claim and the reproduced value
    assert result["status"] == "SUCCEEDED"
    assert "VersionRejected" in harness.states_entered(outcome["execution_arn"])
    columns = _holdout(harness)
    actual = roc_auc_score(
        np.asarray(columns["churned"], dtype=float), model.estimator.predict_proba(_features(harness, columns))[:, 1]
    )
    rejected = harness.ledger().history(GROUP)[-1]
    assert rejected.decision == "rejected"
    assert f"self-reported auc 0.95 not reproduced: {actual:.4g} on the holdout set" in rejected.reason
    assert rejected.reason.startswith("validation gate denied: ")
    assert harness.package(registration.package_arn)["ModelLifeCycle"]["Stage"] == "Archived"


def test_a_model_that_discriminates_is_denied_on_the_platform_bias_evidence(harness: PipelineHarness) -> None:
    # Given a model that learned a proxy of gender, whose registrant reports an honest model's fair bias
    policy = harness.policies[GROUP]
    honest = sample_model(policy)
    proxy = sample_model(policy, "proxy")
    reports = {**proxy.reports, "bias": honest.reports["bias"]}
    _, outcome = _run(harness, reports, "proxy", model="proxy")
    harness.wait(outcome["execution_arn"])
    # Then the bias gate denies it on the bias the platform computed on the holdout set
    rejected = harness.ledger().history(GROUP)[-1]
    assert rejected.reason.startswith("bias gate denied: gender=")
    bias_gate = rejected.evidence["gates"]["bias"]["evidence"]
    assert bias_gate["report"] == rejected.evidence["gates"]["validation"]["evidence"]["documents"]["bias"]


def _assert_recorded_failure(harness: PipelineHarness, outcome: dict[str, Any], error: str, detail: str) -> None:
    result = harness.wait(outcome["execution_arn"])
    assert result["status"] == "FAILED"
    states = harness.states_entered(outcome["execution_arn"])
    assert "RecordFailure" in states and "BiasGate" not in states
    failed = harness.ledger().history(GROUP)[-1]
    assert failed.decision == "failed"
    assert failed.reason.startswith(f"{error}: ") and detail in failed.reason
    assert any(n.get("decision") == "failed" for n in harness.notifications())
    assert not [m for m in harness.sm.list_models()["Models"] if m["ModelName"].startswith("val-")]


def test_a_failed_transform_job_is_a_recorded_failure_not_a_pass(harness: PipelineHarness) -> None:
    harness.fail_next_job("transform", "fail", "ClientError: the container exited with code 1")
    _, outcome = _run(harness, sample_model(harness.policies[GROUP]).reports, "broken")
    _assert_recorded_failure(harness, outcome, "ValidationJobFailed", "the container exited with code 1")


def test_a_transform_job_past_the_timeout_is_stopped_and_recorded(harness: PipelineHarness) -> None:
    # Given a transform job that never ends, and the group's timeout passing while it runs
    harness.fail_next_job("transform", "hang")
    minutes = harness.policies[GROUP].validation.timeout_minutes

    def later(payload: dict[str, Any]) -> None:
        moment = datetime.fromisoformat(payload["now"].replace("Z", "+00:00")).astimezone(UTC)
        payload["now"] = (moment + timedelta(minutes=minutes + 1)).isoformat()

    harness.on_invoke("ValidationFunction", "poll", later)
    _, outcome = _run(harness, sample_model(harness.policies[GROUP]).reports, "slow")
    # Then the job is stopped and the failure recorded (never a pass)
    _assert_recorded_failure(harness, outcome, "ValidationTimedOut", f"validation.timeoutMinutes={minutes}")
    jobs = harness.sm.list_transform_jobs()["TransformJobSummaries"]
    assert [j["TransformJobStatus"] for j in jobs] == ["Stopped"]


def test_a_holdout_above_the_function_budget_is_processed_by_sagemaker_processing(harness: PipelineHarness) -> None:
    # Given a holdout larger than what the validation function may process
    size = harness.s3.head_object(Bucket=harness.artifacts_bucket, Key=harness.policies[GROUP].validation.holdout.key)[
        "ContentLength"
    ]
    harness.set_validation_budget(size - 1)
    model = sample_model(harness.policies[GROUP])
    registration, outcome = _run(harness, model.reports, "large")
    assert harness.pending_approval(registration.package_arn)
    harness.approve_with_cli(registration.package_arn, ALICE, "large reviewed")
    assert harness.wait(outcome["execution_arn"])["status"] == "SUCCEEDED"
    # Then two Processing jobs (prepare, evidence) ran the library around the transform
    jobs = sorted(
        j["ProcessingJobName"].split("-", 1)[0] for j in harness.sm.list_processing_jobs()["ProcessingJobSummaries"]
    )
    assert jobs == ["eval", "prep"]
    validation = harness.ledger().history(GROUP)[-1].evidence["gates"]["validation"]["evidence"]
    assert validation["path"] == "processing"
    # and the evidence is the same as scikit-learn's on the same model and holdout
    columns = _holdout(harness)
    scores = model.estimator.predict_proba(_features(harness, columns))[:, 1]
    statistics = _read(harness, validation["documents"]["metrics"])["binary_classification_metrics"]
    assert statistics["auc"]["value"] == pytest.approx(
        roc_auc_score(np.asarray(columns["churned"], dtype=float), scores), abs=1e-12
    )
    states = harness.states_entered(outcome["execution_arn"])
    assert states.count("PollValidation") == 3 and states.count("WaitForValidation") == 3


def test_a_missing_model_artifact_fails_the_job_and_is_recorded(harness: PipelineHarness) -> None:
    # Given a package whose ModelDataUrl names no object: the container cannot load the model
    reports = sample_model(harness.policies[GROUP]).reports
    registration = harness.register_version(GROUP, tag="no-data", model=None, **reports)
    outcome = harness.announce(registration)
    _assert_recorded_failure(harness, outcome, "ValidationJobFailed", "transform job")


def test_platform_evidence_that_disappears_before_its_gate_is_a_denial(harness: PipelineHarness) -> None:
    # Given the platform's explanations deleted between the validation and the explainability gate
    deleted: list[str] = []

    def remove(payload: dict[str, Any]) -> None:
        uri = payload["state"]["gates"]["validation"]["evidence"]["documents"]["explainability"]
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        harness.s3.delete_object(Bucket=bucket, Key=key)
        deleted.append(uri)

    harness.on_invoke("ExplainabilityGateFunction", "gate", remove)
    _, outcome = _run(harness, sample_model(harness.policies[GROUP]).reports, "tampered")
    harness.wait(outcome["execution_arn"])
    # Then the gate fails closed on the missing document, naming it
    rejected = harness.ledger().history(GROUP)[-1]
    assert rejected.decision == "rejected"
    assert rejected.reason.startswith("explainability gate denied: platform explainability report ")
    assert deleted and deleted[0] in rejected.reason


def test_an_unusable_holdout_is_a_recorded_failure_naming_the_missing_column(harness: PipelineHarness) -> None:
    # Given the platform's holdout set without one of the group's protected attributes
    columns = _holdout(harness)
    del columns["age_band"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values(), strict=True))
    harness.put_holdout(GROUP, buffer.getvalue().encode())
    # When a version enters Staging, Then no job starts and the platform's fault is recorded
    _, outcome = _run(harness, sample_model(harness.policies[GROUP]).reports, "bad-holdout")
    _assert_recorded_failure(harness, outcome, "HoldoutUnusable", "'age_band'")
    assert harness.sm.list_transform_jobs()["TransformJobSummaries"] == []
