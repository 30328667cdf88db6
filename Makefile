# The targets here are exactly what CI runs (.ci/run calls `make test`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test test-fast lint format typecheck serve seed sink contracts load selftest selftest-full bench doctor clean browser

# Creates .venv/ and installs the project editable with its dev extras; a no-op when
# pyproject.toml has not changed since the last install.
install: $(STAMP)

# pip's build chatter goes to .venv/install.log and is shown only when the install fails.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing tixallo-qa into $(VENV)/ (log: $(VENV)/install.log)"
	@( $(BIN)/python -m pip install --upgrade pip && $(BIN)/python -m pip install -e '.[dev]' ) \
		> $(VENV)/install.log 2>&1 || { tail -40 $(VENV)/install.log; echo "install failed: see $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

# The whole job on the embedded reference deployment: contracts, webhooks, a short load run.
run: $(STAMP)
	@$(BIN)/tixallo-qa run $(ARGS)

# The project's own tests (unit, integration, browser, bounded load, selfcheck subset).
test: $(STAMP) browser
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# Fast tests only: no servers, no browser.
test-fast: $(STAMP)
	@$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

# Debian's chromium for the browser tests (installed only when missing; needs root).
browser:
	@command -v chromium >/dev/null 2>&1 || scripts/ensure-chromium

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

format: $(STAMP)
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

# The reference deployment on 127.0.0.1 in the foreground, seeded, printing its TIXALLO_* settings.
serve: $(STAMP)
	@$(BIN)/tixallo-qa reference serve $(ARGS)

sink: $(STAMP)
	@$(BIN)/tixallo-qa sink $(ARGS)

contracts: $(STAMP)
	@$(BIN)/tixallo-qa contracts $(ARGS)

load: $(STAMP)
	@$(BIN)/tixallo-qa load $(ARGS)

doctor: $(STAMP)
	@$(BIN)/tixallo-qa doctor $(ARGS)

selftest: $(STAMP)
	@$(BIN)/tixallo-qa selftest $(ARGS)

bench: $(STAMP)
	@$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache .hypothesis
