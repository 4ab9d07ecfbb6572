"""The harness finds the app's resources by type and CDK construct path (the assembly's metadata), and
what it finds is what the functions themselves are wired to in the synthesized templates."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_registry.core.config import read_published
from mlops_registry.core.contracts import group_policy_parameter
from offline.harness import HarnessError, Resolver
from offline.harness.provisioner import (
    ARTIFACTS_BUCKET,
    MODELS_BUCKET,
    PACKAGE_STATE_CHANGE_RULE,
    PROMOTION_STATE_MACHINE,
    Provisioner,
    assign_physical_ids,
)


@pytest.fixture(scope="module")
def resolver(synthesized: Any) -> Resolver:
    resolver = Resolver(synthesized.templates, synthesized.outdir)
    assign_physical_ids(resolver)
    return resolver


def _env(resolver: Resolver, construct: str) -> dict[str, Any]:
    function = resolver.one("AWS::Lambda::Function", construct)
    return dict(resolver.resolve(function.properties, function.stack)["Environment"]["Variables"])


def test_every_resource_has_its_construct_path(resolver: Resolver) -> None:
    for resource in resolver.resources.values():
        assert resource.path.startswith(f"/{resource.stack}/"), (resource.stack, resource.logical_id)


def test_the_buckets_and_the_state_machine_found_are_the_ones_the_functions_use(resolver: Resolver) -> None:
    artifacts = resolver.one("AWS::S3::Bucket", ARTIFACTS_BUCKET).ref
    assert _env(resolver, "LifecycleFunction")["ARTIFACTS_BUCKET"] == artifacts
    assert _env(resolver, "HoldoutValidation/ValidationFunction")["ARTIFACTS_BUCKET"] == artifacts
    assert resolver.one("AWS::S3::Bucket", MODELS_BUCKET).ref not in (artifacts, "")
    machine = resolver.one("AWS::StepFunctions::StateMachine", PROMOTION_STATE_MACHINE)
    assert _env(resolver, "DispatcherFunction")["STATE_MACHINE_ARN"] == machine.ref


def test_the_rule_found_delivers_to_the_dispatcher(resolver: Resolver) -> None:
    rule = resolver.one("AWS::Events::Rule", PACKAGE_STATE_CHANGE_RULE)
    targets = resolver.resolve(rule.properties["Targets"], rule.stack)
    dispatcher = resolver.one("AWS::Lambda::Function", "DispatcherFunction")
    assert [t["Arn"] for t in targets] == [dispatcher.attrs["Arn"]]


def test_the_published_policies_and_serving_stacks_are_the_configured_groups(
    synthesized: Any, resolver: Resolver
) -> None:
    provisioner = Provisioner(resolver, synthesized.outdir, None, None, None)  # type: ignore[arg-type]
    groups = {g.name for g in synthesized.config.groups}
    assert set(provisioner.group_policies()) == groups
    # ... each the document at the parameter the dispatcher reads it from (its GROUP_POLICY_PREFIX)
    prefix = _env(resolver, "DispatcherFunction")["GROUP_POLICY_PREFIX"]
    by_name = {
        str(p["Name"]): p["Value"]
        for p in (resolver.resolve(r.properties, r.stack) for r in resolver.of_type("AWS::SSM::Parameter"))
    }
    for name, policy in provisioner.group_policies().items():
        assert read_published(by_name[group_policy_parameter(prefix, name)]) == policy
    stacks = provisioner.serving_stack_names()
    assert set(stacks) == groups
    for stack in stacks.values():
        assert [r.stack for r in resolver.of_type("AWS::SageMaker::Endpoint") if r.stack == stack] == [stack]


def test_a_construct_the_app_does_not_have_is_named_in_the_error(resolver: Resolver) -> None:
    with pytest.raises(HarnessError, match="AWS::S3::Bucket at construct path .../ArtifactStore/Nowhere/"):
        resolver.one("AWS::S3::Bucket", "ArtifactStore/Nowhere")
