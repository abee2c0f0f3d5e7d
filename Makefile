# One entry point per chore. Every target sets up what it needs on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv lint test test-unit test-integration demo bench stack-up stack-down clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	bash scripts/check

# The test command (README, .ci/run): venv, stack up, unit + integration tests, stack down.
test: $(STAMP)
	bash scripts/test

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

test-integration: $(STAMP)
	$(BIN)/tradestream stack up
	$(BIN)/pytest tests/integration -q

demo: $(STAMP)
	$(BIN)/tradestream demo

# Benchmarks need the outside peers (order-book C extension, sortedcontainers, nautilus_trader)
# and the local stack (ingest, pipeline). Results: bench/results/*.json.
bench: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/tradestream stack up
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

stack-up: $(STAMP)
	$(BIN)/tradestream stack up

stack-down: $(STAMP)
	$(BIN)/tradestream stack down

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
