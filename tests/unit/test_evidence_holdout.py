"""The platform's holdout evidence from transform outputs (``mlops_registry.core.evidence.holdout``) and the
Processing entry point that runs the same library, checked against scikit-learn."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.inspection import permutation_importance
from sklearn.metrics import mean_squared_error, r2_score

from infra.config import load_config
from mlops_registry.core.config import publish
from mlops_registry.core.evidence import holdout
from mlops_registry.core.evidence.dataset import read_csv
from mlops_registry.core.evidence.errors import EvidenceError
from mlops_registry.core.evidence.holdout import (
    HoldoutSpec,
    evidence_from_outputs,
    read_outputs,
    transform_input,
    transform_matrix,
)
from mlops_registry.core.evidence.processing import run
from offline.samples import holdout_csv, predict_outputs, sample_model
from tests.conftest import cdk_context

ROWS = 800


def _group(name: str) -> Any:
    return load_config(cdk_context(), "dev").group(name)


def _outputs(model: Any, body: bytes) -> bytes:
    matrix = np.loadtxt(body.decode().splitlines(), delimiter=",", ndmin=2)
    return "".join(f"{float(v)!r}\n" for v in predict_outputs(model.estimator, matrix)).encode()


def test_regression_evidence_agrees_with_scikit_learn() -> None:
    # Given the ranker's regression model scored on its holdout through the transform's file format
    group = _group("recommender-ranker")
    spec = HoldoutSpec.from_policy(publish(group))
    model = sample_model(group)
    data = read_csv(holdout_csv(group, rows=ROWS))
    transform = transform_input(data, spec)
    evidence = evidence_from_outputs(
        data, spec, read_outputs(_outputs(model, transform), len(transform_matrix(data, spec)))
    )
    # Then quality, bias (label and prediction at or above the threshold) and importances match
    x = data.matrix(list(group.features))
    y = data.column("relevance")
    predicted = model.estimator.predict(x)
    quality = evidence.metrics["regression_metrics"]
    assert quality["rmse"]["value"] == pytest.approx(mean_squared_error(y, predicted) ** 0.5, abs=1e-12)
    assert quality["r2"]["value"] == pytest.approx(r2_score(y, predicted), abs=1e-12)
    region = data.column("region")
    positive = predicted >= spec.threshold
    dppl = positive[region != "eu"].mean() - positive[region == "eu"].mean()
    post = evidence.bias["post_training_bias_metrics"]["facets"]["region"]  # type: ignore[index]
    assert {m["name"]: m["value"] for f in post if f["value_or_threshold"] == "eu" for m in f["metrics"]}[
        "DPPL"
    ] == pytest.approx(dppl, abs=1e-12)
    reference = permutation_importance(model.estimator, x[:500], y[:500], scoring="r2", n_repeats=3, random_state=0)
    explained = evidence.explainability["explanations"]["permutation_importance"]["label0"]  # type: ignore[index]
    assert [explained["global_shap_values"][f] for f in group.features] == pytest.approx(
        list(reference.importances_mean), abs=1e-12
    )


def test_the_transform_input_is_what_numpy_savetxt_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the churn holdout's transform matrix (permutation rows repeat its values), and one with
    # signed zeros, non-finite values and repeats
    group = _group("churn-classifier")
    spec = HoldoutSpec.from_policy(publish(group))
    data = read_csv(holdout_csv(group, rows=200))
    matrix = transform_matrix(data, spec)
    odd = np.array([[-0.0, 0.0, 1e-310], [np.nan, np.inf, -np.inf], [0.1, 0.1, 1 / 3], [-0.0, 0.1, 2.0**60]])
    # Then the bytes are numpy's "%.17g" CSV of it, exactly
    for expected in (matrix, odd):
        buffer = io.StringIO()
        np.savetxt(buffer, expected, delimiter=",", fmt="%.17g")
        monkeypatch.setattr(holdout, "transform_matrix", lambda *_, m=expected: m)
        assert transform_input(data, spec) == buffer.getvalue().encode()


def test_outputs_that_do_not_match_the_input_are_an_error_naming_them() -> None:
    with pytest.raises(EvidenceError, match="transform output.*3 lines.*expected one line per input line \\(4\\)"):
        read_outputs(b"0.1\n0.2\n0.3\n", 4)
    with pytest.raises(EvidenceError, match="transform output line 2"):
        read_outputs(b"0.1\nyes\n", 2)


def test_the_processing_entry_point_computes_what_the_function_computes(tmp_path: Path) -> None:
    # Given the inputs as SageMaker Processing lays them out
    group = _group("churn-classifier")
    policy = publish(group)
    model = sample_model(group)
    body = holdout_csv(group, rows=ROWS)
    for folder, name, content in (
        ("holdout", "holdout.csv", body),
        ("policy", "policy.json", json.dumps(policy).encode()),
    ):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_bytes(content)
    # When the prepare mode writes the transform input, and the evidence mode reads the outputs
    (prepared,) = run("prepare", tmp_path)
    spec = HoldoutSpec.from_policy(policy)
    data = read_csv(body)
    assert prepared.read_bytes() == transform_input(data, spec)
    outputs = _outputs(model, prepared.read_bytes())
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "holdout.csv.out").write_bytes(outputs)
    written = {p.name: json.loads(p.read_text()) for p in run("evidence", tmp_path)}
    # Then the documents are the function path's (the bootstrap's evaluation time aside)
    here = evidence_from_outputs(data, spec, read_outputs(outputs, len(transform_matrix(data, spec))))
    assert written["bias-analysis.json"] == json.loads(json.dumps(here.bias))
    assert written["explainability-analysis.json"] == json.loads(json.dumps(here.explainability))
    assert (
        written["statistics.json"]["binary_classification_metrics"]["auc"]
        == here.metrics["binary_classification_metrics"]["auc"]
    )
    with pytest.raises(SystemExit, match="mode 'score' must be 'prepare' or 'evidence'"):
        run("score", tmp_path)
