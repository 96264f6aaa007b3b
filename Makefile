# Continuity: the two commands are `make run` and `make test`. Both install whatever is missing first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PG_BIN := /usr/lib/postgresql/15/bin
AZURITE := sandbox/node_modules/.bin/azurite

.PHONY: run test lint bench deps system-deps clean

# ---- installation -------------------------------------------------------------------------------
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

system-deps:
	@if [ ! -x $(PG_BIN)/initdb ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing Debian packages (postgresql-15, nodejs, npm)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-contrib nodejs npm >/dev/null; \
	fi
	@test -x $(AZURITE) || npm install --silent --no-audit --no-fund --prefix sandbox >/dev/null

deps: $(STAMP) system-deps

# ---- the two commands ----------------------------------------------------------------------------
run: deps
	@bash devhost/run_local.sh

test: deps lint
	$(PY) -m pytest

# ---- the rest ------------------------------------------------------------------------------------
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .devhost .sandbox .pytest_cache .mypy_cache .ruff_cache
