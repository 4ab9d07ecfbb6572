"""Training-side registration with the SageMaker Python SDK (v3), following the registry's contract.

Imports ``sagemaker`` (slow, and it needs a region at import time): the Lambdas and the ``registry``
CLI never import this package. See ``mlops_registry.training.registration`` (and ``mlops_registry.training.from_mlflow``
to register from an MLflow run).
"""

from mlops_registry.training.from_mlflow import register_from_run, registration_from_run
from mlops_registry.training.registration import (
    ModelRegistration,
    RegisteredVersion,
    register_model_package,
    registration_step,
)

__all__ = [
    "ModelRegistration",
    "RegisteredVersion",
    "register_from_run",
    "register_model_package",
    "registration_from_run",
    "registration_step",
]
