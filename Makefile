# Quick start: `make run` (serve on 127.0.0.1:8000, embedded SQLite) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BROWSER_STAMP := tests/browser/node_modules/.installed
# Without npm the browser tests skip (and fail under CI=true).
DOCS_STAMP := ui/docs-assets/node_modules/.installed
# esbuild and tsc for the dashboard: only to rebuild (make ui) and check static/ui.
UI_STAMP := ui/dashboard/node_modules/.installed
BROWSER_DEPS := $(if $(shell command -v npm),$(BROWSER_STAMP) $(DOCS_STAMP) $(UI_STAMP))
# The TypeScript client's dev dependencies (tsc, openapi-typescript), for its tests.
TS_STAMP := clients/typescript/node_modules/.installed
# React 18 beside the client's dev React 19: the React hooks' test runs on both.
REACT18_STAMP := tests/ts_react/react18/node_modules/.installed
TS_DEPS := $(if $(shell command -v npm),$(TS_STAMP) $(REACT18_STAMP))

.PHONY: run test lint typecheck check install clean ui screenshots

# The suite runs on three processes (pytest-xdist; tests/ports.py keeps their ports apart):
# most tests wait on servers and sockets rather than on a core. `PYTEST_ARGS=` runs one.
PYTEST_ARGS ?= -n 3

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q -e clients/python
	touch $(STAMP)

# The browser tests' npm packages (playwright-core), from the committed lockfile.
$(BROWSER_STAMP): tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(TS_STAMP): clients/typescript/package-lock.json
	cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(REACT18_STAMP): tests/ts_react/react18/package-lock.json
	cd tests/ts_react/react18 && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Swagger UI and ReDoc (pinned): only to check the copies in src/mechamental/static/docs.
$(DOCS_STAMP): ui/docs-assets/package-lock.json
	cd ui/docs-assets && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(UI_STAMP): ui/dashboard/package-lock.json
	cd ui/dashboard && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Rebuild the committed dashboard (src/mechamental/static/ui) from ui/dashboard and the
# TypeScript client's sources: run it after changing either (tests/ui checks they match).
ui: $(UI_STAMP)
	cd ui/dashboard && node_modules/.bin/tsc -p tsconfig.json && node build.mjs

# docs/dashboard-*.png, taken by the dashboard's Chromium test.
screenshots: $(STAMP) $(BROWSER_DEPS)
	UI_SCREENSHOTS_DIR=$(CURDIR)/docs $(BIN)/pytest tests/ui/test_dashboard.py -n 0 -q

install: $(STAMP) $(BROWSER_DEPS) $(TS_DEPS)

run: $(STAMP)
	$(BIN)/mechamental serve

test: $(STAMP) $(BROWSER_DEPS) $(TS_DEPS)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench clients/python
	$(BIN)/ruff format --check src tests bench clients/python

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache tests/browser/node_modules \
		clients/typescript/node_modules clients/typescript/dist ui/docs-assets/node_modules \
		ui/dashboard/node_modules
