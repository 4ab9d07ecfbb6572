"""Serving benchmark: what a blue/green promotion and an A/B test cost the state machine.

Counted from the offline harness's execution history (the synthesized app on moto, real Lambda code
in-process, Wait states zeroed): state transitions (states entered), Lambda invocations (Lambda
tasks scheduled, retries included), and the part of each spent in the deployment states. Wall
times are printed for orientation only; they measure this machine and moto, not AWS.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from mlops_registry.core.contracts import VARIANT_CHALLENGER, VARIANT_CHAMPION

DEPLOYMENT_STATES = {
    "StartDeployment",
    "DeploymentNextStep?",
    "WaitForDeployment",
    "CheckDeployment",
    "WaitForEvaluation",
    "EvaluateAbTest",
}
APPROVER = "arn:aws:sts::123456789012:assumed-role/mlops-registry-dev-review-board/bench"  # a board session


def _synthesize(outdir: Path) -> dict[str, dict[str, Any]]:
    from aws_cdk import App

    from infra.app_factory import CDK_JSON, build_app

    context = json.loads(CDK_JSON.read_text())["context"]
    app = App(context={**context, "aws:cdk:enable-asset-metadata": True}, outdir=str(outdir))
    build_app(app)
    return {stack.stack_name: stack.template for stack in app.synth().stacks}


def _count(harness: Any, execution_arn: str, seconds: float) -> dict[str, Any]:
    history = harness.history(execution_arn)
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    # A Lambda task appears as LambdaFunctionScheduled (optimised integration) or as TaskScheduled
    # with resourceType lambda (waitForTaskToken); each retry is scheduled again.
    invoked: list[str] = []
    for event in history:
        if event.get("type") == "LambdaFunctionScheduled":
            invoked.append(event["lambdaFunctionScheduledEventDetails"]["resource"])
        elif (
            event.get("type") == "TaskScheduled" and event["taskScheduledEventDetails"].get("resourceType") == "lambda"
        ):
            parameters = json.loads(event["taskScheduledEventDetails"].get("parameters") or "{}")
            invoked.append(str(parameters.get("FunctionName", "")))
    deploy_lambdas = sum(1 for resource in invoked if "DeploymentFunction" in resource)
    return {
        "transitions": len(entered),
        "lambda_invocations": len(invoked),
        "deployment_transitions": sum(1 for name in entered if name in DEPLOYMENT_STATES),
        "deployment_lambda_invocations": deploy_lambdas,
        "history_events": len(history),
        "wall_s": seconds,
        "path": entered,
    }


def run() -> dict[str, Any]:
    from offline.harness import PipelineHarness, ranker_reports
    from offline.samples import churn_reports

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        templates = _synthesize(Path(tmp))
        with PipelineHarness(Path(tmp), templates) as harness:
            harness.promote("churn-classifier", "v1", APPROVER, churn_reports())
            started = time.perf_counter()
            _, result = harness.promote("churn-classifier", "v2", APPROVER, churn_reports(auc=0.87))
            figures["blue_green"] = _count(harness, result["executionArn"], time.perf_counter() - started)
            figures["blue_green"]["status"] = result["status"]
        with PipelineHarness(Path(tmp), templates) as harness:
            harness.promote("recommender-ranker", "v1", APPROVER, ranker_reports())
            looks: list[int] = []

            def traffic(payload: dict[str, Any]) -> None:
                looks.append(1)
                if len(looks) == 2:  # nothing to decide on at the first look; a clear winner by the second
                    harness.publish_variant_metrics(
                        "recommender-ranker",
                        {
                            VARIANT_CHAMPION: {"invocations": 4000, "successes": 400},
                            VARIANT_CHALLENGER: {"invocations": 1000, "successes": 160},
                        },
                        "Conversions",
                    )

            harness.on_invoke("DeploymentFunction", "evaluate", traffic)
            started = time.perf_counter()
            _, result = harness.promote("recommender-ranker", "v2", APPROVER, ranker_reports(ndcg=0.37))
            figures["ab_test"] = _count(harness, result["executionArn"], time.perf_counter() - started)
            figures["ab_test"]["status"] = result["status"]
            figures["ab_test"]["evaluations"] = len(looks)
    return figures


def report(figures: dict[str, Any]) -> str:
    lines = ["== serving (offline harness, counted from execution history)"]
    for key, label in (
        ("blue_green", "blue/green promotion (v2 replaces v1)"),
        ("ab_test", "A/B test (challenger wins)"),
    ):
        f = figures[key]
        extra = f", {f['evaluations']} evaluations" if "evaluations" in f else ""
        lines.append(
            f"{label}: {f['status']}; {f['transitions']} state transitions, {f['lambda_invocations']} Lambda invocations "
            f"(deployment step: {f['deployment_transitions']} transitions, {f['deployment_lambda_invocations']} "
            f"invocations{extra}); {f['history_events']} history events; {f['wall_s']:.2f}s wall"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(report(run()))
