"""Typed domain exceptions. State machine Retry/Catch match on these class names, never on text."""

from __future__ import annotations


class RegistryError(Exception):
    """Base of every error the project raises on purpose."""


class InvalidEventError(RegistryError):
    """An incoming event or task input does not have the expected shape; names the field."""


class ForeignEventError(InvalidEventError):
    """An event (or the package it names) comes from another account, region or partition."""


class UnknownGroupError(RegistryError):
    """The model package group is not managed by this registry."""


class UnknownPackageError(RegistryError):
    """The model package ARN does not exist or is malformed."""


class ReportUnavailableError(RegistryError):
    """A report the package references cannot be read or parsed."""


class PromotionLockHeld(RegistryError):
    """Another version of the group is being promoted to Production right now."""


class ApprovalNotPendingError(RegistryError):
    """No review-board approval is waiting for this model package."""


class DeploymentError(RegistryError):
    """A deployment could not be started or ended in an unexpected state."""


class LedgerEntryExists(RegistryError):
    """A ledger entry with this key was already written (entries are never overwritten)."""


class LedgerContentionError(RegistryError):
    """The group's hash chain kept moving under concurrent writers; the append may be retried."""


class TransientServiceError(RegistryError):
    """An AWS call was still throttled or failing transiently after the client's own retries."""


THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "InternalError",  # S3
        "SlowDown",  # S3 throttling (503)
        "RequestTimeout",  # S3: the socket was not read in time
        "RequestThrottled",
        "RequestThrottledException",
        "PriorRequestNotComplete",
        "TransactionInProgressException",
        "EC2ThrottledException",
        "BandwidthLimitExceeded",
    }
)


# --- serving (the deployment Lambda and the rollback; Retry/Catch match on the class names) ---------
class ServingBusyError(DeploymentError):
    """The serving stack or endpoint is mid-operation (e.g. a platform team's deploy); retried later."""


class DeploymentTimeoutError(DeploymentError):
    """The serving stack did not settle before the deployment's deadline."""


class NoProductionVersionError(RegistryError):
    """The group has no version in Production, so there is nothing to roll back from."""


class NoPreviousVersionError(RegistryError):
    """No earlier Production version of the group can be redeployed."""
