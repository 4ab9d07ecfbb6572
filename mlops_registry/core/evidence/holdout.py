"""The platform's evidence from a Batch Transform of a governed holdout set.

Staging validation scores the candidate with its own container, so the platform never holds the model
object; every model output it needs is computed by one Batch Transform job over one input file:

1. the holdout's feature columns, one row per holdout row (the scores the quality and bias metrics use);
2. permuted copies of the first ``explain_rows`` rows, one per feature and repeat, in exactly the order
   ``explain.permutation_importances`` asks for them (same random stream as scikit-learn's
   ``permutation_importance``), so the importances are computed from the transform's outputs by
   replaying them: explainability without the model object.

``transform_input`` writes that file, ``evidence_from_outputs`` turns the transform's output (one value
per input line: the positive-class probability of a classifier, the value of a regressor) into the
four documents. Both run in the validation Lambda (small holdouts) and in the SageMaker Processing
job (large ones, ``mlops_registry.core.evidence.processing``), so both paths compute the same evidence.
This module needs NumPy only (no pydantic, no scikit-learn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from mlops_registry.core.evidence import bias, explain
from mlops_registry.core.evidence.dataset import Dataset
from mlops_registry.core.evidence.errors import EvidenceError
from mlops_registry.core.evidence.service import Evidence, EvidenceSpec, compute_evidence

EXPLAIN_ROWS = 500
EXPLAIN_REPEATS = 3
EXPLAIN_SEED = 0
PREDICTION_COLUMN = "__platform_prediction"


@dataclass(frozen=True)
class HoldoutSpec:
    """What the holdout holds and how the model's output is read (a group's ``validation.holdout``)."""

    features: tuple[str, ...]
    label: str
    facets: tuple[str, ...] = ()
    problem_type: str = "binary"  # binary: output = P(positive); regression: output = value
    positive_label: float = 1.0
    threshold: float = 0.5
    explain_rows: int = EXPLAIN_ROWS
    explain_repeats: int = EXPLAIN_REPEATS

    def __post_init__(self) -> None:
        if self.problem_type not in ("binary", "regression"):
            raise EvidenceError("problemType", self.problem_type, "must be binary or regression")

    @staticmethod
    def from_policy(policy: Mapping[str, Any]) -> HoldoutSpec:
        """From a published group policy (camelCase JSON, as the stack publishes it)."""
        holdout = policy["validation"]["holdout"]
        facets = holdout.get("facetColumns")
        if facets is None:
            facets = (policy.get("fairness") or {}).get("protectedAttributes") or ()
        return HoldoutSpec(
            features=tuple(policy["features"]),
            label=str(holdout["labelColumn"]),
            facets=tuple(facets),
            problem_type=str(holdout.get("problemType", "binary")),
            positive_label=float(holdout.get("positiveLabel", 1.0)),
            threshold=float(holdout.get("threshold", 0.5)),
        )

    def check(self, dataset: Dataset) -> None:
        """Every column the validation reads is in the holdout; the features are numeric."""
        for name in (self.label, *self.features, *self.facets):
            dataset.column(name, "holdout column")
        dataset.matrix(list(self.features))


def _explained(dataset: Dataset, spec: HoldoutSpec) -> tuple[np.ndarray, np.ndarray]:
    rows = min(spec.explain_rows, dataset.rows)
    return dataset.matrix(list(spec.features))[:rows], dataset.column(spec.label, "label")[:rows]


def _score(spec: HoldoutSpec) -> Any:
    """What a permutation degrades: the Brier score of the probabilities (binary), R² (regression)."""
    if spec.problem_type == "binary":

        def brier(truth: np.ndarray, outputs: np.ndarray) -> float:
            positive = (np.asarray(truth) == spec.positive_label).astype(np.float64)
            return -float(np.mean((np.asarray(outputs, dtype=np.float64) - positive) ** 2))

        return brier

    def r2(truth: np.ndarray, outputs: np.ndarray) -> float:
        truth = np.asarray(truth, dtype=np.float64)
        residual = float(np.sum((truth - outputs) ** 2))
        total = float(np.sum((truth - truth.mean()) ** 2))
        return 1.0 - residual / total if total else 0.0

    return r2


def transform_matrix(dataset: Dataset, spec: HoldoutSpec) -> np.ndarray:
    """Every row the transform scores: the holdout, then the permuted copies in replay order."""
    spec.check(dataset)
    x, y = _explained(dataset, spec)
    blocks: list[np.ndarray] = [dataset.matrix(list(spec.features))]

    def record(matrix: np.ndarray) -> np.ndarray:
        blocks.append(np.array(matrix, copy=True))
        return np.zeros(len(matrix))

    explain.permutation_importances(
        record, lambda truth, out: 0.0, x, y, repeats=spec.explain_repeats, seed=EXPLAIN_SEED
    )
    return np.vstack(blocks)


def transform_input(dataset: Dataset, spec: HoldoutSpec) -> bytes:
    """The transform's input: CSV without a header, features in the group's order, exact floats."""
    matrix = np.ascontiguousarray(transform_matrix(dataset, spec), dtype=np.float64)
    # What ``np.savetxt(fmt="%.17g", delimiter=",")`` writes, with each distinct value formatted once:
    # the permutation rows repeat the holdout's values many times. Distinct by bit pattern, so -0.0
    # and 0.0 (equal as numbers) keep their own text.
    bits, positions = np.unique(matrix.view(np.int64), return_inverse=True)
    texts = np.array([f"{value:.17g}" for value in bits.view(np.float64).tolist()], dtype=object)
    rows = texts[positions.reshape(matrix.shape)].tolist()
    return "".join(",".join(row) + "\n" for row in rows).encode()


def read_outputs(body: bytes, expected: int) -> np.ndarray:
    """One finite number per line (SageMaker's CSV output of a single-output model)."""
    lines = [line.strip() for line in body.decode("utf-8").splitlines() if line.strip()]
    if len(lines) != expected:
        raise EvidenceError("transform output", f"{len(lines)} lines", f"expected one line per input line ({expected})")
    values = []
    for number, line in enumerate(lines, start=1):
        try:
            value = float(line.split(",")[0].strip("[] "))
        except ValueError:
            raise EvidenceError(f"transform output line {number}", line[:80], "is not a number") from None
        if not np.isfinite(value):
            raise EvidenceError(f"transform output line {number}", line[:80], "is not finite")
        values.append(value)
    return np.asarray(values, dtype=np.float64)


def evidence_from_outputs(
    dataset: Dataset, spec: HoldoutSpec, outputs: np.ndarray, *, evaluated_at: datetime | None = None
) -> Evidence:
    """Quality, bias (pre- and post-training, every facet), permutation explanations and the feature
    baseline of the holdout, from the transform's outputs (``transform_matrix``'s row order)."""
    spec.check(dataset)
    x, y = _explained(dataset, spec)
    expected = dataset.rows + len(x) * (1 + len(spec.features) * spec.explain_repeats)
    if len(outputs) != expected:
        raise EvidenceError("transform output", len(outputs), f"expected {expected} values")
    scores = outputs[: dataset.rows]
    scored = dataset.with_column(PREDICTION_COLUMN, scores)
    facets = tuple(bias.Facet(column) for column in spec.facets)
    binary = spec.problem_type == "binary"
    evidence_spec = EvidenceSpec(
        label=spec.label,
        features=spec.features,
        problem_type="binary" if binary else "regression",
        score=PREDICTION_COLUMN if binary else None,
        prediction=None if binary else PREDICTION_COLUMN,
        positive_label=spec.positive_label,
        threshold=spec.threshold,
        facets=facets,
    )
    computed = compute_evidence(scored, evidence_spec, evaluated_at=evaluated_at)
    bias_document = computed.bias
    if not binary and facets:
        # Clarify's bias metrics need a binary outcome: a continuous label (and prediction) is positive
        # at or above the threshold (Clarify's label_values_or_threshold).
        bias_document = bias.bias_report(
            scored,
            label=spec.label,
            facets=facets,
            label_threshold=spec.threshold,
            predicted_positive=scores >= spec.threshold,
            feature_columns=list(spec.features),
        )
    blocks = np.split(outputs[dataset.rows :], 1 + len(spec.features) * spec.explain_repeats)
    calls = [0]

    def predict(matrix: np.ndarray) -> np.ndarray:
        # The calls come in transform_matrix's order; the last one (the expected value) scores the
        # unpermuted rows again, which is the first block.
        index = calls[0]
        calls[0] += 1
        return blocks[index] if index < len(blocks) else blocks[0]

    explanation = explain.permutation_explanation(
        predict, _score(spec), x, y, list(spec.features), repeats=spec.explain_repeats, seed=EXPLAIN_SEED
    )
    return Evidence(
        metrics=computed.metrics,
        bias=bias_document,
        explainability=explanation,
        baseline=computed.baseline,
        spec=evidence_spec,
    )


__all__: Sequence[str] = (
    "HoldoutSpec",
    "evidence_from_outputs",
    "read_outputs",
    "transform_input",
    "transform_matrix",
)
