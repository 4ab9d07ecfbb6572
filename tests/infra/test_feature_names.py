"""Real feature names (any printable text) become CloudWatch dimensions unchanged and alarm names safely."""

from __future__ import annotations

import re

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from infra.config import load_config
from infra.constructs.drift_alarms import DriftAlarms
from mlops_registry.core.names import ALARM_COMPONENT_MAX, alarm_name_component
from tests.conftest import cdk_context

pytestmark = pytest.mark.cdk  # builds CDK constructs in this process (tests/conftest.py)

FEATURES = (
    "Capital Gain",
    "Education-Num",
    "Hours per week",
    'income "net"/yr',
    "Größe (€)",
    "a" * 128,
    "a" * 127 + "b",
)


def test_alarm_name_components() -> None:
    assert alarm_name_component("Capital Gain") == "Capital Gain"
    assert alarm_name_component("Education-Num") == "Education-Num"
    odd = alarm_name_component('income "net"/yr')
    assert re.fullmatch(r"income _net_yr-[0-9a-f]{8}", odd)
    long_names = {alarm_name_component("a" * 128), alarm_name_component("a" * 127 + "b")}
    assert len(long_names) == 2 and all(len(n) <= ALARM_COMPONENT_MAX for n in long_names)


def test_drift_alarms_for_real_feature_names() -> None:
    # Given a group whose features are named as real datasets name them
    group = load_config(cdk_context(), "dev").groups[0].model_copy(update={"features": FEATURES})
    app = App()
    stack = Stack(app, "FeatureNames")
    DriftAlarms(stack, "Drift", group=group, endpoint_name="mlops-registry-dev-churn", topic=sns.Topic(stack, "T"))
    template = Template.from_stack(stack)
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    # Then every feature keeps its exact name as the metric dimension
    dimensions = {
        d["Value"] for a in alarms.values() for d in a["Properties"].get("Dimensions", []) if d["Name"] == "FeatureName"
    }
    assert dimensions == set(FEATURES)
    # and every alarm name is distinct, short enough for composite rules, and free of quotes
    names = [a["Properties"]["AlarmName"] for a in alarms.values()]
    assert len(names) == len(set(names))
    assert all('"' not in n and "\\" not in n and len(n) <= 63 + 11 + ALARM_COMPONENT_MAX for n in names)
    assert "mlops-registry-dev-churn-drift-psi-Capital Gain" in names
