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
# Compile the dependencies' bytecode once, at install (about 16 s). Without it, where
# PYTHONDONTWRITEBYTECODE is set (as on CI here), every process compiles pandas, scikit-learn and
# PyMC from source again: 4 s more per build process and per test worker.
export UV_COMPILE_BYTECODE := 1
export DAGSTER_HOME ?= $(CURDIR)/.dagster
# Keep dbt quiet about telemetry and version checks (there is no route to either here).
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1

.PHONY: help install instance manifest run dev-db test test-spark lint pytest browser screenshots dev docs docs-site catalog demo-data bench erase clean

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
manifest: install $(MANIFEST)

# Parsed again only when a file of the dbt project changed, with the settings of the runs' dbt
# steps, so that the first of them starts from this parse (orchestration/parse.py).
DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/tests dbt_project/dbt_seeds -type f) \
	dbt_project/dbt_project.yml dbt_project/profiles.yml

$(MANIFEST): $(DBT_SOURCES) $(BIN)/dagster
	$(BIN)/python -m orchestration.parse
	@touch $@

# The Dagster instance: the repository's dagster.yaml (run queue, run retries, freshness) in the
# default DAGSTER_HOME, with Dagster's SQLite storage under it written through connections kept
# open (orchestration/instance_storage.py; the home's path written out: an instance opened from
# the folder alone, without DAGSTER_HOME set, finds it). A DAGSTER_HOME of your own keeps its own
# dagster.yaml; one without gets the storage only.
INSTANCE_STORAGE = printf 'storage:\n  custom:\n    module: orchestration.instance_storage\n    class: WarehouseSqliteStorage\n    config:\n      base_dir: "%s"\n' "$(abspath $(DAGSTER_HOME))"
instance:
	@mkdir -p $(DAGSTER_HOME)
	@if [ "$(DAGSTER_HOME)" = "$(CURDIR)/.dagster" ]; then \
		{ cat dagster.yaml; $(INSTANCE_STORAGE); } > $(DAGSTER_HOME)/dagster.yaml; \
	elif [ ! -f "$(DAGSTER_HOME)/dagster.yaml" ]; then \
		$(INSTANCE_STORAGE) > $(DAGSTER_HOME)/dagster.yaml; \
	fi

# The full Dagster log goes to $(RUN_LOG); the terminal shows progress, and on failure the error's
# own message without the stack trace (orchestration/console.py). Dagster's CLI runs through
# orchestration/dagster_cli.py, which ends the process without Python's teardown (2 s).
RUN_LOG ?= data/logs/last_run.log

run: manifest instance ## Build the whole warehouse from scratch through Dagster and print a summary
	@echo "Building the warehouse (full refresh); the full log goes to $(RUN_LOG)"
	@set -o pipefail; $(BIN)/python -m orchestration.dagster_cli asset materialize --select '*' -m orchestration.definitions \
		--partition $$($(BIN)/python -c 'from touchpoint_alchemy.settings import last_partition_key; print(last_partition_key())') \
		--config-json "$$($(BIN)/python -m orchestration.run_config)" \
		2>&1 | $(BIN)/python -m orchestration.console $(RUN_LOG)
	@$(BIN)/python -m touchpoint_alchemy.summary

# Plain dbt (cd dbt_project && dbt build -s model+) writes the development database, never the
# published file: data/dev/warehouse.duckdb (DBT_DEV_DUCKDB_PATH), made here from the published
# snapshot (docs/develop.md).
dev-db: install ## Copy the published warehouse into plain dbt's development database (data/dev/)
	@$(BIN)/python -m touchpoint_alchemy.dev_db

# sqlfluff lints the rendered SQL, one file per core (--processes 0: all of them), through
# .ci/sqlfluff_lint.py, whose workers keep their files' parse trees (DECISIONLOG 169).
# lint-imports checks the import contracts of pyproject.toml ([tool.importlinter]).
lint: manifest ## ruff, the import contracts and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo
	cd dbt_project && DBT_DEV_DUCKDB_PATH=$$(mktemp -d)/lint.duckdb ../$(BIN)/python ../.ci/sqlfluff_lint.py lint --processes 0 models tests

# Two workers (pytest-xdist), one per core: most of a build is single-threaded Python and dbt.
# Tests are spread by module, so a module's fixtures are built once; modules sharing a build run
# together, longest first (tests/conftest.py). The Spark equivalence test
# is `make test-spark`.
PYTEST_WORKERS ?= 2

pytest: manifest browser ## The test suite (real dbt, DuckDB and Dagster)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadscope -m "not spark"

# The journey report's browser test drives the system Chromium (Debian package `chromium`) through
# playwright, which never downloads a browser of its own. Installed once; a no-op when present.
browser: ## Install headless Chromium for the report's browser test (apt, once)
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && \
		$$SUDO apt-get install -y --no-install-recommends chromium; }

