"""``make bench``: prints every benchmark figure of the project in one run. Never asserts times."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
for variable, value in {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(variable, value)


def main() -> int:
    from bench import drift, lambdas, rehearsal, serving, synth

    for module in (synth, lambdas, serving, rehearsal, drift):
        print(module.report(module.run()), flush=True)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
