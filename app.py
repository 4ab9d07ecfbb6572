#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth -c env=<dev|staging|prod>`` builds every stack of one environment."""

from infra.app_factory import build_app

app, _config = build_app()
app.synth()
