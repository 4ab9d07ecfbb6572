"""The CLI picks its region as the AWS CLI does: ``--region``, then ``AWS_REGION``, then
``AWS_DEFAULT_REGION``, then the profile (boto3 alone ignores ``AWS_REGION``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_registry.cli.aws import AwsOptions, AwsSession
from mlops_registry.cli.errors import UsageError


@pytest.fixture(autouse=True)
def no_region_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[profile named]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize(
    ("option", "aws_region", "aws_default_region", "profile", "expected"),
    [
        (None, "eu-west-1", None, None, "eu-west-1"),  # what the Lambda runtime and the sandbox's env set
        (None, "eu-west-1", "us-east-1", None, "eu-west-1"),
        (None, None, "us-east-1", None, "us-east-1"),
        ("eu-central-1", "eu-west-1", "us-east-1", None, "eu-central-1"),
        (None, None, None, "named", "ap-south-1"),
        (None, "eu-west-1", None, "named", "eu-west-1"),
    ],
)
def test_region_precedence(
    monkeypatch: pytest.MonkeyPatch,
    option: str | None,
    aws_region: str | None,
    aws_default_region: str | None,
    profile: str | None,
    expected: str,
) -> None:
    if aws_region:
        monkeypatch.setenv("AWS_REGION", aws_region)
    if aws_default_region:
        monkeypatch.setenv("AWS_DEFAULT_REGION", aws_default_region)
    assert AwsSession(AwsOptions(region=option, profile=profile)).region == expected


def test_no_region_is_a_usage_error_naming_the_ways_to_give_one() -> None:
    with pytest.raises(UsageError, match="pass --region, set AWS_REGION"):
        AwsSession(AwsOptions())
    # a deployment that knows its region answers last
    assert AwsSession(AwsOptions(), default_region=lambda: "sa-east-1").region == "sa-east-1"
