"""Compute a version's complete evidence from one labelled data set: what the CLI
(``registry register --evidence-from``) and the training helper register, and what the platform
computes on a group's holdout set.

``EvidenceSpec`` says which columns hold what; ``spec_for_group`` derives it from the group's policy
(its features are the explained and baselined columns, its protected attributes the bias facets).
``compute_evidence`` returns the four JSON documents: model quality (Model Monitor statistics.json),
bias (Clarify analysis.json), explainability (Clarify explanations; needs the model object) and the
drift feature baseline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlops_registry.core.baseline import baseline_s3_key, build_feature_baseline
from mlops_registry.core.contracts import EVIDENCE_PREFIX
from mlops_registry.core.evidence import bias, explain, quality
from mlops_registry.core.evidence.dataset import Dataset
from mlops_registry.core.evidence.errors import EvidenceError

if TYPE_CHECKING:  # the Processing container runs this library without pydantic
    from mlops_registry.core.config import GroupPolicy

ProblemType = Literal["binary", "multiclass", "regression"]
DOCUMENTS = ("metrics", "bias", "explainability", "baseline")


@dataclass(frozen=True)
class EvidenceSpec:
    """Which columns of the data set hold the label, the model's outputs, the facets and the features."""

    label: str
    features: tuple[str, ...]
    problem_type: ProblemType = "binary"
    prediction: str | None = None  # predicted label (classification) or predicted value (regression)
    score: str | None = None  # probability of the positive label (binary)
    positive_label: Any = 1
    threshold: float = 0.5
    facets: tuple[bias.Facet, ...] = ()
    group_variable: str | None = None
    label_names: tuple[str, ...] | None = None  # explanation labels (one per model output)
    model_features: tuple[str, ...] | None = None  # the model's input columns, in order (default: features)

    def __post_init__(self) -> None:
        if self.problem_type not in ("binary", "multiclass", "regression"):
            raise EvidenceError("problem_type", self.problem_type, "must be binary, multiclass or regression")
        if self.prediction is None and self.score is None:
            raise EvidenceError("prediction", None, "name the prediction column or the score column")
        if self.problem_type != "binary" and self.prediction is None:
            raise EvidenceError("prediction", None, f"{self.problem_type} needs the prediction column")
        if not self.features:
            raise EvidenceError("features", [], "name at least one feature column")


