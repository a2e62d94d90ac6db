# Two commands do all set-up on a fresh machine:
#   make run    install into .venv and serve on http://127.0.0.1:8000 (SQLite file ./shipments.db)
#   make test   install into .venv, lint, type-check and run the whole suite (what CI runs)
# While changing code: make check (lint, types and the fast tests, in well under a minute).
# After changing a route or a schema: make openapi (rewrites docs/openapi.json).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck pytest fast-tests bench clean openapi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/shipments serve --host 127.0.0.1 --port 8000

test: lint typecheck pytest

check: lint typecheck fast-tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# The domain, the write use case on its in-memory store and SQLite, and the other
# unit tests: no PostgreSQL, no server process, no browser.
FAST_TESTS := tests/unit tests/application
fast-tests: $(STAMP)
	$(BIN)/pytest -q -m "not postgres and not slow and not browser" $(FAST_TESTS) $(PYTEST_ARGS)

openapi: $(STAMP)
	$(BIN)/shipments openapi --output docs/openapi.json

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info shipments.db*
