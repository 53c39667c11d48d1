# `make run` serves the app on SQLite with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
DEMO ?= 1
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test bench lint setup translations messages db clean

run: setup db
ifeq ($(DEMO),1)
	$(FLASK) demo --if-empty
endif
	@echo "Serving on http://$(HOST):$(PORT)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.dev-installed translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -ll -c pyproject.toml -r app
	$(BIN)/pytest

# The performance suite (not part of `make test` or CI): builds a province-scale dataset
# the first time (minutes), then prints every figure beside its baseline and budget.
# BENCH_DATABASE_URL=postgresql+psycopg://… runs it on PostgreSQL; BENCH_ARGS="--quick" tries it.
bench: $(VENV)/.dev-installed translations
	$(BIN)/python -m bench $(BENCH_ARGS)

setup: $(VENV)/.installed translations

db: setup
	$(FLASK) db upgrade
	$(FLASK) places load

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Compiled catalogues are not committed; they are built from the .po files.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations 2>&1 | grep -v '^compiling' || true

# For developers: pull new strings from the code into both catalogues.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
