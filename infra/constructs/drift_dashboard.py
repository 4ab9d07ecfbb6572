"""``DriftDashboard``: one CloudWatch dashboard per managed group.

Rows: traffic per variant, latency, errors; drift per feature (PSI, KS, with the thresholds drawn);
performance drift and capture data quality; for A/B groups the success metric per variant; and
the state of the group's alarms.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.constructs.drift_alarms import DriftAlarms
from mlops_registry.core import contracts

TRAFFIC_PERIOD = Duration.minutes(5)
WIDGET_WIDTH = 8
WIDGET_HEIGHT = 6


class DriftDashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, alarms: DriftAlarms, dashboard_name: str) -> None:
        super().__init__(scope, construct_id)
        self.alarms = alarms
        group = alarms.group
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.days(1),
        )
        self.dashboard.add_widgets(
            self._sagemaker_graph(
                "Traffic per variant (invocations)", [contracts.METRIC_INVOCATIONS], cloudwatch.Stats.SUM
            ),
            self._latency_graph(),
            self._sagemaker_graph(
                "Errors per variant",
                ["Invocation4XXErrors", contracts.METRIC_5XX, "InvocationModelErrors"],
                cloudwatch.Stats.SUM,
            ),
        )
        self.dashboard.add_widgets(
            self._feature_graph("Drift per feature: PSI", contracts.FEATURE_PSI, group.monitoring.psi_threshold),
            self._feature_graph("Drift per feature: KS", contracts.FEATURE_KS, group.monitoring.ks_threshold),
            self._performance_graph(),
        )
        row: list[cloudwatch.IWidget] = [self._data_quality_graph()]
        if group.deployment.mode == "ab_test":
            row.append(self._success_metric_graph())
        row.append(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=alarms.summary_alarms, width=WIDGET_WIDTH, height=WIDGET_HEIGHT
            )
        )
        self.dashboard.add_widgets(*row)

    def _graph(
        self,
        title: str,
        metrics: list[cloudwatch.IMetric],
        threshold: float | None = None,
        threshold_label: str = "threshold",
    ) -> cloudwatch.GraphWidget:
        annotations = (
            [cloudwatch.HorizontalAnnotation(value=threshold, label=threshold_label)] if threshold is not None else None
        )
        return cloudwatch.GraphWidget(
            title=title,
            left=metrics,
            left_annotations=annotations,
            width=WIDGET_WIDTH,
            height=WIDGET_HEIGHT,
        )

    def _sagemaker_graph(self, title: str, metric_names: list[str], statistic: str) -> cloudwatch.GraphWidget:
        metrics: list[cloudwatch.IMetric] = [
            self.alarms.endpoint_metric(name, variant, statistic).with_(
                period=TRAFFIC_PERIOD, label=f"{name} {variant}"
            )
            for name in metric_names
            for variant in self.alarms.variants
        ]
        return self._graph(title, metrics)

    def _latency_graph(self) -> cloudwatch.GraphWidget:
        limit_us = self.alarms.group.deployment.blue_green.latency_threshold_ms * 1000
        metrics: list[cloudwatch.IMetric] = []
        for variant in self.alarms.variants:
            for statistic in (cloudwatch.Stats.AVERAGE, cloudwatch.Stats.percentile(99)):
                metrics.append(
                    self.alarms.endpoint_metric(contracts.METRIC_LATENCY, variant, statistic).with_(
                        period=TRAFFIC_PERIOD, label=f"ModelLatency {statistic} {variant} (us)"
                    )
                )
        return self._graph("Model latency (microseconds)", metrics, float(limit_us), "latency alarm")

    def _feature_graph(self, title: str, metric_name: str, threshold: float) -> cloudwatch.GraphWidget:
        metrics: list[cloudwatch.IMetric] = [
            self.alarms.drift_metric(metric_name, variant, **{contracts.DIMENSION_FEATURE: feature}).with_(
                label=f"{feature} {variant}"
            )
            for feature in self.alarms.group.features
            for variant in self.alarms.variants
        ]
        return self._graph(title, metrics, threshold)

    def _performance_graph(self) -> cloudwatch.GraphWidget:
        monitoring = self.alarms.group.monitoring
        metrics: list[cloudwatch.IMetric] = [
            self.alarms.drift_metric(
                contracts.PERFORMANCE_DRIFT, variant, **{contracts.DIMENSION_METRIC: metric}
            ).with_(label=f"{metric} {variant}")
            for metric in monitoring.performance_metrics
            for variant in self.alarms.variants
        ]
        return self._graph(
            "Performance drift (relative change from baseline)", metrics, monitoring.performance_drift_threshold
        )

    def _data_quality_graph(self) -> cloudwatch.GraphWidget:
        metrics: list[cloudwatch.IMetric] = [
            cloudwatch.Metric(
                namespace=self.alarms.namespace,
                metric_name=name,
                dimensions_map={
                    contracts.DIMENSION_ENDPOINT: self.alarms.endpoint_name,
                    contracts.DIMENSION_VARIANT: variant,
                },
                statistic=cloudwatch.Stats.SUM,
                period=Duration.minutes(self.alarms.group.monitoring.schedule_minutes),
                label=f"{name} {variant}",
            )
            for name in contracts.DATA_QUALITY_METRICS
            for variant in self.alarms.variants
        ]
        return self._graph("Data capture quality per drift run", metrics)

    def _success_metric_graph(self) -> cloudwatch.GraphWidget:
        name = self.alarms.group.deployment.ab_test.success_metric_name
        metrics: list[cloudwatch.IMetric] = [
            cloudwatch.Metric(
                namespace=contracts.AB_TEST_NAMESPACE,
                metric_name=name,
                dimensions_map={
                    contracts.DIMENSION_ENDPOINT: self.alarms.endpoint_name,
                    contracts.DIMENSION_VARIANT: variant,
                },
                statistic=cloudwatch.Stats.SUM,
                period=Duration.hours(1),
                label=f"{name} {variant}",
            )
            for variant in self.alarms.variants
        ]
        return self._graph(f"A/B success metric: {name} per variant", metrics)
