"""Training-side registration with the SageMaker Python SDK (v3), following the registry's contract.

Imports ``sagemaker`` (slow, and it needs a region at import time): the Lambdas and the ``registry``
CLI never import this package. See ``registry_training.registration``.
"""

from registry_training.registration import (
    ModelRegistration,
    RegisteredVersion,
    register_model_package,
    registration_step,
)

__all__ = ["ModelRegistration", "RegisteredVersion", "register_model_package", "registration_step"]
