# One entry point per chore. Every target sets up what it needs on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The mypyc-compiled hot path (see setup.py), built outside the source tree so that no .so ever
# shadows a .py in tradestream/; bench/cext_market.py (the C-extension peer) is compiled beside it.
BUILD := bench/.build
# The build holds a copy of the whole package, so any package file makes it stale.
PACKAGE_FILES := setup.py pyproject.toml $(shell find tradestream -type f ! -name '*.pyc')

.PHONY: venv lint test test-unit test-compiled test-integration demo bench compiled stack-up \
	stack-down clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	bash scripts/check

# The test command (README, .ci/run): venv, stack up, unit + integration tests, stack down.
# Everything against the real stack, then the core unit tests on the compiled (deployed) build.
test: $(STAMP)
	bash scripts/test
	$(MAKE) test-compiled

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

$(BUILD)/.built: $(STAMP) $(PACKAGE_FILES) bench/cext_market.py
	rm -rf $(BUILD) build/compiled build/bench-peer
	TRADESTREAM_COMPILE=1 $(BIN)/python setup.py -q build --build-base build/compiled \
		--build-lib $(BUILD) 2>&1 | grep -v -e '^cc1: note' -e 'Treating generator' || true
	mkdir -p build/bench-peer
	cd build/bench-peer && MYPYPATH=../.. ../../$(BIN)/mypyc ../../bench/cext_market.py >/dev/null
	mv build/bench-peer/cext_market.*.so $(BUILD)/
	PYTHONPATH=$(BUILD) $(BIN)/python -P -c 'import tradestream.core.market as m; \
		assert not m.__file__.endswith(".py"), m.__file__'
	@touch $@

compiled: $(BUILD)/.built

# The core unit tests against the compiled build (its modules first on the path).
test-compiled: $(BUILD)/.built
	$(BIN)/pytest tests/unit/core -q -p no:cacheprovider -o pythonpath="$(BUILD) ."

test-integration: $(STAMP)
	$(BIN)/tradestream stack up
	$(BIN)/pytest tests/integration -q

demo: $(STAMP)
	$(BIN)/tradestream demo

# Benchmarks need the outside peers (order-book C extension, sortedcontainers, nautilus_trader)
# and the local stack (ingest, pipeline). Results: bench/results/*.json.
# Every bench times the interpreted package and the compiled build (bench/harness.py).
bench: $(STAMP) $(BUILD)/.built
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/tradestream stack up
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

stack-up: $(STAMP)
	$(BIN)/tradestream stack up

stack-down: $(STAMP)
	$(BIN)/tradestream stack down

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(BUILD) build
