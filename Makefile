# The targets README.md and .ci/run use. Everything runs from the project's own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME ?= demo-home
# The machine's PostgreSQL server; each test gets a fresh database of its own there.
POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: setup demo demo-portal test test-postgres lint format bench ci clean

$(BIN)/zvk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/zvk

## demo: a fresh home with a sample member and sender; ingests sample files, shows a protocol
demo: $(BIN)/zvk
	rm -rf $(DEMO_HOME)
	$(BIN)/zvk --home $(DEMO_HOME) demo

## demo-portal: the demo home with portal accounts (fund operator, administrator, clerk), their
## one-time passwords printed, then `zvk serve` with the portal at http://127.0.0.1:8080/
demo-portal: $(BIN)/zvk
	rm -rf $(DEMO_HOME)
	$(BIN)/zvk --home $(DEMO_HOME) demo > /dev/null
	$(BIN)/zvk --home $(DEMO_HOME) demo-portal
	$(BIN)/zvk --home $(DEMO_HOME) serve

## test: the whole test suite on the embedded default (SQLite)
test: $(BIN)/zvk
	$(BIN)/python -m pytest

## test-postgres: the whole test suite again, on PostgreSQL
test-postgres: $(BIN)/zvk
	ZVK_TEST_POSTGRES=$(POSTGRES_URL) $(BIN)/python -m pytest

lint: $(BIN)/zvk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(BIN)/zvk
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/zvk
	$(BIN)/python bench/run.py

ci: lint test test-postgres

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
