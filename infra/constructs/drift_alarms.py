"""``DriftAlarms``: the CloudWatch alarms that watch one managed model in production.

Per model (group / endpoint):

- per feature, a PSI alarm and a KS alarm on the drift Lambda's metrics (``FeaturePSI`` /
  ``FeatureKS`` > the group's ``psiThreshold`` / ``ksThreshold``), the maximum over the variants;
- per configured performance metric, a ``PerformanceDrift`` alarm (> ``performanceDriftThreshold``);
- optionally, where SageMaker Model Monitor publishes for the endpoint, an alarm per feature on
  ``aws/sagemaker/Endpoints/data-metrics`` ``feature_baseline_drift_<feature>`` (> ``ksThreshold``);
- a composite alarm, ``<endpoint>-drift``, in ALARM when any of the drift alarms above is;
The endpoint's 5XX and latency alarms are not created here: the serving stack creates one of each
per variant (``GuardedEndpoint`` / ``AbTestEndpoint``), the deployment's auto-rollback watches them
and they page the topic; ``endpoint_alarms`` refers to them by name for the dashboard, so one
incident pages once.

Every alarm notifies the topic. Every state change also reaches the default EventBridge bus as
``CloudWatch Alarm State Change`` (CloudWatch does this for every alarm); the drift Lambda puts the
richer ``ModelDriftDetected`` event itself, with the statistics, and ``on_drift_detected`` wires a
retraining target to it. Missing data is not breaching: a window with no traffic publishes no
statistic.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlops_registry.core import contracts, serving_names
from mlops_registry.core.config import GroupPolicy
from mlops_registry.core.names import alarm_name_component

MODEL_MONITOR_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
MODEL_MONITOR_METRIC_PREFIX = "feature_baseline_drift_"

ENDPOINT_METRIC_PERIOD = Duration.minutes(1)  # the dashboard's endpoint graphs
COMPOSITE_CHILDREN_LIMIT = 50  # ~130 characters per ALARM("<arn>") in a rule of at most 10,240
ALARM_STATUS_WIDGET_LIMIT = 100  # CloudWatch's limit of alarms in one alarm status widget


def variants_for(group: GroupPolicy) -> tuple[str, ...]:
    """The production variants of a group's endpoint (stable names; see ``mlops_registry.core.contracts``)."""
    return contracts.VARIANTS_BY_MODE[group.deployment.mode]


def drift_period(group: GroupPolicy) -> Duration:
    """The drift metrics' period: one datapoint per scheduled run."""
    return Duration.minutes(group.monitoring.schedule_minutes)


class DriftAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group: GroupPolicy,
        endpoint_name: str,
        topic: sns.ITopic,
        variants: Sequence[str] | None = None,
        namespace: str = contracts.DRIFT_METRICS_NAMESPACE,
        model_monitor_schedule_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.group = group
        self.endpoint_name = endpoint_name
        self.variants = tuple(variants or variants_for(group))
        self.namespace = namespace
        self._action = actions.SnsAction(topic)
        self.feature_alarms: dict[tuple[str, str], cloudwatch.Alarm] = {}
        self.performance_alarms: dict[str, cloudwatch.Alarm] = {}
        self.model_monitor_alarms: dict[str, cloudwatch.Alarm] = {}
        self._build_feature_alarms()
        self._build_performance_alarms()
        if model_monitor_schedule_name:
            self._build_model_monitor_alarms(model_monitor_schedule_name)
        self.endpoint_alarms = self._reference_endpoint_alarms()
        self.composite = self._build_composite()

    # --- metrics (also used by the dashboard) -------------------------------------------------
    def drift_metric(self, metric_name: str, variant: str, **dimensions: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=metric_name,
            dimensions_map={
                contracts.DIMENSION_ENDPOINT: self.endpoint_name,
                contracts.DIMENSION_VARIANT: variant,
                **dimensions,
            },
            statistic=cloudwatch.Stats.MAXIMUM,
            period=drift_period(self.group),
        )

    def endpoint_metric(self, metric_name: str, variant: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=contracts.SAGEMAKER_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={contracts.DIMENSION_ENDPOINT: self.endpoint_name, contracts.DIMENSION_VARIANT: variant},
            statistic=statistic,
            period=ENDPOINT_METRIC_PERIOD,
        )

    def _across_variants(
        self, metrics: Sequence[cloudwatch.Metric], function: str, label: str, period: Duration
    ) -> cloudwatch.IMetric:
        """One metric as is; several (A/B variants) combined with MAX or SUM, so one alarm covers all."""
        if len(metrics) == 1:
            return metrics[0]
        using = {f"v{index}": metric for index, metric in enumerate(metrics)}
        terms = ", ".join(f"FILL({key}, 0)" if function == "SUM" else key for key in using)
        return cloudwatch.MathExpression(
            expression=f"{function}([{terms}])", using_metrics=using, label=label, period=period
        )

    # --- alarms -------------------------------------------------------------------------------
    def _alarm(
        self,
        construct_id: str,
        *,
        name_suffix: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self.endpoint_name}-{name_suffix}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        return alarm

    def _build_feature_alarms(self) -> None:
        monitoring = self.group.monitoring
        for feature in self.group.features:
            for statistic, metric_name, threshold in (
                ("psi", contracts.FEATURE_PSI, monitoring.psi_threshold),
                ("ks", contracts.FEATURE_KS, monitoring.ks_threshold),
            ):
                per_variant = [
                    self.drift_metric(metric_name, variant, **{contracts.DIMENSION_FEATURE: feature})
                    for variant in self.variants
                ]
                self.feature_alarms[(feature, statistic)] = self._alarm(
                    f"{statistic.upper()}-{feature}",
                    name_suffix=f"drift-{statistic}-{alarm_name_component(feature)}",
                    metric=self._across_variants(
                        per_variant, "MAX", f"{metric_name} {feature}", drift_period(self.group)
                    ),
                    threshold=threshold,
                    description=(
                        f"{statistic.upper()} of feature '{feature}' of {self.group.name} above {threshold} "
                        f"(data capture against the Production version's baseline)"
                    ),
                )

    def _build_performance_alarms(self) -> None:
        monitoring = self.group.monitoring
        for metric in monitoring.performance_metrics:
            per_variant = [
                self.drift_metric(contracts.PERFORMANCE_DRIFT, variant, **{contracts.DIMENSION_METRIC: metric})
                for variant in self.variants
            ]
            self.performance_alarms[metric] = self._alarm(
                f"Performance-{metric}",
                name_suffix=f"drift-performance-{metric}",
                metric=self._across_variants(
                    per_variant, "MAX", f"{contracts.PERFORMANCE_DRIFT} {metric}", drift_period(self.group)
                ),
                threshold=monitoring.performance_drift_threshold,
                description=(
                    f"{metric} of {self.group.name} moved more than {monitoring.performance_drift_threshold:.0%} "
                    f"from the baseline recorded at promotion"
                ),
            )

    def _build_model_monitor_alarms(self, schedule_name: str) -> None:
        threshold = self.group.monitoring.ks_threshold
        for feature in self.group.features:
            metric = cloudwatch.Metric(
                namespace=MODEL_MONITOR_NAMESPACE,
                metric_name=f"{MODEL_MONITOR_METRIC_PREFIX}{feature}",
                dimensions_map={"Endpoint": self.endpoint_name, "MonitoringSchedule": schedule_name},
                statistic=cloudwatch.Stats.MAXIMUM,
                period=drift_period(self.group),
            )
            self.model_monitor_alarms[feature] = self._alarm(
                f"ModelMonitor-{feature}",
                name_suffix=f"modelmonitor-drift-{feature}",
                metric=metric,
                threshold=threshold,
                description=f"Model Monitor baseline drift of '{feature}' of {self.group.name} above {threshold}",
            )

    def _reference_endpoint_alarms(self) -> list[cloudwatch.IAlarm]:
        """The serving stack's 5XX and latency alarms of every variant, by name: an endpoint has one
        set (they roll deployments back and page the topic); the dashboard shows their state."""
        return [
            cloudwatch.Alarm.from_alarm_name(
                self,
                f"Endpoint{variant}{kind.capitalize()}",
                serving_names.endpoint_alarm_name(self.endpoint_name, variant, kind),
            )
            for variant in self.variants
            for kind in serving_names.GUARDRAIL_KINDS
        ]

    def _build_composite(self) -> cloudwatch.CompositeAlarm:
        children: list[cloudwatch.IAlarm] = [*self.feature_alarms.values(), *self.performance_alarms.values()]
        children += list(self.model_monitor_alarms.values())
        if len(children) > COMPOSITE_CHILDREN_LIMIT:
            # An alarm rule holds at most 10,240 characters: many features go through part composites.
            children = [
                cloudwatch.CompositeAlarm(
                    self,
                    f"CompositePart{index}",
                    composite_alarm_name=f"{self.endpoint_name}-drift-part-{index}",
                    alarm_description=f"Part {index} of the drift alarms of {self.group.name}",
                    alarm_rule=cloudwatch.AlarmRule.any_of(*children[start : start + COMPOSITE_CHILDREN_LIMIT]),
                )
                for index, start in enumerate(range(0, len(children), COMPOSITE_CHILDREN_LIMIT))
            ]
        composite = cloudwatch.CompositeAlarm(
            self,
            "Composite",
            composite_alarm_name=f"{self.endpoint_name}-drift",
            alarm_description=f"Any drift alarm of {self.group.name} (features, performance)",
            alarm_rule=cloudwatch.AlarmRule.any_of(*children),
        )
        composite.add_alarm_action(self._action)
        composite.add_ok_action(self._action)
        return composite

    @property
    def summary_alarms(self) -> list[cloudwatch.IAlarm]:
        """The alarms a status widget shows: the composite and endpoint alarms first, then as many
        per-feature alarms as the widget's limit allows."""
        head: list[cloudwatch.IAlarm] = [self.composite, *self.endpoint_alarms]
        head += list(self.performance_alarms.values())
        rest = [*self.feature_alarms.values(), *self.model_monitor_alarms.values()]
        return head + rest[: max(ALARM_STATUS_WIDGET_LIMIT - len(head), 0)]

    def on_drift_detected(self, construct_id: str, target: events.IRuleTarget) -> events.Rule:
        """A rule for this group's ``ModelDriftDetected`` events (e.g. a retraining pipeline as target)."""
        return events.Rule(
            self,
            construct_id,
            description=f"ModelDriftDetected for {self.group.name}",
            event_pattern=events.EventPattern(
                source=[contracts.DRIFT_EVENT_SOURCE],
                detail_type=[contracts.DRIFT_EVENT_DETAIL_TYPE],
                detail={"group": [self.group.name]},
            ),
            targets=[target],
        )
