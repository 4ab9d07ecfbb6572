"""MonitoringStack: alarms and composite rules from config, a dashboard per group, schedules, IAM, gates."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Match, Template

from infra import constants
from infra.config import load_config
from infra.constructs.drift_alarms import variants_for
from infra.stacks.monitoring_stack import SDK_FOR_PANDAS_LAYER_PARAMETER, schedule_expression
from mlops_registry.core import contracts
from mlops_registry.core.config import EnvironmentConfig, GroupPolicy
from tests.conftest import cdk_context

pytestmark = pytest.mark.cdk  # builds CDK constructs in this process (tests/conftest.py)


@dataclass
class Synthesized:
    config: EnvironmentConfig
    template: Template  # the parent stack: function, roles, one nested stack per group
    raw: dict[str, Any]
    nested: dict[str, dict[str, Any]]  # group name -> its nested stack's template
    outdir: Path

    @functools.cached_property
    def nested_templates(self) -> dict[str, Template]:
        """Each group's nested stack as an assertions ``Template``, built once (each is a round trip of the
        whole template to the CDK's Node kernel)."""
        return {group: Template.from_json(raw) for group, raw in self.nested.items()}

    def find(self, resource_type: str, props: Any = None) -> dict[str, Any]:
        """Resources of every group's nested stack, keyed ``<group>/<logical id>``."""
        found = {}
        for group, template in self.nested_templates.items():
            for logical_id, resource in template.find_resources(resource_type, props).items():
                found[f"{group}/{logical_id}"] = resource
        return found


@pytest.fixture(scope="module")
def monitoring(synthesized: Any) -> Synthesized:
    """The dev app's monitoring stack and its nested stack per group, from the session's synthesis
    (cdk-nag enabled: any unacknowledged finding fails it)."""
    parent = synthesized.template("Monitoring")
    files: dict[str, Path] = {}
    for group in synthesized.config.groups:
        # CDK names a nested stack's resource after its construct id, ``Group-<group>``, alphanumerics only.
        prefix = "Group" + re.sub("[^A-Za-z0-9]", "", group.name) + "NestedStack"
        (resource,) = [
            r
            for logical_id, r in parent["Resources"].items()
            if r["Type"] == "AWS::CloudFormation::Stack" and logical_id.startswith(prefix)
        ]
        files[group.name] = synthesized.outdir / resource["Metadata"]["aws:asset:path"]
    nested = {name: json.loads(path.read_text()) for name, path in files.items()}
    return Synthesized(synthesized.config, Template.from_json(parent), parent, nested, synthesized.outdir)


def _alarm(monitoring: Synthesized, name: str) -> dict[str, Any]:
    alarms = monitoring.find("AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": name}})
    assert len(alarms) == 1, name
    return next(iter(alarms.values()))["Properties"]


def _endpoint(monitoring: Synthesized, group: GroupPolicy) -> str:
    return constants.endpoint_name(monitoring.config.name, group.name)


def test_drift_feature_alarm_thresholds_come_from_config(monitoring: Synthesized) -> None:
    for group in monitoring.config.groups:
        endpoint = _endpoint(monitoring, group)
        for feature in group.features:
            for statistic, threshold in (
                ("psi", group.monitoring.psi_threshold),
                ("ks", group.monitoring.ks_threshold),
            ):
                alarm = _alarm(monitoring, f"{endpoint}-drift-{statistic}-{feature}")
                assert alarm["Threshold"] == threshold
                assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
                assert alarm["TreatMissingData"] == "notBreaching"
                assert alarm["EvaluationPeriods"] == 1


def test_drift_single_variant_alarm_reads_the_feature_metric_directly(monitoring: Synthesized) -> None:
    group = next(g for g in monitoring.config.groups if g.deployment.mode == "blue_green")
    feature = group.features[0]
    alarm = _alarm(monitoring, f"{_endpoint(monitoring, group)}-drift-psi-{feature}")
    assert alarm["Namespace"] == contracts.DRIFT_METRICS_NAMESPACE
    assert alarm["MetricName"] == "FeaturePSI"
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Period"] == group.monitoring.schedule_minutes * 60
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "EndpointName": _endpoint(monitoring, group),
        "VariantName": contracts.VARIANT_PRIMARY,
        "FeatureName": feature,
    }


