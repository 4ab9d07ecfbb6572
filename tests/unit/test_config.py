"""The one config schema: strict keys with suggestions, layered defaults, waivers, one-line errors,
ranges at SageMaker's limits, the published policy read back by the functions, and the shipped JSON
Schema validating the shipped cdk.json (checked with jsonschema, an independent validator)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from infra.config import json_schema, load, load_config
from mlops_registry.core.config import ConfigError, GroupPolicy, publish, read_published

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTEXT = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def _context() -> dict[str, Any]:
    return copy.deepcopy(CONTEXT)


def _registry(ctx: dict[str, Any]) -> dict[str, Any]:
    registry: dict[str, Any] = ctx["registry"]
    return registry


# --- the shipped configuration ------------------------------------------------------------------------
def test_shipped_environments_load_with_three_groups_and_an_ab_test() -> None:
    for env in ("dev", "staging", "prod"):
        config = load_config(CONTEXT, env)
        assert len(config.groups) >= 3
        assert any(g.deployment.mode == "ab_test" for g in config.groups)
    assert load_config(CONTEXT).name == "dev"


def test_the_published_policy_round_trips_and_is_read_as_strictly_as_cdk_json() -> None:
    # Given a group's published policy document (what the SSM parameter holds)
    group = load_config(CONTEXT, "prod").groups[0]
    document = json.loads(json.dumps(publish(group)))
    # Then it reads back to the same policy, and every default is explicit in it
    assert read_published(document) == group
    assert document["deployment"]["blueGreen"]["error5xxThreshold"] == group.deployment.blue_green.error_5xx_threshold
    assert document["deployment"]["maxInstanceCount"] == group.deployment.max_instance_count
    # When a function reads a policy whose key was renamed on one side, Then it refuses it by name
    document["deployment"]["blueGreen"]["canaryPercentage"] = document["deployment"]["blueGreen"].pop("canaryPercent")
    with pytest.raises(
        ConfigError, match=r"policy\.deployment\.blueGreen\.canaryPercentage.*did you mean 'canaryPercent'"
    ):
        read_published(document)


# --- layers ----------------------------------------------------------------------------------------------
def test_defaults_environment_defaults_group_and_override_apply_in_that_order() -> None:
    # Given a value at every layer for one key, and a key set only in the shared defaults
    ctx = _context()
    registry = _registry(ctx)
    registry["defaults"]["monitoring"] = {"psiThreshold": 0.5, "ksThreshold": 0.3}
    registry["environments"]["staging"]["defaults"] = {"monitoring": {"psiThreshold": 0.4}}
    churn, fraud = registry["groups"][0], registry["groups"][1]
    churn["monitoring"]["psiThreshold"] = 0.3
    fraud["monitoring"].pop("psiThreshold")
    fraud["monitoring"].pop("ksThreshold")
    registry["environments"]["staging"]["groups"] = {"churn-classifier": {"monitoring": {"psiThreshold": 0.25}}}
    # When staging and dev load
    staging, dev = load_config(ctx, "staging"), load_config(ctx, "dev")
    # Then the most specific layer wins, and mappings merge key by key
    assert staging.group("churn-classifier").monitoring.psi_threshold == 0.25
    assert dev.group("churn-classifier").monitoring.psi_threshold == 0.3
    assert staging.group("fraud-detector").monitoring.psi_threshold == 0.4
    assert dev.group("fraud-detector").monitoring.psi_threshold == 0.5
    assert dev.group("fraud-detector").monitoring.ks_threshold == 0.3
    assert staging.group("churn-classifier").monitoring.ks_threshold == churn["monitoring"]["ksThreshold"]


def test_prod_overrides_capacity_without_repeating_the_group() -> None:
    prod, dev = (
        load_config(CONTEXT, "prod").group("churn-classifier"),
        load_config(CONTEXT, "dev").group("churn-classifier"),
    )
    assert (dev.deployment.instance_count, prod.deployment.instance_count) == (1, 2)
    assert prod.deployment.blue_green.wait_interval_seconds == 600
    assert prod.deployment.blue_green.canary_percent == dev.deployment.blue_green.canary_percent
    assert prod.metrics == dev.metrics


def test_lists_replace_rather_than_merge() -> None:
    ctx = _context()
    _registry(ctx)["environments"]["dev"]["groups"] = {"churn-classifier": {"features": ["only_one"]}}
    assert load_config(ctx, "dev").group("churn-classifier").features == ("only_one",)


# --- waiver -----------------------------------------------------------------------------------------------
WAIVER = {"reason": "ranking model scores items; no person-level attributes", "approvedBy": "risk-office@corp"}


def test_a_group_without_protected_attributes_needs_an_explicit_waiver_with_a_reason() -> None:
    ctx = _context()
    group = _registry(ctx)["groups"][2]
    group.pop("fairness")
    with pytest.raises(ConfigError) as missing:
        load_config(ctx, "dev")
    assert missing.value.key == "registry.groups[2]" and "fairnessWaiver" in str(missing.value)
    group["fairnessWaiver"] = WAIVER
    waived = load_config(ctx, "dev").group("recommender-ranker")
    assert waived.fairness is None and waived.fairness_waiver is not None
    assert waived.fairness_waiver.approved_by == "risk-office@corp"
    group["fairnessWaiver"] = {"reason": "n/a", "approvedBy": "me"}
    with pytest.raises(ConfigError, match=r"fairnessWaiver\.reason.*at least 10 characters"):
        load_config(ctx, "dev")


def test_fairness_and_a_waiver_together_are_refused() -> None:
    ctx = _context()
    _registry(ctx)["groups"][0]["fairnessWaiver"] = WAIVER
    with pytest.raises(ConfigError, match="exactly one of 'fairness'"):
        load_config(ctx, "dev")


# --- unknown keys ---------------------------------------------------------------------------------------
def test_a_misspelled_key_is_an_error_with_a_suggestion() -> None:
    ctx = _context()
    _registry(ctx)["groups"][0]["deployment"]["blueGreen"]["canaryPercnt"] = 40
    with pytest.raises(ConfigError) as raised:
        load_config(ctx, "dev")
    assert str(raised.value) == (
        "invalid config at 'registry.groups[0].deployment.blueGreen.canaryPercnt' (value 40): "
        "unknown key; did you mean 'canaryPercent'?"
    )


def test_snake_case_is_refused_naming_the_camel_case_key() -> None:
    ctx = _context()
    _registry(ctx)["environments"]["prod"]["groups"]["fraud-detector"]["deployment"]["max_instance_count"] = 4
    with pytest.raises(ConfigError) as raised:
        load_config(ctx, "prod")
    assert raised.value.key == "registry.environments.prod.groups.fraud-detector.deployment.max_instance_count"
    assert "write 'maxInstanceCount'" in str(raised.value)


def test_an_override_of_an_undefined_group_is_an_error_with_a_suggestion() -> None:
    ctx = _context()
    _registry(ctx)["environments"]["prod"]["groups"]["churn-clasifier"] = {}
    with pytest.raises(ConfigError, match="not defined; did you mean 'churn-classifier'"):
        load_config(ctx, "prod")


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(ctx: dict[str, Any]) -> None:
        node = _registry(ctx)
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _duplicate_group(ctx: dict[str, Any]) -> None:
    groups = _registry(ctx)["groups"]
    groups.append(copy.deepcopy(groups[0]))


G0 = "registry.groups[0]"
CASES = [
    ("unknown env", None, "qa", "env"),
    ("duplicate group", _duplicate_group, "dev", "registry.groups[3].name"),
    (
        "malformed account",
        _set(["environments", "dev", "account"], "12345"),
        "dev",
        "registry.environments.dev.account",
    ),
    (
        "malformed reader account",
        _set(["environments", "dev", "registryReaderAccounts"], ["abc"]),
        "dev",
        "registry.environments.dev.registryReaderAccounts[0]",
    ),
    ("bad region", _set(["environments", "dev", "region"], "mars-1"), "dev", "registry.environments.dev.region"),
    (
        "bad email",
        _set(["environments", "dev", "reviewBoardEmails"], ["not-an-email"]),
        "dev",
        "registry.environments.dev.reviewBoardEmails[0]",
    ),
    (
        "unknown environment key",
        _set(["environments", "dev", "reviewBoardEmail"], []),
        "dev",
        "registry.environments.dev.reviewBoardEmail",
    ),
    (
        "review board principal that is a group, not a role or user",
        _set(["environments", "prod", "reviewBoardPrincipals"], ["arn:aws:iam::333333333333:group/board"]),
        "prod",
        "registry.environments.prod.reviewBoardPrincipals[0]",
    ),
    (
        "review board principal of another account",
        _set(["environments", "prod", "reviewBoardPrincipals"], ["arn:aws:iam::222222222222:role/board"]),
        "prod",
        "registry.environments.prod",
    ),
    (
        "misspelled review board key",
        _set(["environments", "prod", "reviewBoardPrincipal"], ["arn:aws:iam::333333333333:role/board"]),
        "prod",
        "registry.environments.prod.reviewBoardPrincipal",
    ),
    ("unknown deployment mode", _set(["groups", 0, "deployment", "mode"], "shadow"), "dev", f"{G0}.deployment.mode"),
    ("tolerance out of range", _set(["groups", 0, "championTolerance"], 1.5), "dev", f"{G0}.championTolerance"),
    (
        "significance out of range",
        _set(["groups", 2, "deployment", "abTest", "significanceLevel"], 0.5),
        "dev",
        "registry.groups[2].deployment.abTest.significanceLevel",
    ),
    (
        "minimum detectable effect not positive",
        _set(["groups", 2, "deployment", "abTest", "minimumDetectableEffect"], 0),
        "dev",
        "registry.groups[2].deployment.abTest.minimumDetectableEffect",
    ),
    (
        "weight out of range",
        _set(["groups", 2, "deployment", "abTest", "challengerWeight"], 1.0),
        "dev",
        "registry.groups[2].deployment.abTest.challengerWeight",
    ),
    (
        "guardrail timeout below SageMaker range",
        _set(["groups", 0, "deployment", "blueGreen", "maximumExecutionTimeoutSeconds"], 60),
        "dev",
        f"{G0}.deployment.blueGreen.maximumExecutionTimeoutSeconds",
    ),
    (
        "wait interval above SageMaker range",
        _set(["groups", 0, "deployment", "blueGreen", "waitIntervalSeconds"], 7200),
        "dev",
        f"{G0}.deployment.blueGreen.waitIntervalSeconds",
    ),
    (
        "linear step below SageMaker's 10%",
        _set(["groups", 1, "deployment", "blueGreen", "linearStepPercent"], 5),
        "dev",
        "registry.groups[1].deployment.blueGreen.linearStepPercent",
    ),
    (
        "more rollback alarms than SageMaker accepts",
        _set(["groups", 0, "deployment", "blueGreen", "extraAlarmNames"], [f"a{i}" for i in range(9)]),
        "dev",
        f"{G0}.deployment.blueGreen.extraAlarmNames",
    ),
    (
        "fairness min above max",
        _set(["groups", 0, "fairness", "thresholds", 0, "min"], 0.5),
        "dev",
        f"{G0}.fairness.thresholds[0]",
    ),
    ("metric direction", _set(["groups", 0, "metrics", 0, "direction"], "up"), "dev", f"{G0}.metrics[0].direction"),
    ("number as text", _set(["groups", 0, "metrics", 0, "baseline"], "0.8"), "dev", f"{G0}.metrics[0].baseline"),
    (
        "boolean as number",
        _set(["defaults", "deployment", "instanceCount"], True),
        "dev",
        # named where it was set: the defaults layer (a group that merges into it keeps that path)
        "registry.defaults.deployment.instanceCount",
    ),
    ("group name pattern", _set(["groups", 0, "name"], "bad_name!"), "dev", f"{G0}.name"),
    ("no groups", _set(["groups"], []), "dev", "registry.groups"),
    (
        "instance type",
        _set(["groups", 0, "deployment", "instanceType"], "m5.large"),
        "dev",
        f"{G0}.deployment.instanceType",
    ),
    ("psi threshold", _set(["groups", 0, "monitoring", "psiThreshold"], 0), "dev", f"{G0}.monitoring.psiThreshold"),
    ("risk rating", _set(["groups", 0, "riskRating"], "extreme"), "dev", f"{G0}.riskRating"),
    (
        "approval timeout",
        _set(["environments", "dev", "approvalTimeoutHours"], 0),
        "dev",
        "registry.environments.dev.approvalTimeoutHours",
    ),
    (
        "capacity below the instance count, set in an override",
        _set(["environments", "prod", "groups", "fraud-detector", "deployment", "maxInstanceCount"], 2),
        "prod",
        "registry.environments.prod.groups.fraud-detector.deployment",
    ),
    (
        "bad value in a prod override",
        _set(["environments", "prod", "groups", "churn-classifier", "deployment", "instanceCount"], 0),
        "prod",
        "registry.environments.prod.groups.churn-classifier.deployment.instanceCount",
    ),
    (
        "mlflow kind",
        _set(["environments", "dev", "mlflow", "kind"], "serverless"),
        "dev",
        "registry.environments.dev.mlflow.kind",
    ),
    (
        "mlflow server size",
        _set(["environments", "dev", "mlflow", "trackingServerSize"], "XLarge"),
        "dev",
        "registry.environments.dev.mlflow.trackingServerSize",
    ),
    (
        "mlflow version pattern",
        _set(["environments", "dev", "mlflow", "mlflowVersion"], "latest"),
        "dev",
        "registry.environments.dev.mlflow.mlflowVersion",
    ),
    (
        "mlflow version longer than CreateMlflowTrackingServer allows (16)",
        _set(["environments", "dev", "mlflow", "mlflowVersion"], "3.0.0.0.0.0.0.0.0"),
        "dev",
        "registry.environments.dev.mlflow.mlflowVersion",
    ),
    (
        "mlflow version no SageMaker tracking server runs",
        _set(["environments", "dev", "mlflow", "mlflowVersion"], "2.9"),
        "dev",
        "registry.environments.dev.mlflow.mlflowVersion",
    ),
    (
        "mlflow version on an MLflow App",
        _set(["environments", "staging", "mlflow", "mlflowVersion"], "3.0"),
        "staging",
        "registry.environments.staging.mlflow",
    ),
    (
        "mlflow maintenance window",
        _set(["environments", "dev", "mlflow", "weeklyMaintenanceWindowStart"], "Sunday 03:00"),
        "dev",
        "registry.environments.dev.mlflow.weeklyMaintenanceWindowStart",
    ),
    (
        "mlflow external without a tracking URI",
        _set(["environments", "dev", "mlflow"], {"kind": "external"}),
        "dev",
        "registry.environments.dev.mlflow",
    ),
    (
        "mlflow tracking URI on a managed kind",
        _set(["environments", "dev", "mlflow", "trackingUri"], "https://mlflow.example.org"),
        "dev",
        "registry.environments.dev.mlflow",
    ),
    (
        "mlflow tracking URI scheme",
        _set(["environments", "dev", "mlflow"], {"kind": "external", "trackingUri": "file:///tmp/mlruns"}),
        "dev",
        "registry.environments.dev.mlflow.trackingUri",
    ),
    (
        "mlflow mirror attempts",
        _set(["environments", "dev", "mlflow", "mirrorAttempts"], 0),
        "dev",
        "registry.environments.dev.mlflow.mirrorAttempts",
    ),
    (
        "mlflow unknown key",
        _set(["environments", "dev", "mlflow", "trackingServerName"], "x"),
        "dev",
        "registry.environments.dev.mlflow.trackingServerName",
    ),
    (
        "feature name with a control character",
        _set(["groups", 0, "features"], ["ok", "bad\tname"]),
        "dev",
        f"{G0}.features",
    ),
    ("empty explainability label", _set(["groups", 0, "explainabilityLabel"], ""), "dev", f"{G0}.explainabilityLabel"),
    (
        "explainability label not text",
        _set(["groups", 0, "explainabilityLabel"], 1),
        "dev",
        f"{G0}.explainabilityLabel",
    ),
    (
        "holdout outside the governed prefix",
        _set(["groups", 0, "validation", "holdout", "key"], "datasets/churn.csv"),
        "dev",
        f"{G0}.validation.holdout.key",
    ),
    (
        "holdout that is not CSV",
        _set(["groups", 0, "validation", "holdout", "key"], "holdout/churn.parquet"),
        "dev",
        f"{G0}.validation.holdout.key",
    ),
    ("no holdout", _set(["groups", 0, "validation"], {"tolerance": 0.01}), "dev", f"{G0}.validation.holdout"),
    (
        "unknown holdout problem type",
        _set(["groups", 0, "validation", "holdout", "problemType"], "ranking"),
        "dev",
        f"{G0}.validation.holdout.problemType",
    ),
    (
        "negative tolerance",
        _set(["defaults", "validation", "tolerance"], -0.01),
        "dev",
        "registry.defaults.validation.tolerance",
    ),
    (
        "tolerance as text",
        _set(["environments", "prod", "defaults"], {"validation": {"tolerance": "0.05"}}),
        "prod",
        "registry.environments.prod.defaults.validation.tolerance",
    ),
    (
        "validation timeout beyond a transform job's 48 hours",
        _set(["groups", 1, "validation", "timeoutMinutes"], 3000),
        "dev",
        "registry.groups[1].validation.timeoutMinutes",
    ),
    (
        "negative metric tolerance",
        _set(["groups", 2, "validation", "metricTolerances"], {"rmse": -1}),
        "dev",
        "registry.groups[2].validation.metricTolerances.rmse",
    ),
    (
        "misspelled validation key",
        _set(["groups", 0, "validation", "tolerence"], 0.01),
        "dev",
        f"{G0}.validation.tolerence",
    ),
    (
        "label column that is a feature",
        _set(["groups", 0, "validation", "holdout", "labelColumn"], "tenure_months"),
        "dev",
        G0,
    ),
    (
        "facet columns without a protected attribute",
        _set(["groups", 0, "validation", "holdout", "facetColumns"], ["gender"]),
        "dev",
        G0,
    ),
    (
        "tolerance for a metric the group does not gate on",
        _set(["groups", 0, "validation", "metricTolerances"], {"precision": 0.01}),
        "dev",
        G0,
    ),
]


@pytest.mark.parametrize(("case", "mutate", "env", "key"), CASES, ids=[c[0] for c in CASES])
def test_invalid_config_is_rejected_naming_the_key(case: str, mutate: Any, env: str, key: str) -> None:
    # Given the shipped config with one bad value
    ctx = _context()
    if mutate:
        mutate(ctx)
    # When it is loaded, Then the one-line error names the key path
    with pytest.raises(ConfigError) as raised:
        load_config(ctx, env)
    assert raised.value.key == key
    assert f"'{key}'" in str(raised.value) and "\n" not in str(raised.value)


def test_validation_defaults_merge_and_reach_the_published_policy() -> None:
    from mlops_registry.core.config import publish, read_published

    ctx = _context()
    _registry(ctx)["groups"][2]["validation"]["metricTolerances"] = {"rmse": 0.2}
    ranker = load_config(ctx, "prod").group("recommender-ranker")
    # Given defaults (tolerance, timeout) and a group's holdout, Then both layers reach the policy
    assert ranker.validation.tolerance == _registry(ctx)["defaults"]["validation"]["tolerance"]
    assert ranker.validation.tolerance_for("rmse") == 0.2 and ranker.validation.tolerance_for("ndcg_at_10") == 0.03
    assert ranker.validation.holdout.problem_type == "regression"
    assert ranker.facet_columns == ("region",)
    assert read_published(publish(ranker)) == ranker


def test_validation_error_message_names_path_value_and_rule() -> None:
    ctx = _context()
    _registry(ctx)["groups"][0]["validation"]["holdout"]["key"] = "s3://elsewhere/x.csv"
    with pytest.raises(ConfigError) as raised:
        load_config(ctx, "dev")
    message = str(raised.value)
    assert message.startswith(
        "invalid config at 'registry.groups[0].validation.holdout.key' (value 's3://elsewhere/x.csv'): "
    )
    assert "holdout/" in message and "\n" not in message


def test_real_feature_names_are_accepted() -> None:
    ctx = _context()
    _registry(ctx)["groups"][0]["features"] = ["Capital Gain", "Education-Num", "Hours per week", "Age"]
    assert load_config(ctx, "dev").groups[0].features[0] == "Capital Gain"


def test_explainability_label_is_optional_and_published() -> None:
    from mlops_registry.core.config import publish, read_published

    assert load_config(_context(), "dev").groups[0].explainability_label is None
    ctx = _context()
    _registry(ctx)["groups"][0]["explainabilityLabel"] = "label1"
    group = load_config(ctx, "dev").groups[0]
    assert group.explainability_label == "label1"
    assert read_published(publish(group)).explainability_label == "label1"


# --- warnings -----------------------------------------------------------------------------------------------
def test_placeholder_accounts_and_addresses_warn_naming_the_key() -> None:
    warnings = load(CONTEXT, "prod").warnings
    assert "registry.environments.prod.account '333333333333' looks like a placeholder account id" in warnings
    assert any("reviewBoardEmails[1] 'ml-risk@example.com'" in w for w in warnings)
    ctx = _context()
    env = _registry(ctx)["environments"]["prod"]
    env.update(account="480125374612", reviewBoardEmails=["ml-board@bank.co.uk"])
    assert load(ctx, "prod").warnings == ()


def test_placeholder_warnings_reach_cdk_synth_as_warnings(synthesized_prod: Any) -> None:
    # Given the shipped prod environment, whose account ids are placeholders, When the app is
    # synthesized, Then its cloud assembly carries the warning `cdk synth` prints (fatal with --strict)
    warnings = synthesized_prod.warnings()
    assert [w for w in warnings if "placeholder account id" in w and "registry:placeholder-config" in w], warnings


def test_a_config_error_at_synth_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    # Given a cdk.json with a misspelled key, When the CDK app runs as the CLI runs it
    ctx = _context()
    _registry(ctx)["groups"][0]["deployment"]["blueGreen"]["canaryPercnt"] = 40
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "app.py")],
        env={"CDK_CONTEXT_JSON": json.dumps(ctx), "PATH": "/usr/bin:/bin", "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    # Then it exits 1 with exactly one line naming key, value and rule
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "cdk.json: invalid config at 'registry.groups[0].deployment.blueGreen.canaryPercnt' (value 40): "
        "unknown key; did you mean 'canaryPercent'?"
    ]


# --- JSON Schema -------------------------------------------------------------------------------------------
def test_the_shipped_json_schema_is_current_and_validates_the_shipped_cdk_json() -> None:
    shipped = json.loads((REPO_ROOT / "cdk.schema.json").read_text())
    assert shipped == json.loads(json.dumps(json_schema())), "run `make schema`"
    jsonschema.Draft202012Validator.check_schema(shipped)
    document = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert list(jsonschema.Draft202012Validator(shipped).iter_errors(document)) == []


def test_the_json_schema_flags_what_the_loader_refuses() -> None:
    schema = json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    document = json.loads((REPO_ROOT / "cdk.json").read_text())
    bad = copy.deepcopy(document)
    bad["context"]["registry"]["groups"][0]["deployment"]["blueGreen"]["canaryPercnt"] = 40
    bad["context"]["registry"]["environments"]["prod"]["groups"]["churn-classifier"]["deployment"]["instanceCount"] = 0
    bad["context"]["registry"]["groups"][1]["deployment"]["blueGreen"]["linearStepPercent"] = 5
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert any("'canaryPercnt' was unexpected" in m for m in messages)
    assert any("0 is less than the minimum of 1" in m for m in messages)
    assert any("5 is less than the minimum of 10" in m for m in messages)


def test_python_code_may_build_policies_with_field_names() -> None:
    policy = GroupPolicy(
        name="g",
        features=("a",),
        metrics=({"name": "auc", "baseline": 0.5},),  # type: ignore[arg-type]
        fairness_waiver={"reason": "no people in this data set", "approved_by": "x"},  # type: ignore[arg-type]
        deployment={"mode": "blue_green", "instance_type": "ml.m5.large"},  # type: ignore[arg-type]
        validation={"holdout": {"key": "holdout/g.csv", "label_column": "y"}},  # type: ignore[arg-type]
    )
    assert policy.deployment.max_instance_count == 1
    assert policy.validation.tolerance_for("auc") == 0.02
    assert read_published(publish(policy)) == policy


def test_minimum_detectable_effect_defaults_and_reaches_the_published_policy() -> None:
    ab_group = next(g for g in load_config(CONTEXT, "dev").groups if g.deployment.mode == "ab_test")
    assert ab_group.deployment.ab_test.minimum_detectable_effect == 0.1
    ctx = _context()
    _set(["groups", 2, "deployment", "abTest", "minimumDetectableEffect"], 0.05)(ctx)
    group = load_config(ctx, "dev").groups[2]
    assert read_published(publish(group)).deployment.ab_test.minimum_detectable_effect == 0.05


def test_review_board_principals_default_to_none_and_accept_roles_and_users_of_the_account() -> None:
    # Given the shipped config, Then no principals are named (the stack creates the board's role)
    assert load_config(CONTEXT, "prod").review_board_principals == ()
    # When prod names a role (with a path) and a user of its own account
    ctx = _context()
    principals = ["arn:aws:iam::333333333333:role/governance/ml-board", "arn:aws:iam::333333333333:user/risk-officer"]
    _registry(ctx)["environments"]["prod"]["reviewBoardPrincipals"] = principals
    # Then they load as given
    assert load_config(ctx, "prod").review_board_principals == tuple(principals)
    # And a principal of another account names the rule and the value
    _registry(ctx)["environments"]["prod"]["reviewBoardPrincipals"] = ["arn:aws:iam::222222222222:role/board"]
    with pytest.raises(
        ConfigError, match=r"reviewBoardPrincipals\[0\] 'arn:aws:iam::222222222222:role/board'.*333333333333"
    ):
        load_config(ctx, "prod")


# --- experiment tracking --------------------------------------------------------------------------------
def test_shipped_mlflow_settings_per_environment() -> None:
    dev, staging, prod = (load_config(CONTEXT, env).mlflow for env in ("dev", "staging", "prod"))
    assert dev is not None and (dev.kind, dev.tracking_server_size, dev.mlflow_version) == (
        "trackingServer",
        "Small",
        "3.0",
    )
    assert staging is not None and staging.kind == "app"
    assert prod is not None and (prod.kind, prod.tracking_server_size) == ("trackingServer", "Medium")
    # Every default the two resources' documentation disagrees on is explicit in the model
    assert dev.automatic_model_registration is False and dev.artifact_prefix == "mlflow"


@pytest.mark.parametrize(
    "uri",
    [
        "https://mlflow.internal.example.org",
        "http://10.0.0.5:5000/",
        "arn:aws:sagemaker:eu-west-1:222222222222:mlflow-tracking-server/team-server",
        "arn:aws:sagemaker:eu-west-1:222222222222:mlflow-app/app-0123456789ab",
    ],
)
def test_an_existing_tracking_uri_is_accepted_for_kind_external(uri: str) -> None:
    ctx = _context()
    _registry(ctx)["environments"]["dev"]["mlflow"] = {"kind": "external", "trackingUri": uri}
    mlflow = load_config(ctx, "dev").mlflow
    assert mlflow is not None and (mlflow.kind, mlflow.tracking_uri) == ("external", uri)


def test_an_environment_without_mlflow_has_no_experiment_tracking() -> None:
    ctx = _context()
    del _registry(ctx)["environments"]["dev"]["mlflow"]
    assert load_config(ctx, "dev").mlflow is None


@pytest.mark.parametrize("version", ["2.13", "2.16.2", "3.0", "3.0.0"])
def test_mlflow_versions_sagemaker_documents_are_accepted(version: str) -> None:
    from mlops_registry.core.config import MlflowPolicy

    assert MlflowPolicy.model_validate({"mlflowVersion": version}).mlflow_version == version


def test_the_mlflow_version_error_names_the_value_and_the_served_releases() -> None:
    from mlops_registry.core.config import MlflowPolicy

    with pytest.raises(ValueError) as refused:
        MlflowPolicy.model_validate({"mlflowVersion": "2.9"})
    assert "'2.9' is not a release SageMaker tracking servers run (2.13, 2.16, 3.0)" in str(refused.value)