screenshots: browser ## Screenshots of the built journey report (make run first) into docs/img/
	$(BIN)/python -m touchpoint_alchemy.report.screenshots

test: lint pytest ## Every check: linters, dbt build with data and unit tests, pytest

# Adds the `spark` group (dbt-spark, pyspark; about 630 MB, needs Java 17+) to .venv; a later
# `make install` after a lock change, or `uv sync --frozen`, removes it again.
test-spark: manifest ## The same models on Apache Spark (local) equal DuckDB's: pytest -m spark
	$(UV) sync --frozen --group spark
	$(BIN)/pytest -m spark --durations=5 -rP

dev: manifest instance ## Start the Dagster UI on http://127.0.0.1:3000
	$(BIN)/dagster dev -m orchestration.definitions

# The dbt docs site, generated against a copy of the built warehouse (so a running build or BI
# client holding the file is never in the way), plus the journey report when it has been built,
# in one folder served on 127.0.0.1:$(DOCS_PORT). Ctrl-C stops the server.
DOCS_SITE := data/docs_site
DOCS_PORT ?= 8080
WAREHOUSE_FILE = $(abspath $(or $(WAREHOUSE_DUCKDB_PATH),data/warehouse.duckdb))

docs: manifest docs-site ## Build the dbt docs site (and copy the journey report) into data/docs_site and serve it
	@echo "Docs site in $(DOCS_SITE)/: http://127.0.0.1:$(DOCS_PORT)/ (journey report: http://127.0.0.1:$(DOCS_PORT)/reports/journey_report.html). Ctrl-C stops."
	$(BIN)/python -m http.server $(DOCS_PORT) --bind 127.0.0.1 --directory $(DOCS_SITE)

# The generation part of `make docs`, without the server (tests/scenarios/test_salt_secrecy.py builds it).
docs-site: install ## Only build the docs site into DOCS_SITE (default data/docs_site), no server
	@test -f "$(WAREHOUSE_FILE)" || { echo "No warehouse at $(WAREHOUSE_FILE): run 'make run' first (or set WAREHOUSE_DUCKDB_PATH)."; exit 2; }
	@set -euo pipefail; \
	work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	echo "Generating the dbt docs against a copy of $(WAREHOUSE_FILE) ..."; \
	cp "$(WAREHOUSE_FILE)" "$$work/warehouse.duckdb"; \
	(cd dbt_project && WAREHOUSE_DUCKDB_PATH="$$work/warehouse.duckdb" ../$(BIN)/dbt docs generate --target duckdb --quiet --target-path "$$work/target"); \
	rm -rf $(DOCS_SITE); mkdir -p $(DOCS_SITE)/reports; \
	cp "$$work/target/index.html" "$$work/target/manifest.json" "$$work/target/catalog.json" $(DOCS_SITE)/; \
	report=""; \
	for candidate in "$(dir $(WAREHOUSE_FILE))reports/journey_report.html" data/reports/journey_report.html reports/journey_report.html; do \
		if [ -f "$$candidate" ]; then report="$$candidate"; break; fi; \
	done; \
	if [ -n "$$report" ]; then \
		cp "$$report" $(DOCS_SITE)/reports/journey_report.html; \
		echo "Journey report: copied from $$report"; \
	else \
		echo "Journey report: not built yet (make run writes data/reports/journey_report.html); skipped"; \
	fi

# docs/marts.md is rendered from the manifest's descriptions, types and tests (committed; a test
# fails when it is stale).
catalog: manifest ## Regenerate the table catalog docs/marts.md from the dbt YAML
	$(BIN)/python -m touchpoint_alchemy.docs_catalog

bench: manifest ## Benchmark at SCALE touchpoints (default 5m): make bench SCALE=50m [MEMORY_LIMIT=2GB]
	$(UV) sync --frozen --group bench
	$(BIN)/python -m bench.run --scale $(SCALE) $(if $(MEMORY_LIMIT),--memory-limit $(MEMORY_LIMIT))

demo-data: install ## Regenerate the demo raw files in seeds/
	$(BIN)/python -m touchpoint_alchemy.datagen --out seeds --users 2000 --seed 42 --format csv

erase: install ## Erase one user from the warehouse and its snapshots: make erase USER_ID=u_000123
	@test -n "$(USER_ID)" || { echo "usage: make erase USER_ID=<user_id>"; exit 2; }
	$(BIN)/python -m touchpoint_alchemy.erase "$(USER_ID)"

clean: ## Remove the environment, the warehouse and build artifacts
	rm -rf $(VENV) $(TOOLS) data .dagster dbt_project/target dbt_project/logs .pytest_cache .ruff_cache bench/work bench/data
