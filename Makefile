# Touchpoint Alchemy. Two commands: `make run` builds the warehouse, `make test` checks everything.
# A fresh clone needs Python 3.12 and nothing else: uv is installed into .tools/ and the locked
# dependencies into .venv/.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
MANIFEST := dbt_project/target/manifest.json

# The environment's tools first: dagster-dbt's prepare_if_dev (make dev) calls `dbt` from PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export DAGSTER_HOME ?= $(CURDIR)/.dagster
# Keep dbt quiet about telemetry and version checks (there is no route to either here).
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1

.PHONY: help install manifest run test lint pytest dev demo-data bench clean

SCALE ?= 5m

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check 'uv>=0.9,<1'

$(BIN)/dagster: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

install: $(BIN)/dagster ## Create .venv with the locked dependencies

# The Dagster code location reads the dbt manifest; it is prepared here, never at import time.
manifest: install
	cd dbt_project && ../$(BIN)/dbt parse --quiet

run: manifest ## Build the whole warehouse through Dagster and print a summary
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster asset materialize --select '*' -m orchestration.definitions
	$(BIN)/python -m touchpoint_alchemy.summary

lint: manifest ## ruff and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && WAREHOUSE_DUCKDB_PATH=$$(mktemp -d)/lint.duckdb ../$(BIN)/sqlfluff lint models tests

pytest: manifest ## The test suite (real dbt, DuckDB and Dagster)
	$(BIN)/pytest

test: lint pytest ## Every check: linters, dbt build with data and unit tests, pytest

dev: manifest ## Start the Dagster UI on http://127.0.0.1:3000
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -m orchestration.definitions

bench: manifest ## Benchmark at SCALE touchpoints (default 5m): make bench SCALE=50m
	$(UV) sync --frozen --group bench
	$(BIN)/python -m bench.run --scale $(SCALE)

demo-data: install ## Regenerate the demo raw files in seeds/
	$(BIN)/python -m touchpoint_alchemy.datagen --out seeds --users 2000 --seed 42 --format csv

clean: ## Remove the environment, the warehouse and build artifacts
	rm -rf $(VENV) $(TOOLS) data .dagster dbt_project/target dbt_project/logs .pytest_cache .ruff_cache bench/work bench/data
