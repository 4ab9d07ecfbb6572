"""Builds the CDK app for one environment. ``app.py`` calls it; tests and benchmarks do too."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, App, Environment, Tags

from infra import constants
from infra.config import CONTEXT_KEY, ENV_CONTEXT_KEY, load
from infra.constructs.deploy_step import ServingDeployStep
from infra.constructs.promotion_pipeline import DeployStepFactory
from infra.nag import enable_security_checks
from infra.stacks.monitoring_stack import MonitoringStack
from infra.stacks.promotion_stack import PromotionStack
from infra.stacks.registry_stack import RegistryStack
from infra.stacks.serving_stack import ServingStack
from mlops_registry.core import contracts
from mlops_registry.core.config import EnvironmentConfig
from mlops_registry.core.serving_names import serving_stack_name

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def build_app(
    app: App | None = None,
    context: Mapping[str, Any] | None = None,
    deploy_step: Callable[[EnvironmentConfig], DeployStepFactory] | None = None,
) -> tuple[App, EnvironmentConfig]:
    """Create (or populate) an app with every stack of the selected environment, nag enabled.

    ``deploy_step`` builds the pipeline's deployment states from the environment's config (default:
    ``ServingDeployStep``, blue/green or A/B through the serving stacks); a platform team passes its own
    ``DeployStepFactory`` subclass here, e.g. ``build_app(deploy_step=MyDeployStep)`` in ``app.py``.
    """
    if context is None and app is None and "CDK_CONTEXT_JSON" not in os.environ:
        # ``python app.py`` outside the CDK CLI: read the context the CLI would pass.
        context = json.loads(CDK_JSON.read_text())["context"]
    app = app or App(context=dict(context) if context is not None else None)
    raw_context = {CONTEXT_KEY: app.node.try_get_context(CONTEXT_KEY)}
    loaded = load(raw_context, app.node.try_get_context(ENV_CONTEXT_KEY))
    config = loaded.config
    enable_security_checks(app)
    env = Environment(account=config.account, region=config.region) if config.account or config.region else None
    prefix = "".join(part.capitalize() for part in constants.resource_prefix(config.name).split("-"))
    registry = RegistryStack(app, f"{prefix}Registry", config=config, env=env)
    for warning in loaded.warnings:  # shown by `cdk synth`; fatal with --strict
        Annotations.of(registry).add_warning_v2("registry:placeholder-config", warning)
    serving = [
        ServingStack(
            app, serving_stack_name(config.name, group.name), config=config, group=group, registry=registry, env=env
        )
        for group in config.groups
    ]
    promotion = PromotionStack(
        app,
        f"{prefix}Promotion",
        config=config,
        registry=registry,
        deploy_step=(deploy_step or ServingDeployStep)(config),
        env=env,
    )
    for stack in serving:  # the pipeline deploys through them; they exist first
        promotion.add_stack_dependency(stack)
    MonitoringStack(app, f"{prefix}Monitoring", config=config, registry=registry, env=env)
    Tags.of(app).add("project", contracts.APP_NAME)
    Tags.of(app).add("environment", config.name)
    return app, config