@dataclass(frozen=True)
class Evidence:
    metrics: dict[str, Any]
    bias: dict[str, Any] | None
    explainability: dict[str, Any] | None
    baseline: dict[str, Any]
    spec: EvidenceSpec = field(repr=False)

    def documents(self) -> dict[str, dict[str, Any]]:
        found = {
            "metrics": self.metrics,
            "bias": self.bias,
            "explainability": self.explainability,
            "baseline": self.baseline,
        }
        return {name: document for name, document in found.items() if document is not None}

    def digest(self) -> str:
        """A content hash of the evidence (the S3 prefix it is stored under)."""
        body = json.dumps({k: v for k, v in self.documents().items() if k != "baseline"}, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def spec_for_group(
    group: GroupPolicy,
    *,
    label: str,
    prediction: str | None = None,
    score: str | None = None,
    problem_type: ProblemType = "binary",
    positive_label: Any = 1,
    threshold: float = 0.5,
    facet_thresholds: Mapping[str, float] | None = None,
    group_variable: str | None = None,
    model_features: Sequence[str] | None = None,
) -> EvidenceSpec:
    """The spec of a managed group: its features, its protected attributes as facets (every value
    against the rest, or above a threshold given in ``facet_thresholds``)."""
    thresholds = dict(facet_thresholds or {})
    attributes = group.fairness.protected_attributes if group.fairness else ()
    unknown = sorted(set(thresholds) - set(attributes))
    if unknown:
        raise EvidenceError(
            "facet thresholds", unknown, f"not protected attributes of {group.name} ({list(attributes)})"
        )
    facets = tuple(bias.Facet(a, threshold=thresholds.get(a)) for a in attributes)
    return EvidenceSpec(
        label=label,
        features=tuple(group.features),
        problem_type=problem_type,
        prediction=prediction,
        score=score,
        positive_label=positive_label,
        threshold=threshold,
        facets=facets,
        group_variable=group_variable,
        model_features=tuple(model_features) if model_features else None,
    )


def _model_quality(dataset: Dataset, spec: EvidenceSpec, evaluated_at: datetime | None) -> dict[str, Any]:
    labels = dataset.column(spec.label, "label")
    if spec.problem_type == "regression":
        assert spec.prediction is not None
        return quality.regression(labels, dataset.column(spec.prediction, "prediction"), evaluated_at=evaluated_at)
    if spec.problem_type == "multiclass":
        assert spec.prediction is not None
        return quality.multiclass_classification(
            labels, dataset.column(spec.prediction, "prediction"), evaluated_at=evaluated_at
        )
    if spec.score is not None:
        scores = dataset.column(spec.score, "score")
        if scores.dtype.kind != "f":
            raise EvidenceError("score", spec.score, "the score column must be numeric")
        return quality.binary_classification(
            labels,
            positive_label=spec.positive_label,
            scores=scores,
            threshold=spec.threshold,
            evaluated_at=evaluated_at,
        )
    return quality.binary_classification(
        labels,
        positive_label=spec.positive_label,
        predicted_labels=dataset.column(spec.prediction or "", "prediction"),
        evaluated_at=evaluated_at,
    )


def _bias(dataset: Dataset, spec: EvidenceSpec) -> dict[str, Any] | None:
    if not spec.facets or spec.problem_type != "binary":
        return None  # Clarify's bias metrics are defined for a binary outcome
    predicted_positive = None
    predicted_label = None
    if spec.score is not None:
        predicted_positive = dataset.column(spec.score, "score") >= spec.threshold
    else:
        predicted_label = spec.prediction
    excluded = {spec.label, spec.prediction, spec.score}
    return bias.bias_report(
        dataset,
        label=spec.label,
        facets=spec.facets,
        positive_label_values=[spec.positive_label],
        predicted_label=predicted_label,
        predicted_positive=predicted_positive,
        group_variable=spec.group_variable,
        feature_columns=[f for f in spec.features if f not in excluded],
    )


def compute_evidence(
    dataset: Dataset,
    spec: EvidenceSpec,
    *,
    model: Any | None = None,
    explain_rows: int = 200,
    explanation_method: str = "auto",
    evaluated_at: datetime | None = None,
) -> Evidence:
    """Every document for ``dataset``; explanations only when the model object is given."""
    for name in (spec.label, *spec.features):
        dataset.column(name, "label" if name == spec.label else "features")
    explanation = None
    if model is not None:
        rows = min(explain_rows, dataset.rows)
        inputs = list(spec.model_features or spec.features)
        x = dataset.matrix(inputs)[:rows]
        y = dataset.column(spec.label, "label")[:rows]
        if y.dtype.kind == "f" and spec.problem_type != "regression" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        explanation = explain.explain(model, x, y, inputs, method=explanation_method, label_names=spec.label_names)
    columns = {name: dataset.column(name).tolist() for name in spec.features}
    return Evidence(
        metrics=_model_quality(dataset, spec, evaluated_at),
        bias=_bias(dataset, spec),
        explainability=explanation,
        baseline=build_feature_baseline(columns, created_at=evaluated_at),
        spec=spec,
    )


def evidence_keys(group: str, digest: str) -> dict[str, str]:
    """S3 keys of one evidence set in the artifacts bucket. The feature baseline goes under
    ``baselines/`` (the only prefix besides data capture that the drift functions may read)."""
    names = {
        "metrics": "statistics.json",
        "bias": "bias-analysis.json",
        "explainability": "explainability-analysis.json",
    }
    keys = {what: f"{EVIDENCE_PREFIX}/{group}/sha256-{digest}/{name}" for what, name in names.items()}
    keys["baseline"] = baseline_s3_key(group, f"sha256-{digest}")
    return keys


def load_model(path: str) -> Any:
    """A scikit-learn model from a ``.joblib`` / ``.pkl`` file or a ``model.tar.gz`` holding one.

    Unpickling runs code from the file: load only models you trained or trust."""
    import tarfile
    import tempfile
    from pathlib import Path

    import joblib

    source = Path(path).expanduser()
    if not source.is_file():
        raise EvidenceError("model", str(source), "no such file")
    if source.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(source) as archive, tempfile.TemporaryDirectory() as workdir:
            members = [
                m for m in archive.getmembers() if m.isfile() and m.name.endswith((".joblib", ".pkl", ".pickle"))
            ]
            if len(members) != 1:
                raise EvidenceError(
                    "model",
                    str(source),
                    f"expected one .joblib/.pkl file in the archive, found {[m.name for m in members]}",
                )
            archive.extract(members[0], workdir, filter="data")
            return joblib.load(Path(workdir) / members[0].name)
    if source.suffix not in (".joblib", ".pkl", ".pickle"):
        raise EvidenceError("model", str(source), "expected a .joblib, .pkl or model.tar.gz file")
    return joblib.load(source)


def summary(evidence: Evidence, sections: Sequence[str] = ("metrics",)) -> dict[str, Any]:
    """Headline values for the CLI: every metric of the quality report (confusion matrix and curves left out)."""
    values: dict[str, Any] = {}
    for section, body in evidence.metrics.items():
        if isinstance(body, dict) and section != "dataset":
            for name, metric in body.items():
                if isinstance(metric, dict) and "value" in metric:
                    values[name] = metric["value"]
    return values
