# Solidaria: `make demo` to try it, `make test` to test it. Needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
UV     := $(VENV)/bin/uv
SYNC   := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --inexact --quiet
UV_VERSION := 0.13.9

.PHONY: help install install-dev demo test test-fast lint format bench messages clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

install: $(UV) ## the locked runtime dependencies, in .venv
	$(SYNC) --no-dev

install-dev: $(UV) ## runtime and test dependencies
	$(SYNC)

demo: install ## migrate, load the demo network and serve it on http://127.0.0.1:8000
	$(VENV)/bin/solidaria demo

test: install-dev ## the whole suite (SQLite; PostgreSQL when DATABASE_URL is set)
	$(VENV)/bin/pytest

lint: install-dev ## ruff lint and format check, migrations check
	$(VENV)/bin/ruff check src bench
	$(VENV)/bin/ruff format --check src bench
	SOLIDARIA_DATA_DIR=$$(mktemp -d) $(VENV)/bin/solidaria makemigrations --check --dry-run

format: install-dev ## apply ruff's formatting and fixes
	$(VENV)/bin/ruff format src bench
	$(VENV)/bin/ruff check --fix src bench

bench: install-dev ## contacts, ledger, reports and donation-page measurements, JSON in bench/out/
	$(VENV)/bin/python bench/run.py

messages: install-dev ## extract every string into the .po files of the 6 translations, and compile them (needs GNU gettext)
	cd src/solidaria && SOLIDARIA_DATA_DIR=$$(mktemp -d) ../../$(VENV)/bin/solidaria makemessages --no-obsolete --no-location -l es -l ca -l it -l de -l fr -l ar --ignore 'tests/*' --ignore 'conftest.py'
	cd src/solidaria && SOLIDARIA_DATA_DIR=$$(mktemp -d) ../../$(VENV)/bin/solidaria compilemessages

clean: ## remove the virtual environment and the demo data
	rm -rf $(VENV) var