def test_drift_ab_test_alarm_takes_the_maximum_over_both_variants(monitoring: Synthesized) -> None:
    group = next(g for g in monitoring.config.groups if g.deployment.mode == "ab_test")
    alarm = _alarm(monitoring, f"{_endpoint(monitoring, group)}-drift-ks-{group.features[0]}")
    expression = next(q for q in alarm["Metrics"] if "Expression" in q)
    assert expression["Expression"] == "MAX([v0, v1])"
    variants = {
        next(d["Value"] for d in q["MetricStat"]["Metric"]["Dimensions"] if d["Name"] == "VariantName")
        for q in alarm["Metrics"]
        if "MetricStat" in q
    }
    assert variants == {contracts.VARIANT_CHAMPION, contracts.VARIANT_CHALLENGER}


def test_drift_performance_alarms_from_config(monitoring: Synthesized) -> None:
    for group in monitoring.config.groups:
        endpoint = _endpoint(monitoring, group)
        for metric in group.monitoring.performance_metrics:
            alarm = _alarm(monitoring, f"{endpoint}-drift-performance-{metric}")
            assert alarm["Threshold"] == group.monitoring.performance_drift_threshold


def test_an_endpoint_incident_pages_once_the_monitoring_stack_shows_the_serving_alarms(
    monitoring: Synthesized,
) -> None:
    # Given the serving stack alarms on each variant's 5XX errors and latency (the guardrails that
    # roll deployments back and notify the topic), When the monitoring stack is synthesized
    sagemaker_alarms = [
        a for a in monitoring.find("AWS::CloudWatch::Alarm").values() if "AWS/SageMaker" in json.dumps(a["Properties"])
    ]
    # Then it creates no second alarm on those metrics (one incident, one page)
    assert sagemaker_alarms == []
    # And each group's dashboard shows the state of the serving stack's alarms, by name
    bodies = [
        json.dumps(d["Properties"]["DashboardBody"]) for d in monitoring.find("AWS::CloudWatch::Dashboard").values()
    ]
    for group in monitoring.config.groups:
        for variant in variants_for(group):
            for kind in ("5xx", "latency"):
                name = f"{_endpoint(monitoring, group)}-{variant.lower()}-{kind}-guardrail"
                assert sum(f":alarm:{name}" in body for body in bodies) == 1, name


def test_drift_composite_alarm_per_model_covers_every_drift_alarm(monitoring: Synthesized) -> None:
    composites = monitoring.find("AWS::CloudWatch::CompositeAlarm")
    by_name = {c["Properties"]["AlarmName"]: c["Properties"] for c in composites.values()}
    assert set(by_name) == {f"{_endpoint(monitoring, g)}-drift" for g in monitoring.config.groups}
    alarms = monitoring.find("AWS::CloudWatch::Alarm")
    logical_ids = {a["Properties"]["AlarmName"]: key.split("/", 1)[1] for key, a in alarms.items()}
    for group in monitoring.config.groups:
        endpoint = _endpoint(monitoring, group)
        rule = json.dumps(by_name[f"{endpoint}-drift"]["AlarmRule"])
        children = [
            *(f"{endpoint}-drift-{s}-{f}" for f in group.features for s in ("psi", "ks")),
            *(f"{endpoint}-drift-performance-{m}" for m in group.monitoring.performance_metrics),
        ]
        for child in children:
            assert f'"{logical_ids[child]}"' in rule, child
        assert rule.count("ALARM(") == len(children)
        assert " OR " in rule and " AND " not in rule


