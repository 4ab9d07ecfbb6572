"""The Staging verdict on the platform's metrics: baselines on the holdout set, claims cross-checked."""

from __future__ import annotations

from typing import Any

from promotion.state import PromotionState
from promotion.validation import cross_check, job_name

from infra.config import load_config
from tests.conftest import cdk_context


def _verdict(group: str, claimed: dict[str, Any], reproduced: dict[str, Any]) -> Any:
    policy = load_config(cdk_context(), "dev").group(group)
    return cross_check(policy, claimed, reproduced, {"metrics": {}})


def test_claims_within_the_tolerance_pass_and_unreproducible_metrics_are_recorded() -> None:
    # churn: tolerance 0.03 (defaults); log_loss is not a metric the platform computes
    verdict = _verdict("churn-classifier", {"auc": 0.90, "f1": 0.65, "log_loss": 0.40}, {"auc": 0.875, "f1": 0.66})
    assert verdict.passed, verdict.reasons
    assert verdict.evidence["metrics"]["log_loss"]["verdict"] == "not_computed_on_holdout"
    assert verdict.evidence["metrics"]["auc"] == {
        "self_reported": 0.90,
        "holdout": 0.875,
        "tolerance": 0.03,
        "baseline": 0.8,
        "verdict": "reproduced",
    }


def test_each_failure_names_the_metric_and_both_numbers() -> None:
    verdict = _verdict(
        "churn-classifier",
        {"auc": 0.91, "f1": "n/a", "log_loss": 0.4},
        {"auc": 0.84, "f1": 0.7},
    )
    assert verdict.reasons == [
        "self-reported auc 0.91 not reproduced: 0.84 on the holdout set (tolerance 0.03)",
        "f1: no self-reported value to cross-check ('n/a')",
    ]
    below = _verdict(
        "fraud-detector", {"recall": 0.9, "false_positive_rate": 0.02}, {"recall": 0.9, "false_positive_rate": 0.07}
    )
    assert below.reasons == ["false_positive_rate 0.07 on the holdout set is above the baseline 0.05"]


def test_a_metric_tolerance_overrides_the_default() -> None:
    # ranker: rmse has its own tolerance 0.1; 1.05 claimed, 1.14 reproduced is within it (baseline 1.2)
    assert _verdict("recommender-ranker", {"rmse": 1.05, "ndcg_at_10": 0.4}, {"rmse": 1.14}).passed
    late = _verdict("recommender-ranker", {"rmse": 1.0, "ndcg_at_10": 0.4}, {"rmse": 1.15})
    assert late.reasons == ["self-reported rmse 1 not reproduced: 1.15 on the holdout set (tolerance 0.1)"]


def test_job_names_are_sagemaker_names_and_stable_per_execution() -> None:
    policy = load_config(cdk_context(), "dev").group("recommender-ranker")
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/recommender-ranker/12"
    state = PromotionState(package_arn=arn, group="recommender-ranker", version=12, policy=policy)
    name = job_name("val", state, "arn:aws:states:eu-west-1:123456789012:execution:m:e1")
    assert name == job_name("val", state, "arn:aws:states:eu-west-1:123456789012:execution:m:e1")
    assert name != job_name("val", state, "arn:aws:states:eu-west-1:123456789012:execution:m:e2")
    assert name.startswith("val-recommender-ranker-12-") and len(name) <= 63
