"""Typed errors of the serving family (the state machine's Retry/Catch match on the class names)."""

from __future__ import annotations

from registry_core.errors import DeploymentError, RegistryError


class ServingBusyError(DeploymentError):
    """The serving stack or endpoint is mid-operation (e.g. a platform team's deploy); retried later."""


class DeploymentTimeoutError(DeploymentError):
    """The serving stack did not settle before the deployment's deadline."""


class NoProductionVersionError(RegistryError):
    """The group has no version in Production, so there is nothing to roll back from."""


class NoPreviousVersionError(RegistryError):
    """No earlier Production version of the group can be redeployed."""