def test_drift_every_alarm_notifies_the_topic(monitoring: Synthesized) -> None:
    alarms = {
        **monitoring.find("AWS::CloudWatch::Alarm"),
        **monitoring.find("AWS::CloudWatch::CompositeAlarm"),
    }
    per_group = sum(2 * len(g.features) + len(g.monitoring.performance_metrics) + 1 for g in monitoring.config.groups)
    assert len(alarms) == per_group
    for alarm in alarms.values():
        actions = json.dumps(alarm["Properties"]["AlarmActions"])
        assert "NotificationsTopic" in actions


def test_drift_one_dashboard_per_group_with_every_panel(monitoring: Synthesized) -> None:
    dashboards = monitoring.find("AWS::CloudWatch::Dashboard")
    assert len(dashboards) == len(monitoring.config.groups)
    by_name = {
        d["Properties"]["DashboardName"]: json.dumps(d["Properties"]["DashboardBody"]) for d in dashboards.values()
    }
    for group in monitoring.config.groups:
        body = by_name[f"{_endpoint(monitoring, group)}-monitoring"]
        for title in ("Traffic per variant", "Model latency", "Errors per variant", "Drift per feature: PSI"):
            assert title in body
        for feature in group.features:
            assert feature in body
        for variant in variants_for(group):
            assert variant in body
        has_success_metric = "MlopsRegistry/AbTest" in body
        assert has_success_metric == (group.deployment.mode == "ab_test")
        if has_success_metric:
            assert group.deployment.ab_test.success_metric_name in body


def test_drift_one_schedule_per_group_invokes_the_function_with_its_run_request(monitoring: Synthesized) -> None:
    schedules = monitoring.find("AWS::Scheduler::Schedule")
    assert len(schedules) == len(monitoring.config.groups)
    inputs = {}
    for schedule in schedules.values():
        target = schedule["Properties"]["Target"]
        request = json.loads(target["Input"])
        inputs[request["group"]] = (schedule["Properties"]["ScheduleExpression"], request, target)
    for group in monitoring.config.groups:
        expression, request, target = inputs[group.name]
        assert expression == schedule_expression(group.monitoring.schedule_minutes).expression_string
        assert request["endpointName"] == _endpoint(monitoring, group)
        assert request["features"] == list(group.features)
        assert request["variants"] == list(variants_for(group))
        assert request["psiThreshold"] == group.monitoring.psi_threshold
        assert request["ksThreshold"] == group.monitoring.ks_threshold
        assert request["windowMinutes"] == group.monitoring.window_minutes
        assert request["windowEnd"] == "<aws.scheduler.scheduled-time>"
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2


def test_drift_schedule_expressions_align_with_alarm_periods() -> None:
    assert schedule_expression(30).expression_string == "cron(0/30 * * * ? *)"
    assert schedule_expression(60).expression_string == "cron(0 * * * ? *)"
    assert schedule_expression(120).expression_string == "cron(0 0/2 * * ? *)"
    assert schedule_expression(7).expression_string == "rate(7 minutes)"


def test_drift_function_gets_numpy_from_the_sdk_for_pandas_public_parameter(monitoring: Synthesized) -> None:
    parameters = monitoring.raw["Parameters"]
    defaults = {p.get("Default") for p in parameters.values()}
    assert SDK_FOR_PANDAS_LAYER_PARAMETER in defaults
    assert SDK_FOR_PANDAS_LAYER_PARAMETER.startswith("/aws/service/aws-sdk-pandas/")
    assert f"/py{constants.LAMBDA_RUNTIME_NAME.removeprefix('python')}/arm64/" in SDK_FOR_PANDAS_LAYER_PARAMETER
    monitoring.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "monitoring.drift_handler.handler",
            "Runtime": constants.LAMBDA_RUNTIME_NAME,
            "Layers": Match.array_with([{"Ref": Match.string_like_regexp("SsmParameterValueawsserviceawssdkpandas")}]),
            "Environment": {
                "Variables": Match.object_like(
                    {"DRIFT_NAMESPACE": contracts.DRIFT_METRICS_NAMESPACE, "CAPTURE_PREFIX": "datacapture"}
                )
            },
        },
    )


