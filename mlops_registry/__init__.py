"""The MLOps model registry's Python package.

- ``mlops_registry.core``: the shared library, shipped in every Lambda asset and installed with the CLI
  (contracts, ledger, evidence, lineage, config schema);
- ``mlops_registry.cli``: the ``registry`` command;
- ``mlops_registry.training``: the training-side helper (SageMaker Python SDK).

``lambdas/mlops_registry`` is a symbolic link to this folder so that a function's asset (``lambdas/``
filtered down to its family) carries ``mlops_registry.core``; the CLI and the training helper are
filtered out of the assets.
"""
