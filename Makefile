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
CDK := npx --no-install cdk --no-notices
ENV ?= dev

.PHONY: all bootstrap test demo synth lint bench schema clean

all: test

$(VENV_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	# Compiled bytecode saves ~5 s per CDK synth (this environment disables writing .pyc on import).
	$(PY) -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

bootstrap: $(VENV_STAMP) $(NODE_STAMP)

test: bootstrap
	$(PY) -m pytest

demo: bootstrap
	$(PY) -m demo

synth: bootstrap
	$(CDK) synth --all -c env=$(ENV) --quiet

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: bootstrap
	$(PY) -m bench

schema: bootstrap  # rewrite cdk.schema.json from the config models
	$(PY) -m infra.config

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache reports