def _statements(monitoring: Synthesized, role_fragment: str) -> list[dict[str, Any]]:
    policies = monitoring.template.find_resources("AWS::IAM::Policy")
    return [
        s
        for p in policies.values()
        if any(role_fragment in json.dumps(r) for r in p["Properties"].get("Roles", []))
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_drift_function_policy_is_least_privilege(monitoring: Synthesized) -> None:
    policies = monitoring.template.find_resources("AWS::IAM::Policy")
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), statement
    statements = _statements(monitoring, "DriftFunctionRole")
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement
    by_sid = {s.get("Sid"): s for s in statements}
    assert by_sid["PublishDriftMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": contracts.DRIFT_METRICS_NAMESPACE}
    }
    assert by_sid["PutDriftEvents"]["Condition"] == {"StringEquals": {"events:source": contracts.DRIFT_EVENT_SOURCE}}
    wildcard = {
        a
        for s in statements
        if s["Resource"] == "*"
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert wildcard == {
        "cloudwatch:PutMetricData",
        "cloudwatch:GetMetricData",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    prefixes = json.dumps(by_sid["ListCaptureWindows"]["Condition"])
    for group in monitoring.config.groups:
        assert f"datacapture/{_endpoint(monitoring, group)}/*" in prefixes
    assert by_sid["StartFanOut"]["Action"] == "states:StartExecution"
    assert constants.drift_fan_out_name("dev") in json.dumps(by_sid["StartFanOut"]["Resource"])


def _fan_out_definition(monitoring: Synthesized) -> dict[str, Any]:
    (machine,) = [
        r
        for r in monitoring.template.find_resources("AWS::StepFunctions::StateMachine").values()
        if r["Properties"].get("StateMachineName") == constants.drift_fan_out_name("dev")
    ]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return {"machine": machine, "asl": json.loads("".join(p if isinstance(p, str) else "X" for p in parts))}


def test_drift_fan_out_maps_over_capture_folders_with_an_s3_item_reader(monitoring: Synthesized) -> None:
    found = _fan_out_definition(monitoring)
    asl, machine = found["asl"], found["machine"]
    outer = asl["States"]["EachCapturePrefix"]
    assert outer["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert outer["ItemsPath"] == "$.prefixes" and outer["ResultPath"] is None and outer["Next"] == "Reduce"
    inner = outer["ItemProcessor"]["States"]["EachCaptureObject"]
    assert inner["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert inner["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
    assert inner["ItemReader"]["Parameters"]["Prefix.$"] == "$.prefix"
    assert inner["MaxConcurrency"] == constants.DRIFT_FANOUT_MAX_CONCURRENCY and inner["ResultPath"] is None
    assert inner["ItemSelector"]["key.$"] == "$$.Map.Item.Value.Key"
    assert list(inner["ItemProcessor"]["States"]) == ["ComputePartial"]
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_drift_fan_out_threshold_and_function_grants(monitoring: Synthesized) -> None:
    assert (
        int(constants.DRIFT_DECODE_BYTES_PER_SECOND * constants.LAMBDA_MAX_SECONDS * constants.DRIFT_FANOUT_SAFETY)
        == constants.DRIFT_FANOUT_THRESHOLD_BYTES
    )
    monitoring.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "monitoring.drift_handler.handler",
            "Timeout": constants.LAMBDA_MAX_SECONDS,
            "Environment": {
                "Variables": Match.object_like({"FANOUT_THRESHOLD_BYTES": str(constants.DRIFT_FANOUT_THRESHOLD_BYTES)})
            },
        },
    )
    worker = {s["Sid"]: s for s in _statements(monitoring, "DriftFanOutWorkerFunctionRole") if "Sid" in s}
    assert worker["WritePartials"]["Action"] == "s3:PutObject"
    assert "drift-partials/*" in json.dumps(worker["WritePartials"]["Resource"])
    reducer = {s["Sid"]: s for s in _statements(monitoring, "DriftFanOutReducerFunctionRole") if "Sid" in s}
    assert reducer["DeleteMergedPartials"]["Action"] == "s3:DeleteObject"
    assert "drift-partials/*" in json.dumps(reducer["DeleteMergedPartials"]["Resource"])
    assert reducer["ListPartials"]["Condition"] == {"StringLike": {"s3:prefix": ["drift-partials/*"]}}
    assert "s3:PutObject" not in json.dumps(reducer) and "s3:DeleteObject" not in json.dumps(worker)


def test_drift_stack_has_no_unacknowledged_nag_findings(monitoring: Synthesized) -> None:
    # The synth raises on any unacknowledged finding; its report holds only other stacks' construct
    # warnings (the shipped dev config's placeholders, single-instance endpoints), none of this stack's.
    report = json.loads((monitoring.outdir / "validation-report.json").read_text())
    violations = [(p["pluginName"], v) for p in report.get("pluginReports", []) for v in p.get("violations", [])]
    assert {(plugin, v["severity"]) for plugin, v in violations} <= {("Construct Annotations", "warning")}, violations
    paths = {c["constructPath"] for _, v in violations for c in v["violatingConstructs"]}
    assert not [path for path in paths if path.split("/")[0].endswith("Monitoring")], paths


def test_drift_each_group_is_a_nested_stack_far_below_the_resource_limit(monitoring: Synthesized) -> None:
    nested = monitoring.template.find_resources("AWS::CloudFormation::Stack")
    assert len(nested) == len(monitoring.config.groups) == len(monitoring.nested)
    assert (
        len(monitoring.raw["Resources"]) < 40
    )  # the parent (drift function + fan-out) does not grow with the features
    for template in monitoring.nested.values():
        assert len(template["Resources"]) < 100


def test_drift_alarms_optionally_read_model_monitor_metrics_and_wire_retraining() -> None:
    # Given a DriftAlarms with a Model Monitor schedule and a retraining target on ModelDriftDetected
    from aws_cdk import Stack
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sqs as sqs
    from moto.events.models import EventPattern

    from infra.constructs.drift_alarms import DriftAlarms

    group = load_config(cdk_context(), "dev").groups[0]
    app = App()
    stack = Stack(app, "DriftModelMonitor")
    alarms = DriftAlarms(
        stack,
        "Alarms",
        group=group,
        endpoint_name="endpoint-a",
        topic=sns.Topic(stack, "Topic"),
        model_monitor_schedule_name="schedule-a",
    )
    alarms.on_drift_detected("Retrain", targets.SqsQueue(sqs.Queue(stack, "Retraining")))
    template = Template.from_stack(stack)
    # Then one alarm per feature reads feature_baseline_drift_<feature> and joins the composite
    for feature in group.features:
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "AlarmName": f"endpoint-a-modelmonitor-drift-{feature}",
                "Namespace": "aws/sagemaker/Endpoints/data-metrics",
                "MetricName": f"feature_baseline_drift_{feature}",
                "Dimensions": Match.array_with([{"Name": "MonitoringSchedule", "Value": "schedule-a"}]),
                "Threshold": group.monitoring.ks_threshold,
            },
        )
    composite = next(iter(template.find_resources("AWS::CloudWatch::CompositeAlarm").values()))
    children = 2 * len(group.features) + len(group.monitoring.performance_metrics) + len(group.features)
    assert json.dumps(composite["Properties"]["AlarmRule"]).count("ALARM(") == children
    # And the retraining rule matches the group's ModelDriftDetected events only
    rule = next(iter(template.find_resources("AWS::Events::Rule").values()))
    pattern = EventPattern.load(json.dumps(rule["Properties"]["EventPattern"]))
    event: dict[str, Any] = {"source": contracts.DRIFT_EVENT_SOURCE, "detail-type": contracts.DRIFT_EVENT_DETAIL_TYPE}
    ours: Any = {**event, "detail": {"group": group.name, "features": ["x"]}}
    theirs: Any = {**event, "detail": {"group": "another-group"}}
    assert pattern.matches_event(ours) and not pattern.matches_event(theirs)


