"""Which version is in Production: the newest version that is both Approved and in the Production stage."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_registry.core.model_registry import PackageView, is_in_production, production_version


def _version(number: int, approval: str, stage: str | None) -> PackageView:
    return PackageView(
        arn=f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/{number}",
        group="churn",
        version=number,
        approval_status=approval,
        stage=stage,
        stage_status="Approved" if stage == "Production" else None,
        created=datetime(2026, 1, number, tzinfo=UTC),
    )


def test_a_revoked_version_still_in_the_production_stage_is_not_the_production_version() -> None:
    # Given v3 promoted, then v4 promoted and its approval revoked afterwards (stage left at Production)
    history = [_version(3, "Approved", "Production"), _version(4, "Rejected", "Production")]
    # When the Production version is asked for, Then it is v3, the newest one still approved
    assert production_version(history) == history[0]
    assert not is_in_production(history[1])


def test_an_approved_version_outside_the_production_stage_is_not_in_production() -> None:
    # Given v5 approved but still in Staging (awaiting deployment) and v2 approved in Production
    versions = [_version(5, "Approved", "Staging"), _version(2, "Approved", "Production")]
    assert production_version(versions) == versions[1]


def test_the_newest_of_two_approved_production_versions_wins_whatever_the_listing_order() -> None:
    # Given an out-of-band change left v1 in Production next to the promoted v6, listed oldest first
    v1, v6 = _version(1, "Approved", "Production"), _version(6, "Approved", "Production")
    assert production_version([v1, v6]) == v6
    assert production_version([v6, v1]) == v6


def test_no_version_in_production() -> None:
    pending = [_version(1, "PendingManualApproval", "Development"), _version(2, "Rejected", "Archived")]
    assert production_version(pending) is None
    assert production_version([]) is None
