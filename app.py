#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth -c env=<dev|staging|prod>`` builds every stack of one environment."""

import os
import sys

# Node 20 is what the registries offer here; jsii's end-of-life banner would bury the real output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra.app_factory import build_app  # noqa: E402
from mlops_registry.core.config import ConfigError  # noqa: E402

try:
    app, _config = build_app()
except ConfigError as error:  # one line naming the key, the value and the rule; no traceback
    print(f"cdk.json: {error}", file=sys.stderr)
    sys.exit(1)
app.synth()