def test_drift_many_features_split_the_composite_and_cap_the_status_widget() -> None:
    # Given a group with 60 features (120 feature drift alarms and the performance ones: more than one
    # alarm rule can name)
    from aws_cdk import Stack
    from aws_cdk import aws_sns as sns

    from infra.constructs.drift_alarms import COMPOSITE_CHILDREN_LIMIT, DriftAlarms
    from infra.constructs.drift_dashboard import DriftDashboard

    context = cdk_context()
    context["registry"]["groups"][0]["features"] = [f"feature_{i:02d}" for i in range(60)]
    group = load_config(context, "dev").groups[0]
    app = App()
    stack = Stack(app, "DriftManyFeatures")
    alarms = DriftAlarms(stack, "Alarms", group=group, endpoint_name="endpoint-b", topic=sns.Topic(stack, "Topic"))
    DriftDashboard(stack, "Dashboard", alarms=alarms, dashboard_name="endpoint-b-monitoring")
    template = Template.from_stack(stack)
    # Then part composites hold at most the limit each and the top composite names the parts
    composites = {
        c["Properties"]["AlarmName"]: c["Properties"]
        for c in template.find_resources("AWS::CloudWatch::CompositeAlarm").values()
    }
    parts = [name for name in composites if "-drift-part-" in name]
    assert len(parts) == 3
    for name in parts:
        assert json.dumps(composites[name]["AlarmRule"]).count("ALARM(") <= COMPOSITE_CHILDREN_LIMIT
    assert json.dumps(composites["endpoint-b-drift"]["AlarmRule"]).count("ALARM(") == 3
    performance = len(group.monitoring.performance_metrics)
    assert sum(json.dumps(composites[n]["AlarmRule"]).count("ALARM(") for n in parts) == 2 * 60 + performance
    # And the dashboard's alarm status widget stays within CloudWatch's 100 alarms
    body = json.dumps(next(iter(template.find_resources("AWS::CloudWatch::Dashboard").values()))["Properties"])
    # (the alarms it creates by reference, the serving stack's 5XX and latency alarms by name)
    assert len(alarms.summary_alarms) == 100
    assert body.count("Fn::GetAtt") + body.count(":alarm:endpoint-b-primary-") == 100


