"""The platform's own evidence: model quality, bias, explainability and the drift feature baseline.

SageMaker Clarify and Model Monitor are closed to new customers, so the registry computes the reports
they used to write, in their formats, from a labelled data set with the model's outputs:

- ``quality``: model-quality ``statistics.json`` (binary classification with a threshold, multiclass,
  regression), as Model Monitor's model-quality job writes it;
- ``bias``: Clarify's ``analysis.json`` pre- and post-training bias metrics per facet value;
- ``explain``: global feature attributions (SHAP through the ``shap`` library, or permutation
  importance) in Clarify's ``explanations`` format;
- ``baseline``: the drift feature baseline (``mlops_registry.core.baseline``) of the same data;
- ``dataset``: the tabular input all of them read (CSV with a header row).

One implementation serves the training helper (``mlops_registry.training``), the CLI
(``registry register --evidence-from``) and the platform's validation. It needs NumPy (and
scikit-learn / shap for the explainers); the promotion Lambdas never import it, they only read reports.
"""

from mlops_registry.core.evidence.errors import EvidenceError

# The documents of a Staging validation, by the file name both validation paths store them under.
VALIDATION_DOCUMENTS = {
    "metrics": "statistics.json",
    "bias": "bias-analysis.json",
    "explainability": "explainability-analysis.json",
    "baseline": "feature-baseline.json",
}

__all__ = ["VALIDATION_DOCUMENTS", "EvidenceError"]
