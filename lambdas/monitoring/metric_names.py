"""The CloudWatch contract between the drift Lambda and the alarms and dashboards that read it.

Every drift metric lives in one namespace (``DRIFT_METRICS_NAMESPACE`` in ``infra/constants.py``,
passed to the function as ``DRIFT_NAMESPACE``). ``infra/constructs/drift_alarms.py`` repeats these
names; ``tests/integration/test_drift_metrics_contract.py`` checks that the metrics the function
publishes are exactly the ones the synthesized alarms reference.
"""

from __future__ import annotations

DEFAULT_NAMESPACE = "MlopsRegistry/Drift"

# Dimensions (SageMaker's own spelling for endpoint and variant).
ENDPOINT = "EndpointName"
VARIANT = "VariantName"
FEATURE = "FeatureName"
METRIC = "MetricName"

# Per feature: dimensions EndpointName, VariantName, FeatureName.
FEATURE_PSI = "FeaturePSI"
FEATURE_KS = "FeatureKS"  # numeric features only: KS is not defined for categories
FEATURE_SAMPLES = "FeatureSamples"
MISSING_VALUES = "MissingValues"
NON_NUMERIC_VALUES = "NonNumericValues"

# Per variant: dimensions EndpointName, VariantName.
CAPTURE_RECORDS = "CaptureRecords"
CAPTURED_ROWS = "CapturedRows"
CORRUPT_RECORDS = "CorruptRecords"
MALFORMED_ROWS = "MalformedRows"
UNEXPECTED_FEATURE_VALUES = "UnexpectedFeatureValues"
FEATURES_MISSING_FROM_BASELINE = "FeaturesMissingFromBaseline"
EMPTY_WINDOW = "EmptyWindow"
BASELINE_UNAVAILABLE = "BaselineUnavailable"
NO_PRODUCTION_VERSION = "NoProductionVersion"

# Per performance metric: dimensions EndpointName, VariantName, MetricName.
PERFORMANCE_DRIFT = "PerformanceDrift"
