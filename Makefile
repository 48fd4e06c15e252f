# The ERP's commands. Every target installs what it needs into .venv first (python3 is all a
# machine needs). `make run` serves every function on http://127.0.0.1:8080 (embedded:
# SQLite, in-process cache and events); `make test` runs the test suite the same way.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
STACK ?= stack.yml
WORKERS ?= 1
DEPS := requirements-dev.txt shared/requirements.txt shared/requirements-mysqlclient.txt shared/pyproject.toml \
        infra/local/pyproject.toml templates/python3-http-erp/requirements.txt
STAMP := $(VENV)/.installed
# axe-core, for the console's accessibility check in the browser tests (pinned; build/ is git-ignored).
AXE_VERSION := 4.14.1
AXE := build/axe-core/node_modules/axe-core/axe.min.js

.PHONY: install console-assets run test test-services bench lint migrate stack shrinkwrap deploy deploy-ce clean

$(STAMP): $(DEPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# mysqlclient (C) where it builds, else PyMySQL (installed above): one line either way, pip's output in a log.
	@$(BIN)/python -m pip install --disable-pip-version-check -r shared/requirements-mysqlclient.txt \
	  >$(VENV)/mysqlclient-install.log 2>&1 \
	  && echo "mysqlclient installed: MySQL is reached through it" \
	  || echo "mysqlclient not installed (it needs libmariadb-dev and a C compiler; $(VENV)/mysqlclient-install.log says why): MySQL is reached through PyMySQL"
	touch $(STAMP)

install: $(STAMP)

# Without npm the browser tests still run; only their axe-core check is skipped (and says so).
console-assets:
	@test -f $(AXE) || { command -v npm >/dev/null \
	  && npm install --silent --prefix build/axe-core --no-save --no-package-lock --no-audit --no-fund axe-core@$(AXE_VERSION) \
	  || echo "npm not found: the console's axe-core check will be skipped"; }

run: $(STAMP)
	$(BIN)/erp run --host $(HOST) --port $(PORT) --stack $(STACK) --workers $(WORKERS)

test: $(STAMP) console-assets
	$(BIN)/pytest

test-services: $(STAMP) console-assets
	ERP_TEST_BACKEND=services $(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m tests.bench

lint: $(STAMP)
	$(BIN)/ruff check shared infra functions packs templates tests

migrate: $(STAMP)
	$(BIN)/erp migrate

# stack.yml, stack.ce.yml, functions/*, packs/*, docs/functions.md and the README's function tables,
# written from the declarations (commit what it writes; a test fails when they are stale).
stack: $(STAMP)
	$(BIN)/erp stack

shrinkwrap:
	faas-cli build --shrinkwrap -f $(STACK)

deploy:
	faas-cli up -f stack.yml

deploy-ce:
	faas-cli up -f stack.ce.yml

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
