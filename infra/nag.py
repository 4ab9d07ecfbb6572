"""The security gate: cdk-nag AwsSolutions through the v3 ``Validations`` API.

Any unacknowledged finding fails synth with a validation report. Acknowledgements live next to the
resource they concern, each with a granular id and a specific reason.
"""

from __future__ import annotations

from aws_cdk import App, Stage, Validations
from cdk_nag import AwsSolutionsChecks


def enable_security_checks(scope: App | Stage) -> None:
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope))
