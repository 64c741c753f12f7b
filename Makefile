# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

run: setup
	DEBUG=$${DEBUG:-true} ./scripts/run_dev.sh

test: setup
	DJANGO_SETTINGS_MODULE=clinic.settings_test $(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the apps' layers (pyproject.toml [tool.importlinter])
	mkdir -p var  # the default SQLite database's folder: makemigrations checks the history there
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

# The large-caseload benchmark (issue 8): PostgreSQL at DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/itb_bench, dropped and recreated), writes bench/RESULTS.md.
bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var staticfiles test-artifacts