def test_drift_functions_get_orjson_from_a_pinned_wheels_layer(monitoring: Synthesized) -> None:
    pins = (Path(__file__).resolve().parents[2] / "requirements.txt").read_text().splitlines()
    assert set(constants.DRIFT_LAYER_REQUIREMENTS) <= set(pins)  # the layer ships what the tests ran with
    (layer_id,) = monitoring.template.find_resources("AWS::Lambda::LayerVersion")
    layer = monitoring.template.find_resources("AWS::Lambda::LayerVersion")[layer_id]
    assert layer["Properties"]["CompatibleArchitectures"] == [constants.LAMBDA_ARCHITECTURE_NAME]
    from infra.constructs.python_lambda import _pip_layer_directory

    built = _pip_layer_directory(constants.DRIFT_LAYER_REQUIREMENTS) / "python" / "orjson"
    (binary,) = [p.name for p in built.iterdir() if p.suffix == ".so"]
    assert "cpython-314" in binary and "aarch64" in binary  # the runtime's ABI and architecture, not this machine's
    functions = monitoring.template.find_resources("AWS::Lambda::Function")
    drift = [f for f in functions.values() if f["Properties"]["Handler"].startswith("monitoring.drift_handler.")]
    assert len(drift) == 3 and all({"Ref": layer_id} in f["Properties"]["Layers"] for f in drift)
