"""Bias metrics in SageMaker Clarify's ``analysis.json`` format, as the open-source smclarify defines them.

For every facet (a protected attribute) the data splits into the sensitive group *d* (the facet value,
or values above a numeric threshold) and the rest *a*. Labels and predictions collapse to
positive/negative with the positive label values (or ``label > threshold``). Definitions follow
smclarify 0.5 (``smclarify.bias.metrics``), including its conventions: a ratio with a zero denominator
is ``Infinity`` (0 when the numerator is 0 too), and a difference of two infinite ratios is 0. The
test suite compares every metric with smclarify itself on the same data (tests/unit/test_evidence_bias.py).

Pre-training: CI, DPL, KL, JS, LP (L2), TVD, KS, CDDL (needs a group variable).
Post-training: DPPL, DI, DCA, DCR, DAR, DRR, AD, RD, SD, TE, FT, GE, CDDPL (needs a group variable).
A metric that cannot be computed (an empty group, no group variable) is reported as Clarify does:
``{"name", "description", "value": null, "error": "..."}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops_registry.core.evidence.dataset import Dataset
from mlops_registry.core.evidence.errors import EvidenceError

INFINITY = math.inf
FT_DEFAULT_NEIGHBORS = 5
FT_MIN_NEIGHBORS = 1
FT_SAMPLES_COUNT_THRESHOLD = 9

DESCRIPTIONS = {
    "CI": "Class Imbalance (CI)",
    "DPL": "Difference in Positive Proportions in Labels (DPL)",
    "KL": "Kullback-Liebler Divergence (KL)",
    "JS": "Jensen-Shannon Divergence (JS)",
    "LP": "L-p Norm (LP)",
    "TVD": "Total Variation Distance (TVD)",
    "KS": "Kolmogorov-Smirnov Distance (KS)",
    "CDDL": "Conditional Demographic Disparity in Labels (CDDL)",
    "AD": "Accuracy Difference (AD)",
    "CDDPL": "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
    "DAR": "Difference in Acceptance Rates (DAR)",
    "DCA": "Difference in Conditional Acceptance (DCA)",
    "DCR": "Difference in Conditional Rejection (DCR)",
    "DI": "Disparate Impact (DI)",
    "DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)",
    "DRR": "Difference in Rejection Rates (DRR)",
    "FT": "Flip Test (FT)",
    "GE": "Generalized Entropy (GE)",
    "RD": "Recall Difference (RD)",
    "SD": "Specificity Difference (SD)",
    "TE": "Treatment Equality (TE)",
}
PRE_TRAINING = ("CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD")
POST_TRAINING = ("AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE")


class MetricUndefined(Exception):
    """The metric is not defined on this data (reported with the metric, not raised to the caller)."""


@dataclass(frozen=True)
class Facet:
    """A protected attribute: ``values`` (one sensitive group) or ``threshold`` (sensitive = above it);
    neither: every distinct value of the column against the rest, as Clarify does by default."""

    column: str
    values: tuple[Any, ...] | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.values is not None and self.threshold is not None:
            raise EvidenceError(f"facet {self.column}", self.values, "give values or a threshold, not both")
        if self.values is not None and not self.values:
            raise EvidenceError(f"facet {self.column}", self.values, "values must name at least one value")
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise EvidenceError(f"facet {self.column}", self.threshold, "threshold must be a finite number")


@dataclass(frozen=True)
class Groups:
    """Boolean masks over the rows: sensitive facet (d), positive label, positive prediction."""

    facet: np.ndarray
    label: np.ndarray
    predicted: np.ndarray | None = None


def _divide(a: float, b: float) -> float:
    if b == 0 and a == 0:
        return 0.0
    if b == 0:
        return -INFINITY if a < 0 else INFINITY
    return a / b


def _difference(x: float, y: float) -> float:
    """``x - y``, 0 when both are the same infinity (smclarify's convention)."""
    return 0.0 if x == y and x == INFINITY else x - y


def _require_groups(g: Groups) -> tuple[np.ndarray, np.ndarray]:
    d = g.facet
    a = ~g.facet
    if not d.any():
        raise MetricUndefined("Facet set is empty")
    if not a.any():
        raise MetricUndefined("Negated facet set is empty")
    return a, d


def _predicted(g: Groups) -> np.ndarray:
    if g.predicted is None:
        raise MetricUndefined("predicted labels are required for post-training metrics")
    return g.predicted


def _pdfs_aligned_nonzero(xs_a: np.ndarray, xs_d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label distributions of a and d over the label values present in both (smclarify's alignment)."""
    pa, pd = [], []
    for value in (False, True):
        share_a = _divide(float(np.sum(xs_a == value)), float(len(xs_a))) if len(xs_a) else 0.0
        share_d = _divide(float(np.sum(xs_d == value)), float(len(xs_d))) if len(xs_d) else 0.0
        if share_a and share_d:
            pa.append(share_a)
            pd.append(share_d)
    return np.asarray(pa), np.asarray(pd)


def _distributions(g: Groups) -> tuple[np.ndarray, np.ndarray]:
    pa, pd = _pdfs_aligned_nonzero(g.label[~g.facet], g.label[g.facet])
    if len(pa) == 0 or len(pd) == 0:
        raise MetricUndefined("No instance of common facet found, dataset may be too small")
    return pa, pd


def _positive_rate_difference(d: np.ndarray, positive: np.ndarray) -> float:
    a = ~d
    if not a.any():
        raise MetricUndefined("Negative facet set is empty.")
    if not d.any():
        raise MetricUndefined("Facet set is empty.")
    return float(np.sum(a & positive) / np.sum(a) - np.sum(d & positive) / np.sum(d))


def ci(g: Groups) -> float:
    nd, na = int(g.facet.sum()), int((~g.facet).sum())
    if na == 0:
        raise MetricUndefined("CI: negated facet set is empty. Check that x[~facet] has non-zero length.")
    if nd == 0:
        raise MetricUndefined("CI: facet set is empty. Check that x[facet] has non-zero length.")
    return float(na - nd) / (na + nd)


def dpl(g: Groups) -> float:
    return _positive_rate_difference(g.facet, g.label)


def kl(g: Groups) -> float:
    pa, pd = _distributions(g)
    return float(np.sum(pa * np.log(pa / pd)))


def js(g: Groups) -> float:
    pa, pd = _distributions(g)
    p = 0.5 * (pa + pd)
    return float(0.5 * (np.sum(pa * np.log(pa / p)) + np.sum(pd * np.log(pd / p))))


def _lp(g: Groups, order: float) -> float:
    pa, pd = _distributions(g)
    return float(np.linalg.norm(pa - pd, order))


def lp(g: Groups) -> float:
    return _lp(g, 2)


def tvd(g: Groups) -> float:
    return 0.5 * _lp(g, 1)


def ks(g: Groups) -> float:
    return _lp(g, np.inf)


def _cdd(facet: np.ndarray, outcome: np.ndarray, groups: np.ndarray | None) -> float:
    if groups is None or len(groups) == 0:
        raise MetricUndefined("Group variable is empty or not provided")
    if not outcome.any():
        raise MetricUndefined("No positive labels in set")
    if outcome.all():
        raise MetricUndefined("No negative labels in set")
    disparities, counts = [], []
    for subgroup in np.unique(groups):
        members = groups == subgroup
        counts.append(float(members.sum()))
        accepted = float(np.sum(outcome & members))
        rejected = float(np.sum(~outcome & members))
        share_accepted = float(np.sum(outcome & facet & members)) / accepted if accepted else 0.0
        share_rejected = float(np.sum(~outcome & facet & members)) / rejected if rejected else 0.0
        disparities.append(share_rejected - share_accepted)
    return _divide(float(np.sum(np.asarray(counts) * np.asarray(disparities))), float(np.sum(counts)))


def dppl(g: Groups) -> float:
    return _positive_rate_difference(g.facet, _predicted(g))


def di(g: Groups) -> float:
    predicted = _predicted(g)
    a, d = ~g.facet, g.facet
    if not a.any():
        raise MetricUndefined("Negated facet set is empty")
    if not d.any():
        raise MetricUndefined("Facet set is empty")
    qa = float(np.sum(predicted & a)) / float(a.sum())
    qd = float(np.sum(predicted & d)) / float(d.sum())
    return _divide(qd, qa)


def _conditional_outcomes(g: Groups) -> tuple[float, float]:
    predicted = _predicted(g)
    a, d = _require_groups(g)
    label = g.label
    rr_a = _divide(float(np.sum(~label & a)), float(np.sum(~predicted & a)))
    rr_d = _divide(float(np.sum(~label & d)), float(np.sum(~predicted & d)))
    ca = _divide(float(np.sum(label & a)), float(np.sum(predicted & a)))
    cd = _divide(float(np.sum(label & d)), float(np.sum(predicted & d)))
    return _difference(ca, cd), _difference(rr_d, rr_a)


def dca(g: Groups) -> float:
    return _conditional_outcomes(g)[0]


def dcr(g: Groups) -> float:
    return _conditional_outcomes(g)[1]


def _label_rates(g: Groups) -> tuple[float, float]:
    predicted = _predicted(g)
    a, d = _require_groups(g)
    label = g.label
    ar_a = _divide(float(np.sum(label & predicted & a)), float(np.sum(predicted & a)))
    ar_d = _divide(float(np.sum(label & predicted & d)), float(np.sum(predicted & d)))
    rr_a = _divide(float(np.sum(~label & ~predicted & a)), float(np.sum(~predicted & a)))
    rr_d = _divide(float(np.sum(~label & ~predicted & d)), float(np.sum(~predicted & d)))
    return _difference(ar_a, ar_d), _difference(rr_d, rr_a)


def dar(g: Groups) -> float:
    return _label_rates(g)[0]


def drr(g: Groups) -> float:
    return _label_rates(g)[1]


def _quadrants(g: Groups, group: np.ndarray) -> tuple[float, float, float, float]:
    predicted, label = _predicted(g), g.label
    tp = float(np.sum(label & predicted & group))
    fp = float(np.sum(~label & predicted & group))
    fn = float(np.sum(label & ~predicted & group))
    tn = float(np.sum(~label & ~predicted & group))
    return tp, fp, fn, tn


def ad(g: Groups) -> float:
    a, d = _require_groups(g)
    tp_a, fp_a, fn_a, tn_a = _quadrants(g, a)
    tp_d, fp_d, fn_d, tn_d = _quadrants(g, d)
    acc_a = _divide(tp_a + tn_a, tp_a + tn_a + fp_a + fn_a)
    acc_d = _divide(tp_d + tn_d, tp_d + tn_d + fp_d + fn_d)
    return _difference(acc_a, acc_d)


def _recall_specificity(g: Groups) -> tuple[float, float]:
    a, d = _require_groups(g)
    tp_a, fp_a, fn_a, tn_a = _quadrants(g, a)
    tp_d, fp_d, fn_d, tn_d = _quadrants(g, d)
    rec_a, rec_d = _divide(tp_a, tp_a + fn_a), _divide(tp_d, tp_d + fn_d)
    sp_a, sp_d = _divide(tn_a, tn_a + fp_a), _divide(tn_d, tn_d + fp_d)
    return _difference(rec_a, rec_d), _difference(sp_d, sp_a)


def rd(g: Groups) -> float:
    return _recall_specificity(g)[0]


def sd(g: Groups) -> float:
    return _recall_specificity(g)[1]


def te(g: Groups) -> float:
    a, d = _require_groups(g)
    _, fp_a, fn_a, _ = _quadrants(g, a)
    _, fp_d, fn_d, _ = _quadrants(g, d)
    return _difference(_divide(fn_d, fp_d), _divide(fn_a, fp_a))


def ge(g: Groups, alpha: float = 2.0) -> float:
    predicted = _predicted(g)
    benefit = predicted.astype(np.float64) - g.label.astype(np.float64) + 1.0
    mean = float(benefit.mean()) if len(benefit) else 0.0
    if mean == 0:
        raise MetricUndefined("All predicted labels are false negatives.")
    return float(((benefit / mean) ** alpha - 1).sum() / (len(benefit) * alpha * (alpha - 1)))


def flip_test(g: Groups, features: np.ndarray | None) -> float:
    """FT: a k-NN trained on group a predicts group d; (flips to negative - flips to positive) / n_d,
    counted as smclarify counts them. Undefined where scikit-learn is not installed (the validation
    Lambda's runtime carries NumPy only; the Processing path's scikit-learn image computes it)."""
    try:
        from sklearn.neighbors import KNeighborsClassifier
    except ImportError:
        raise MetricUndefined("FlipTest needs scikit-learn, which this runtime does not have") from None

    predicted = _predicted(g)
    _require_groups(g)
    if features is None:
        raise MetricUndefined("FlipTest does not support non-numeric columns")
    a, d = ~g.facet, g.facet
    neighbors = FT_DEFAULT_NEIGHBORS if int(a.sum()) > FT_SAMPLES_COUNT_THRESHOLD else FT_MIN_NEIGHBORS
    knn = KNeighborsClassifier(n_neighbors=neighbors, weights="uniform", algorithm="auto", leaf_size=30, p=2)
    knn.fit(features[a], predicted[a])
    as_if_advantaged = knn.predict(features[d]).astype(bool)
    model = predicted[d]
    flipped_down = int(np.sum(model & ~as_if_advantaged))  # smclarify's FlipSet_pos: model > k-NN
    flipped_up = int(np.sum(~model & as_if_advantaged))
    return _divide(float(flipped_down - flipped_up), float(int(d.sum())))


PRE_FUNCTIONS: dict[str, Callable[[Groups], float]] = {
    "CI": ci,
    "DPL": dpl,
    "JS": js,
    "KL": kl,
    "KS": ks,
    "LP": lp,
    "TVD": tvd,
}
POST_FUNCTIONS: dict[str, Callable[[Groups], float]] = {
    "AD": ad,
    "DAR": dar,
    "DCA": dca,
    "DCR": dcr,
    "DI": di,
    "DPPL": dppl,
    "DRR": drr,
    "GE": ge,
    "RD": rd,
    "SD": sd,
    "TE": te,
}


# --- columns to masks ---------------------------------------------------------------------------
def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _matches(column: np.ndarray, values: Sequence[Any], field: str) -> np.ndarray:
    if column.dtype.kind == "f":
        try:
            targets = [float(v) for v in values]
        except (TypeError, ValueError):
            raise EvidenceError(field, list(values), "the column is numeric; its values must be numbers") from None
        return np.isin(column, targets)
    return np.isin(column.astype(str), [str(v) for v in values])


def positive_mask(
    column: np.ndarray, positive_values: Sequence[Any] | None, threshold: float | None, field: str
) -> np.ndarray:
    if threshold is not None:
        if column.dtype.kind != "f":
            raise EvidenceError(field, threshold, "a threshold needs a numeric column")
        return column > threshold
    if not positive_values:
        raise EvidenceError(field, positive_values, "give the positive label values or a threshold")
    return _matches(column, positive_values, field)


def _threshold_text(threshold: float, column: np.ndarray) -> str:
    upper = float(np.nanmax(column))
    return f"({float(threshold)!r}, {upper!r}]"


def facet_groups(dataset: Dataset, facet: Facet) -> list[tuple[str, np.ndarray]]:
    """``[(value_or_threshold, sensitive mask)]`` for one facet."""
    column = dataset.column(facet.column, "facet")
    if facet.threshold is not None:
        if column.dtype.kind != "f":
            raise EvidenceError(f"facet {facet.column}", facet.threshold, "a threshold needs a numeric column")
        return [(_threshold_text(facet.threshold, column), column > facet.threshold)]
    if facet.values is not None:
        mask = _matches(column, facet.values, f"facet {facet.column}")
        return [(",".join(_text(v) for v in facet.values), mask)]
    seen: dict[str, None] = {}
    for value in column.tolist():
        seen.setdefault(_text(value), None)
    return [(value, _matches(column, [value], f"facet {facet.column}")) for value in seen]


# --- report -------------------------------------------------------------------------------------
def _metric(name: str, compute: Callable[[], float]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "description": DESCRIPTIONS[name]}
    try:
        value = float(compute())
    except MetricUndefined as undefined:
        entry["value"] = None
        entry["error"] = str(undefined)
        return entry
    entry["value"] = ("Infinity" if value > 0 else "-Infinity") if math.isinf(value) else value
    return entry


def _stage_metrics(
    stage: str, groups: Groups, group_variable: np.ndarray | None, features: np.ndarray | None
) -> list[dict[str, Any]]:
    entries = []
    for name in PRE_TRAINING if stage == "pre" else POST_TRAINING:
        if name == "CDDL":
            entries.append(_metric(name, lambda: _cdd(groups.facet, groups.label, group_variable)))
        elif name == "CDDPL":
            entries.append(_metric(name, lambda: _cdd(groups.facet, _predicted(groups), group_variable)))
        elif name == "FT":
            entries.append(_metric(name, lambda: flip_test(groups, features)))
        else:
            function = (PRE_FUNCTIONS if stage == "pre" else POST_FUNCTIONS)[name]
            entries.append(_metric(name, lambda function=function: function(groups)))  # type: ignore[misc]
    return entries


def bias_report(
    dataset: Dataset,
    *,
    label: str,
    facets: Sequence[Facet],
    positive_label_values: Sequence[Any] | None = None,
    label_threshold: float | None = None,
    predicted_label: str | None = None,
    predicted_positive: np.ndarray | None = None,
    group_variable: str | None = None,
    feature_columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Clarify's ``analysis.json``: ``pre_training_bias_metrics`` always, ``post_training_bias_metrics``
    when ``predicted_label`` names the model's predicted labels (same positive values as the label) or
    ``predicted_positive`` holds the positive predictions as booleans (e.g. ``score >= threshold``)."""
    if not facets:
        raise EvidenceError("facets", [], "name at least one facet (protected attribute)")
    labels = dataset.column(label, "label")
    positive = positive_mask(labels, positive_label_values, label_threshold, "label")
    predicted = None
    if predicted_label is not None:
        predicted = positive_mask(
            dataset.column(predicted_label, "predicted label"),
            positive_label_values,
            label_threshold,
            "predicted label",
        )
    if predicted_positive is not None:
        predicted = np.asarray(predicted_positive, dtype=bool)
        if predicted.shape != positive.shape:
            raise EvidenceError("predicted_positive", predicted.shape, f"need one prediction per row ({positive.size})")
    groups_column = dataset.column(group_variable, "group variable") if group_variable else None
    label_text = (
        _threshold_text(label_threshold, labels)
        if label_threshold is not None
        else ",".join(_text(v) for v in positive_label_values or ())
    )
    report: dict[str, Any] = {"version": "1.0"}
    stages = ("pre", "post") if predicted is not None else ("pre",)
    for stage in stages:
        section: dict[str, Any] = {"label": label, "facets": {}, "label_value_or_threshold": label_text}
        for facet in facets:
            excluded = {facet.column, label, predicted_label}
            names = [n for n in (feature_columns or dataset.names) if n not in excluded]
            features = dataset.matrix(names) if names and all(dataset.is_numeric(n) for n in names) else None
            section["facets"][facet.column] = [
                {
                    "value_or_threshold": value,
                    "metrics": _stage_metrics(stage, Groups(mask, positive, predicted), groups_column, features),
                }
                for value, mask in facet_groups(dataset, facet)
            ]
        report["pre_training_bias_metrics" if stage == "pre" else "post_training_bias_metrics"] = section
    return report


def merge_reports(*reports: Mapping[str, Any]) -> dict[str, Any]:
    """One analysis document from a pre-training and a post-training report (as Clarify writes them
    separately); a section present in several reports comes from the first."""
    merged: dict[str, Any] = {"version": "1.0"}
    for report in reports:
        for key, value in report.items():
            if key != "version":
                merged.setdefault(key, value)
    return merged
