# entremise: `make run` serves on an embedded SQLite database, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit pg-test bench worker clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p var
	$(BIN)/entremise db upgrade
	$(BIN)/entremise platform list | grep -q '^demo\b' || $(BIN)/entremise platform create demo "Demo platform"
	@echo "serving http://127.0.0.1:8000 (docs at /docs); a staff account: .venv/bin/entremise user create-staff --platform demo --email you@example.org"
	$(BIN)/entremise serve --with-worker

worker: $(STAMP)
	$(BIN)/entremise worker

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

pg-test: $(STAMP)
	$(BIN)/python scripts/pg_test.py

test: lint typecheck unit pg-test

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
