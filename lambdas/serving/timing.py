"""How long a deployment step waits and may take: plain arithmetic over the group's deployment policy.

Free of run-time libraries (no Powertools, no boto3) so the CDK app sizes the state machine's
timeouts with the same functions the deployment service waits with.
"""

from __future__ import annotations

import math

from mlops_registry.core.config import AB_TEST_ROUTING, DeploymentPolicy

# Timing (seconds). A SageMaker endpoint update provisions new instances before any traffic moves.
PROVISIONING_SECONDS = 600
CLOUDFORMATION_MARGIN_SECONDS = 1800
POLL_BASE_SECONDS = 60
POLL_CAP_SECONDS = 900
TRAFFIC_SHIFT_WAIT_SECONDS = 30
TRAFFIC_SHIFT_DEADLINE_SECONDS = 1800
LOCK_MARGIN_SECONDS = 1800
# A standard execution's history holds 25,000 events; an evaluation look costs ~12 of them.
MAX_EVALUATIONS = 1000


def bake_seconds(policy: DeploymentPolicy, phase: str) -> int:
    """How long SageMaker's guardrails hold traffic steps for one endpoint update of this phase."""
    bg = policy.blue_green
    return bg.waiting_seconds_for(bg.traffic_routing if phase == "blue_green" else AB_TEST_ROUTING)


def first_wait_seconds(policy: DeploymentPolicy, phase: str) -> int:
    """The first look at the stack: when an update of this configuration could have finished."""
    return PROVISIONING_SECONDS + bake_seconds(policy, phase)


def poll_wait_seconds(checks: int) -> int:
    """Exponential backoff between later looks: 60 s, 120 s, 240 s, ... capped at 15 minutes."""
    return int(min(POLL_CAP_SECONDS, POLL_BASE_SECONDS * 2 ** min(checks, 16)))


def deadline_seconds(policy: DeploymentPolicy) -> int:
    """A stack update cannot outlive this: the guardrails' own timeout, twice (CloudFormation's
    rollback is another endpoint update), plus provisioning and CloudFormation's own work."""
    bg = policy.blue_green
    return 2 * (bg.maximum_execution_timeout_seconds + bg.termination_wait_seconds) + (
        PROVISIONING_SECONDS + CLOUDFORMATION_MARGIN_SECONDS
    )


def evaluation_wait_seconds(policy: DeploymentPolicy) -> int:
    """The evaluation interval, stretched when needed so a test of the maximum duration fits in one
    execution's history."""
    ab = policy.ab_test
    return max(ab.evaluation_interval_minutes * 60, math.ceil(ab.max_duration_hours * 3600 / MAX_EVALUATIONS))


def max_deployment_seconds(policy: DeploymentPolicy) -> int:
    """The longest a deployment step can take end to end (sizes the state machine's timeout)."""
    if policy.mode == "blue_green":
        return deadline_seconds(policy)
    return (
        2 * deadline_seconds(policy)
        + TRAFFIC_SHIFT_DEADLINE_SECONDS
        + (policy.ab_test.max_duration_hours * 3600 + evaluation_wait_seconds(policy))
    )
