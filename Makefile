# Every target bootstraps what it needs: a .venv from the requirements files and the pinned CDK CLI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1
export AWS_EC2_METADATA_DISABLED := true
# Python keeps its bytecode in .cache/pycache, even where the environment disables writing it: every
# test worker, CLI, sandbox and synth process then loads the project's modules (and pytest's rewritten
# tests) compiled instead of compiling them again. Not beside the sources, so the Lambda assets and
# the synth cache's inputs stay the sources alone.
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX := $(CURDIR)/.cache/pycache
CDK := npx --no-install cdk --no-notices
ENV ?= dev
PORT ?= 4599
SANDBOX_DIR ?= .sandbox
AS ?= alice
CDK_OUT ?= cdk.out

.PHONY: help bootstrap test demo synth lint bench schema sandbox sandbox-run sandbox-invoke sandbox-traffic sandbox-reset clean
.DEFAULT_GOAL := help

help:  ## this list (bare `make` runs nothing else)
	@echo "make TARGET   (every target bootstraps .venv and the pinned CDK CLI first)"
	@awk -F ':.*## ' '/^[a-z-]+:.*## /{printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	# The distribution ships the CLI only; the CDK app, demo, sandbox and benchmarks also import the
	# Lambda families (promotion, serving, monitoring) from the checkout's lambdas/ folder.
	echo "$(CURDIR)/lambdas" > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/mlops-registry-lambdas.pth"
	# The libraries' bytecode, compiled on two cores now rather than one import at a time later.
	$(PY) -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

bootstrap: $(VENV_STAMP) $(NODE_STAMP)  ## .venv from requirements*.txt + the pinned CDK CLI

test: bootstrap  ## the whole suite (unit, integration, infra, pipeline, sandbox)
	$(PY) -m pytest -n 3 --dist loadgroup

demo: bootstrap  ## synthesize and rehearse the lifecycle offline; writes reports/rehearsal.html
	$(PY) -m demo

synth: bootstrap  ## cdk synth of one environment into cdk.out/ (ENV=dev|staging|prod, CDK_OUT=dir)
	@# The CLI's closing hint to pass a stack id is not for this target: it synthesizes every stack.
	@set -o pipefail; $(CDK) synth -c env=$(ENV) --quiet --output $(CDK_OUT) 2>&1 | sed '/^Supply a stack id/d'

lint: bootstrap  ## ruff check, ruff format --check, mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: bootstrap  ## benchmarks (about 2 minutes; prints figures, asserts nothing)
	$(PY) -m bench

schema: bootstrap  ## rewrite cdk.schema.json from the config models
	$(PY) -m infra.config

sandbox: bootstrap  ## local AWS emulator with the app on 127.0.0.1:$(PORT); state kept in $(SANDBOX_DIR); Ctrl-C stops it
	$(PY) -m offline.sandbox --state $(SANDBOX_DIR) start --port $(PORT) --env $(ENV)

sandbox-run: bootstrap  ## run the CLI against the sandbox: ARGS="status --group G" [AS=bob]
	@test -f $(SANDBOX_DIR)/env || { echo "no sandbox in $(SANDBOX_DIR): run 'make sandbox' in another shell first"; exit 2; }
	@. $(SANDBOX_DIR)/env && AWS_PROFILE=$(AS) $(VENV)/bin/registry $(ARGS)

sandbox-invoke: bootstrap  ## run a function now: FUNCTION=DriftFunction GROUP=G (its schedule's event) or PAYLOAD='{...}'
	@$(PY) -m offline.sandbox --state $(SANDBOX_DIR) invoke $(FUNCTION) $(if $(GROUP),--schedule-of $(GROUP),'$(or $(PAYLOAD),{})')

sandbox-traffic: bootstrap  ## requests on an A/B endpoint (per-variant metrics): GROUP=G [LIFT=0.5] [REQUESTS=N]
	@test -n "$(GROUP)" || { echo "GROUP= is required: the A/B-tested group whose challenger serves"; exit 2; }
	@$(PY) -m offline.sandbox --state $(SANDBOX_DIR) traffic $(GROUP) --lift $(or $(LIFT),0.5) $(if $(REQUESTS),--requests $(REQUESTS))

sandbox-reset:  ## stop the sandbox (if running) and remove its state folder
	@$(PYTHON) -m offline.sandbox --state $(SANDBOX_DIR) reset 2>/dev/null || rm -rf $(SANDBOX_DIR)

clean:  ## remove build outputs and reports
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache reports
