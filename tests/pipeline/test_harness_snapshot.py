"""A worker provisions the app once; every later harness starts from a copy of that world
(``emulator.WorldSnapshot``). A copy must hold every resource provisioning created and nothing a previous
test wrote."""

from __future__ import annotations

import json
from typing import Any

from offline.harness import PipelineHarness, board_member
from offline.harness.driver import _WORLDS
from offline.samples import churn_reports

GROUP = "churn-classifier"


def _inventory(harness: PipelineHarness) -> dict[str, Any]:
    return {
        "functions": sorted(f["FunctionName"] for f in harness.lambda_.list_functions()["Functions"]),
        "tables": sorted(harness.ddb.list_tables()["TableNames"]),
        "buckets": sorted(b["Name"] for b in harness.s3.list_buckets()["Buckets"]),
        "objects": sorted(
            (bucket["Name"], o["Key"])
            for bucket in harness.s3.list_buckets()["Buckets"]
            for o in harness.s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        ),
        "machines": sorted(m["name"] for m in harness.sfn.list_state_machines()["stateMachines"]),
        "stacks": sorted(
            (s["StackName"], s["StackStatus"])
            for s in harness.session.client("cloudformation").list_stacks()["StackSummaries"]
        ),
        "endpoints": sorted(e["EndpointName"] for e in harness.sm.list_endpoints()["Endpoints"]),
        "groups": sorted(
            g["ModelPackageGroupName"] for g in harness.sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
        ),
        "parameters": sorted(p["Name"] for p in harness.session.client("ssm").describe_parameters()["Parameters"]),
        "topics": sorted(t["TopicArn"] for t in harness.sns.list_topics()["Topics"]),
        "subscriptions": sorted(s["Endpoint"] for s in harness.sns.list_subscriptions()["Subscriptions"]),
    }


def test_every_harness_starts_from_the_provisioned_world_without_what_earlier_tests_wrote(synthesized: Any) -> None:
    # Given a world provisioned from scratch (none of this process's worlds kept)
    kept = dict(_WORLDS)
    _WORLDS.clear()
    try:
        with PipelineHarness(synthesized.outdir, synthesized.templates) as first:
            provisioned = _inventory(first)
            assert len(_WORLDS) == 1
            # When a test promotes a version (deployed: the serving stack updated) and writes to a bucket
            first.put_json("scratch/left-by-a-test.json", {"written": True})
            _, result = first.promote(GROUP, "v1", board_member("bob"), churn_reports())
            assert result["status"] == "SUCCEEDED", result
            assert _inventory(first) != provisioned
        # Then the next harness, restored from the snapshot, holds every provisioned resource and none of it
        for _ in range(2):  # and a copy one test changed is not the next test's copy
            with PipelineHarness(synthesized.outdir, synthesized.templates) as restored:
                assert len(_WORLDS) == 1
                assert _inventory(restored) == provisioned
                packages = restored.sm.list_model_packages(ModelPackageGroupName=GROUP)
                assert packages["ModelPackageSummaryList"] == []
                assert restored.ledger().history(GROUP) == []
                assert restored.sfn.list_executions(stateMachineArn=restored.state_machine_arn)["executions"] == []
                assert not restored.serving(GROUP)
                # and it runs a promotion of its own from there, deployed as in the first world
                registration, result = restored.promote(GROUP, "v1", board_member("bob"), churn_reports())
                assert result["status"] == "SUCCEEDED", result
                assert registration.version == 1 and restored.serving(GROUP)
                restored.put_json("scratch/left-by-a-test.json", {"written": True})
    finally:
        _WORLDS.clear()
        _WORLDS.update(kept)


def test_a_policy_the_functions_cached_in_one_world_is_not_the_next_worlds(synthesized: Any) -> None:
    # Given a world whose group policy demands an AUC no model reaches, read (and cached) by the functions
    with PipelineHarness(synthesized.outdir, synthesized.templates) as first:
        ssm = first.session.client("ssm")
        [name] = [p["Name"] for p in ssm.describe_parameters()["Parameters"] if p["Name"].endswith(f"/groups/{GROUP}")]
        policy = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        [auc] = [m for m in policy["metrics"] if m["name"] == "auc"]
        auc["baseline"] = 0.999
        ssm.put_parameter(Name=name, Value=json.dumps(policy), Type="String", Overwrite=True)
        registration = first.register_version(GROUP, tag="v1", **churn_reports())
        assert first.announce(registration).get("action") == "started"
        assert not first.pending_approval(registration.package_arn), "the gate let an AUC below 0.999 through"
    # When the next test's world starts from the provisioned policy
    with PipelineHarness(synthesized.outdir, synthesized.templates) as restored:
        _, result = restored.promote(GROUP, "v1", board_member("bob"), churn_reports())
    # Then its functions read that policy, not the one the last world's functions kept
    assert result["status"] == "SUCCEEDED", result


def test_the_history_the_harness_reads_from_the_emulator_is_what_get_execution_history_returns(
    synthesized: Any,
) -> None:
    # Given an execution that ran every state of a promotion
    with PipelineHarness(synthesized.outdir, synthesized.templates) as harness:
        _, result = harness.promote(GROUP, "v1", board_member("bob"), churn_reports())
        assert result["status"] == "SUCCEEDED", result
        # When its history is read through the API, page by page, and by the harness
        api: list[dict[str, Any]] = []
        token: dict[str, str] = {}
        while True:
            page = harness.sfn.get_execution_history(executionArn=harness.executions[0], maxResults=25, **token)
            api += page["events"]
            if "nextToken" not in page:
                break
            token = {"nextToken": page["nextToken"]}
        # Then both hold the same events, field for field (timestamps as the SDK parses them)
        assert len(api) > 25 and harness.history(harness.executions[0]) == api


def test_the_status_the_harness_polls_from_the_emulator_is_what_describe_execution_returns(synthesized: Any) -> None:
    from offline.harness import emulator
    from offline.harness.common import ACCOUNT, REGION

    def both(arn: str) -> tuple[tuple[str, Any], tuple[str, Any]]:
        described = harness.sfn.describe_execution(executionArn=arn)
        return emulator.execution_status(ACCOUNT, REGION, arn), (described["status"], json.loads(described["input"]))

    with PipelineHarness(synthesized.outdir, synthesized.templates) as harness:
        # Given an execution waiting for the board
        registration = harness.register_version(GROUP, tag="v1", **churn_reports())
        arn = harness.announce(registration)["execution_arn"]
        assert harness.pending_approval(registration.package_arn)
        # Then the harness reads what DescribeExecution says: running, on the package's input
        polled, described = both(arn)
        assert polled == described and polled[0] == "RUNNING", (polled, described)
        assert polled[1]["package_arn"] == registration.package_arn
        # and once the board approved and the execution ended, that it succeeded
        harness.approve_with_cli(registration.package_arn, board_member("bob"), "v1 reviewed")
        assert harness.wait(arn)["status"] == "SUCCEEDED"
        polled, described = both(arn)
        assert polled == described and polled[0] == "SUCCEEDED", (polled, described)
