"""The lifecycle, mirrored into a real MLflow server by the pipeline, read back with the MLflow client.

The harness points the lifecycle function at the run's local ``mlflow server`` (offline/mlflow_server.py)
while its IAM is judged against the template's tracking server (``sagemaker-mlflow:*`` on its ARN).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mlops_registry.core.lineage import (
    MLFLOW_EXPERIMENT_ID,
    MLFLOW_MODEL_NAME,
    MLFLOW_MODEL_VERSION,
    MLFLOW_RUN_ID,
    MLFLOW_TRACKING_URI,
)
from offline.harness import PipelineHarness, Registration, board_member, ranker_reports
from offline.samples import churn_reports

pytestmark = pytest.mark.mlflow  # imports the MLflow library: one worker runs these (tests/conftest.py)

ALICE = board_member("alice")
BOB = board_member("bob")


@pytest.fixture
def mlflow_harness(synthesized: Any, mlflow_url: str) -> Iterator[PipelineHarness]:
    with PipelineHarness(synthesized.outdir, synthesized.templates, mlflow_url=mlflow_url) as running:
        yield running


def _logged_version(url: str, model: str, tag: str) -> dict[str, str]:
    """A real run on the server and a registered model version made from it; the package metadata
    ``registry register --mlflow-run`` records for it."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url)
    experiment = client.get_experiment_by_name(model)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(model)
    run = client.create_run(experiment_id, tags={"mlflow.runName": tag})
    client.log_param(run.info.run_id, "max_depth", "6")
    client.set_terminated(run.info.run_id)
    if not client.search_registered_models(filter_string=f"name = '{model}'"):
        client.create_registered_model(model)
    version = client.create_model_version(model, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    return {
        MLFLOW_TRACKING_URI: url,
        MLFLOW_EXPERIMENT_ID: experiment_id,
        MLFLOW_RUN_ID: run.info.run_id,
        MLFLOW_MODEL_NAME: model,
        MLFLOW_MODEL_VERSION: str(version.version),
    }


def _promote(
    harness: PipelineHarness, group: str, tag: str, approver: str, reports: dict[str, Any], meta: dict[str, str]
) -> tuple[Registration, dict[str, Any]]:
    registration = harness.register_version(group, tag=tag, customer_metadata=meta, **reports)
    outcome = harness.announce(registration)
    assert outcome.get("action") == "started", outcome
    assert harness.pending_approval(registration.package_arn)
    harness.approve_with_cli(registration.package_arn, approver, f"{tag} reviewed")
    return registration, harness.wait(outcome["execution_arn"])


def _entry_id(harness: PipelineHarness, group: str, version: int, transition: str) -> str:
    entries = [e for e in harness.ledger().history(group) if e.version == version and e.transition == transition]
    assert len(entries) == 1, entries
    return entries[0].entry_id


def test_production_sets_champion_and_archiving_removes_it(mlflow_harness: PipelineHarness, mlflow_url: str) -> None:
    from mlflow.tracking import MlflowClient

    # Given two versions of churn-classifier registered from real MLflow runs
    group, model = "churn-classifier", f"churn-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(tracking_uri=mlflow_url)
    first_meta = _logged_version(mlflow_url, model, "v1")
    second_meta = _logged_version(mlflow_url, model, "v2")
    # When the first is promoted to Production
    first, result = _promote(mlflow_harness, group, "v1", ALICE, churn_reports(), first_meta)
    assert result["status"] == "SUCCEEDED", result
    # Then MLflow shows it as the champion, approved by Alice, with the ledger entry of the change
    assert client.get_registered_model(model).aliases == {"champion": first_meta[MLFLOW_MODEL_VERSION]}
    tags = client.get_model_version(model, first_meta[MLFLOW_MODEL_VERSION]).tags
    assert tags["stage"] == "Production"
    assert tags["approved_by"] == ALICE
    assert tags["ledger_entry"] == _entry_id(mlflow_harness, group, first.version, "to-production")

    # When the second replaces it
    second, result = _promote(mlflow_harness, group, "v2", BOB, churn_reports(auc=0.87), second_meta)
    assert result["status"] == "SUCCEEDED", result
    # Then the champion alias moved, and the archived version lost every alias
    assert client.get_registered_model(model).aliases == {"champion": second_meta[MLFLOW_MODEL_VERSION]}
    archived = client.get_model_version(model, first_meta[MLFLOW_MODEL_VERSION])
    assert archived.tags["stage"] == "Archived"
    assert archived.aliases == []
    assert archived.tags["ledger_entry"] == _entry_id(mlflow_harness, group, first.version, "archived")
    assert client.get_model_version(model, second_meta[MLFLOW_MODEL_VERSION]).tags["approved_by"] == BOB
    # And no mirror failure was recorded
    assert not [e for e in mlflow_harness.ledger().history(group) if e.transition == "mlflow-mirror-failed"]
    # And the IAM proof judged each MLflow REST call as its sagemaker-mlflow action on the tracking server
    mlflow_calls = {
        (c.action, c.resource) for c in mlflow_harness.iam.calls if c.action.startswith("sagemaker-mlflow:")
    }
    server = mlflow_harness.mlflow_configured_uri
    assert server == "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/mlops-registry-dev-mlflow"
    assert {action for action, _ in mlflow_calls} == {
        "sagemaker-mlflow:SetModelVersionTag",
        "sagemaker-mlflow:SetRegisteredModelAlias",
        "sagemaker-mlflow:GetRegisteredModel",
    }  # the champion alias moved to v2 by reassignment: nothing to delete
    assert {resource for _, resource in mlflow_calls} == {server}
    # Without the mirror's statement, exactly those calls would be denied
    stripped = {
        principal: [st for st in statements if st.get("Sid") != "MirrorLifecycleIntoMlflow"]
        for principal, statements in mlflow_harness.role_policies.items()
    }
    denied = {v.call.action for v in mlflow_harness.iam_proof(stripped).denied}
    assert denied == {action for action, _ in mlflow_calls}


def test_ab_test_challenger_alias_then_archived_loser_loses_it(
    mlflow_harness: PipelineHarness, mlflow_url: str
) -> None:
    from mlflow.tracking import MlflowClient

    group, model = "recommender-ranker", f"ranker-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(tracking_uri=mlflow_url)
    champion_meta = _logged_version(mlflow_url, model, "v1")
    challenger_meta = _logged_version(mlflow_url, model, "v2")
    _, result = _promote(mlflow_harness, group, "v1", ALICE, ranker_reports(), champion_meta)
    assert result["status"] == "SUCCEEDED", result
    seen_during_test: list[dict[str, str]] = []

    def during_evaluation(payload: dict[str, Any]) -> None:
        seen_during_test.append(dict(client.get_registered_model(model).aliases))
        mlflow_harness.publish_variant_metrics(
            group,
            {
                "Champion": {"invocations": 4000, "successes": 480},
                "Challenger": {"invocations": 1000, "successes": 60},
            },
            "Conversions",
        )

    mlflow_harness.on_invoke("DeploymentFunction", "evaluate", during_evaluation)
    loser, result = _promote(mlflow_harness, group, "v2", BOB, ranker_reports(ndcg=0.37), challenger_meta)
    assert result["status"] == "SUCCEEDED", result
    # During the A/B test MLflow showed both the champion and the challenger
    assert seen_during_test[0] == {
        "champion": champion_meta[MLFLOW_MODEL_VERSION],
        "challenger": challenger_meta[MLFLOW_MODEL_VERSION],
    }
    # After losing, the challenger is Archived without aliases; the champion keeps its alias
    assert client.get_registered_model(model).aliases == {"champion": champion_meta[MLFLOW_MODEL_VERSION]}
    archived = client.get_model_version(model, challenger_meta[MLFLOW_MODEL_VERSION])
    assert archived.tags["stage"] == "Archived" and archived.aliases == []
    assert archived.tags["ledger_entry"] == _entry_id(mlflow_harness, group, loser.version, "ab-test-lost")
    removed = {
        c.resource for c in mlflow_harness.iam.calls if c.action == "sagemaker-mlflow:DeleteRegisteredModelAlias"
    }
    assert removed == {mlflow_harness.mlflow_configured_uri}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # released on close: nothing listens there


def test_mlflow_unreachable_promotion_completes_failure_recorded_and_notified(synthesized: Any) -> None:
    # Given an MLflow that cannot be reached
    dead = f"http://127.0.0.1:{_closed_port()}"
    meta = {
        MLFLOW_TRACKING_URI: dead,
        MLFLOW_EXPERIMENT_ID: "1",
        MLFLOW_RUN_ID: "0" * 32,
        MLFLOW_MODEL_NAME: "churn",
        MLFLOW_MODEL_VERSION: "1",
    }
    with PipelineHarness(synthesized.outdir, synthesized.templates, mlflow_url=dead) as harness:
        # When a version registered from a run is promoted
        registration, result = _promote(harness, "churn-classifier", "v1", ALICE, churn_reports(), meta)
        # Then the promotion completes
        assert result["status"] == "SUCCEEDED", result
        assert harness.package(registration.package_arn)["ModelLifeCycle"]["Stage"] == "Production"
        # And every stage change MLflow missed is in the ledger, after the stage change it concerns
        entries = harness.ledger().history("churn-classifier")
        failed = [e for e in entries if e.transition == "mlflow-mirror-failed"]
        assert [e.evidence["stage"] for e in failed] == ["Development", "Staging", "Production"]
        assert all("unreachable" in e.reason and dead in e.reason for e in failed)
        production = next(e for e in entries if e.transition == "to-production")
        assert failed[-1].evidence["ledger_entry"] == production.entry_id
        # And it was notified
        notes = [n for n in harness.notifications() if "MLflow not updated" in str(n.get("reason"))]
        assert len(notes) == 3
