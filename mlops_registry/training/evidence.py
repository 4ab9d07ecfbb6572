"""Compute a trained model's evidence at the end of a training script and register it with the version.

The same library the CLI (``registry register --evidence-from``) and the platform's validation use
(``mlops_registry.core.evidence``)::

    evidence = compute_evidence(read_csv("validation.csv"), spec_for_group(group, label="churned",
                                score="score"), model=model)
    uris = upload_evidence(evidence, bucket="my-artifacts", group="churn-classifier", s3=boto3.client("s3"))
    registration = with_evidence(registration, uris)   # a ModelRegistration
    register_model_package(registration, sagemaker_session=session, risk_rating="medium")

``upload_evidence`` writes the documents under ``evidence/<group>/sha256-<digest>/`` (content-addressed:
re-running a script uploads to the same keys) and returns their S3 URIs by kind.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from mlops_registry.core.evidence.service import Evidence, compute_evidence, evidence_keys, spec_for_group
from mlops_registry.training.registration import ModelRegistration

__all__ = ["compute_evidence", "spec_for_group", "upload_evidence", "with_evidence"]


def upload_evidence(evidence: Evidence, *, bucket: str, group: str, s3: Any) -> dict[str, str]:
    """Put every evidence document in ``bucket``; their ``s3://`` URIs keyed metrics/bias/explainability/baseline."""
    keys = evidence_keys(group, evidence.digest())
    uris: dict[str, str] = {}
    for what, document in evidence.documents().items():
        s3.put_object(
            Bucket=bucket,
            Key=keys[what],
            Body=json.dumps(document, allow_nan=False).encode(),
            ContentType="application/json",
        )
        uris[what] = f"s3://{bucket}/{keys[what]}"
    return uris


def with_evidence(registration: ModelRegistration, uris: dict[str, str]) -> ModelRegistration:
    """``registration`` referencing the uploaded evidence (reports absent from ``uris`` stay as they were)."""
    fields = {
        "metrics": "metrics_report_uri",
        "bias": "bias_report_uri",
        "explainability": "explainability_report_uri",
        "baseline": "baseline_uri",
    }
    changes: dict[str, Any] = {fields[what]: uri for what, uri in uris.items()}
    return replace(registration, **changes)
