"""The drift fan-out state machine, synthesized, on the emulator: Distributed Map over the window's
capture folders (S3 item reader), workers writing partials, the reducer merging them into exactly
the statistics one pass computes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from monitoring.adapters import capture_hour_prefixes
from monitoring.capture import capture_line
from monitoring.fanout import execution_name, fan_out_input
from monitoring.models import parse_request
from monitoring.service import DriftPorts, ServingVersion, run_drift_check

from infra import constants
from mlops_registry.core import contracts
from mlops_registry.core.baseline import build_feature_baseline, read_feature_baseline
from offline.harness import PipelineHarness

END = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
FEATURES = ["f0", "f1", "segment"]
VARIANTS = ["Champion", "Challenger"]


GROUP = "recommender-ranker"


def _lines(rng: np.random.Generator, count: int, shift: float, at: datetime) -> list[str]:
    lines = []
    for _ in range(count):
        rows = "\n".join(
            f"{rng.normal(shift, 1):.5f},{rng.integers(0, 20) + shift:.0f},{rng.choice(['a', 'b', 'c'])}"
            for _ in range(5)
        )
        lines.append(capture_line(rows, inference_time=at))
    return lines


class _Lines:
    def __init__(self, lines: dict[str, list[str]]) -> None:
        self.by_variant = lines

    def lines(self, endpoint: str, variant: str, start: datetime, end: datetime) -> list[str]:
        return self.by_variant[variant]


class _Recorder:
    def publish(self, data: Any) -> None: ...

    def drift_detected(self, detail: Any) -> None: ...


def test_fan_out_merges_into_the_single_pass_statistics(harness: PipelineHarness) -> None:
    # Given a baseline and a two-hour, two-variant window written as many capture objects in hour folders
    rng = np.random.default_rng(12)
    training = {
        "f0": rng.normal(0, 1, 3000),
        "f1": rng.integers(0, 20, 3000).astype(float),
        "segment": rng.choice(["a", "b", "c"], 3000),
    }
    document = build_feature_baseline(training, categorical=["segment"])
    # (a managed A/B group: the fan-out's role reads only the managed endpoints' capture)
    baseline_uri = harness.put_json(f"baselines/{GROUP}/1/feature-baseline.json", document)
    endpoint = constants.endpoint_name("dev", GROUP)
    request = parse_request(
        {
            "group": GROUP,
            "endpointName": endpoint,
            "variants": VARIANTS,
            "features": FEATURES,
            "psiThreshold": 0.2,
            "ksThreshold": 0.1,
            "windowMinutes": 120,
            "windowEnd": END.isoformat(),
            "minSamples": 10,
        }
    )
    start, end = request.window()
    bucket = harness.artifacts_bucket
    everything: dict[str, list[str]] = {v: [] for v in VARIANTS}
    prefixes = []
    for variant, shift in zip(VARIANTS, (0.0, 0.8), strict=True):
        for hour, prefix in enumerate(
            capture_hour_prefixes(contracts.DATA_CAPTURE_PREFIX, endpoint, variant, start, end)
        ):
            prefixes.append({"variant": variant, "prefix": prefix})
            for part in range(4):
                lines = _lines(rng, 30, shift, start + timedelta(minutes=60 * hour + 10 * part + 1))
                everything[variant] += lines
                harness.s3.put_object(Bucket=bucket, Key=f"{prefix}part-{part}.jsonl", Body="\n".join(lines).encode())
    serving = ServingVersion(f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{GROUP}/1", 1, baseline_uri)
    payload = fan_out_input(
        request,
        serving,
        start,
        end,
        bucket=bucket,
        prefixes=prefixes,
        partials_prefix=contracts.DRIFT_PARTIALS_PREFIX,
        run_id=execution_name(request, end),
        size=0,
    )
    # When the synthesized fan-out state machine runs
    machine = harness.state_machines[constants.drift_fan_out_name("dev")]
    arn = harness.sfn.start_execution(stateMachineArn=machine, name=payload["runId"], input=json.dumps(payload))[
        "executionArn"
    ]
    deadline = time.monotonic() + 120
    while (description := harness.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "fan-out still running"
        time.sleep(0.1)
    assert description["status"] == "SUCCEEDED", description
    summary = json.loads(description["output"])["summary"]
    # Then its statistics are those of one pass over the same lines (to 1e-12), and the partials are gone
    baseline = read_feature_baseline(document)

    class _Baselines:
        def load(self, uri: str) -> Any:
            return baseline

    single = run_drift_check(
        request,
        DriftPorts(
            versions=type("V", (), {"production_version": lambda self, g: serving})(),
            baselines=_Baselines(),
            captures=_Lines(everything),
            performance=None,  # type: ignore[arg-type]
            metrics=_Recorder(),
            events=_Recorder(),
        ),
    ).summary()["statistics"]
    assert summary["statistics"].keys() == single.keys() == set(VARIANTS)
    for variant in VARIANTS:
        assert summary["statistics"][variant]["rows"] == single[variant]["rows"] == 8 * 30 * 5
        for feature, expected in single[variant]["features"].items():
            got = summary["statistics"][variant]["features"][feature]
            assert got["samples"] == expected["samples"]
            for name in ("psi", "ks"):
                assert (got[name] is None and expected[name] is None) or got[name] == pytest.approx(
                    expected[name], abs=1e-12
                )
    assert summary["breaches"] and {b["variant"] for b in summary["breaches"]} == {"Challenger"}
    listed = harness.s3.list_objects_v2(Bucket=bucket, Prefix=f"{contracts.DRIFT_PARTIALS_PREFIX}/")
    assert listed.get("KeyCount", 0) == 0
