"""The SageMaker Processing entry point of Staging validation, for holdouts too large for one function.

Shipped as a zip (``__main__.py`` + this library) and run by a public SageMaker scikit-learn
processing image: ``python3 <code>/<zip> MODE ROOT``. SageMaker downloads the inputs under ``ROOT``
(``/opt/ml/processing``) and uploads ``ROOT/output`` when the job ends.

- ``prepare``: ``holdout/*.csv`` + ``policy/policy.json`` → ``output/holdout.csv``, the transform input
  (the same file the validation Lambda writes for a small holdout).
- ``evidence``: the holdout, the policy and the transform's output (``outputs/holdout.csv.out``) →
  ``output/statistics.json``, ``bias-analysis.json``, ``explainability-analysis.json`` and
  ``feature-baseline.json``, the same documents the Lambda path stores.

Needs NumPy (and scikit-learn for the FlipTest metric); never pydantic.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from mlops_registry.core.evidence import VALIDATION_DOCUMENTS
from mlops_registry.core.evidence.dataset import read_csv
from mlops_registry.core.evidence.holdout import HoldoutSpec, evidence_from_outputs, read_outputs, transform_input


def _single(folder: Path, suffix: str) -> Path:
    found = sorted(p for p in folder.rglob(f"*{suffix}") if p.is_file())
    if len(found) != 1:
        raise SystemExit(f"expected one *{suffix} file under {folder}, found {[str(p) for p in found]}")
    return found[0]


def run(mode: str, root: Path) -> list[Path]:
    policy = json.loads(_single(root / "policy", ".json").read_text())
    spec = HoldoutSpec.from_policy(policy)
    dataset = read_csv(_single(root / "holdout", ".csv").read_bytes())
    output = root / "output"
    output.mkdir(parents=True, exist_ok=True)
    if mode == "prepare":
        target = output / "holdout.csv"
        target.write_bytes(transform_input(dataset, spec))
        return [target]
    if mode != "evidence":
        raise SystemExit(f"mode {mode!r} must be 'prepare' or 'evidence'")
    rows = min(spec.explain_rows, dataset.rows)
    expected = dataset.rows + rows * (1 + len(spec.features) * spec.explain_repeats)
    outputs = read_outputs(_single(root / "outputs", ".out").read_bytes(), expected)
    evidence = evidence_from_outputs(dataset, spec, outputs)
    written = []
    for what, document in evidence.documents().items():
        target = output / VALIDATION_DOCUMENTS[what]
        target.write_text(json.dumps(document, sort_keys=True, default=str))
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        raise SystemExit("usage: python3 validation.zip prepare|evidence ROOT")
    for path in run(args[0], Path(args[1])):
        print(f"wrote {path}")
