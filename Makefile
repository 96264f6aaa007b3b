# Continuity: the two commands are `make run` and `make test`. Both install whatever is missing first;
# installers write to $(INSTALL_LOG), not the terminal (it is printed when an install fails).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DRCTL := $(VENV)/bin/drctl
PG_BIN := /usr/lib/postgresql/15/bin
AZURITE := sandbox/node_modules/.bin/azurite
CHROMIUM := /usr/bin/chromium
INSTALL_LOG := .install.log
PACKAGE := dist/continuity.zip
# run an installer quietly: its output goes to the log, and is shown only when it fails
quietly = { $(1); } >>$(INSTALL_LOG) 2>&1 || { echo "install failed: $(2) (the last lines of $(INSTALL_LOG)):"; tail -n 40 $(INSTALL_LOG); exit 1; }

.PHONY: run test lint bench deps system-deps browser-deps package clean

# ---- installation -------------------------------------------------------------------------------
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@echo "installing Python packages into $(VENV) (log: $(INSTALL_LOG))"
	@test -x $(PY) || $(call quietly,$(PYTHON) -m venv $(VENV),virtualenv)
	@$(call quietly,$(PY) -m pip install --upgrade pip,pip)
	@$(call quietly,$(PY) -m pip install -r requirements-dev.txt -c constraints.txt,requirements-dev.txt)
	@touch $(STAMP)

# drctl, the operator command line: the console script of pyproject.toml, editable (cli/ is used as is)
$(DRCTL): pyproject.toml $(STAMP)
	@$(call quietly,$(PY) -m pip install --no-deps -e .,drctl)
	@touch $(DRCTL)

system-deps:
	@if [ ! -x $(PG_BIN)/initdb ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing Debian packages: postgresql-15, nodejs, npm (log: $(INSTALL_LOG))"; \
	  $(call quietly,apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-contrib nodejs npm,Debian packages); \
	fi
	@test -x $(AZURITE) || { echo "installing Azurite (npm, log: $(INSTALL_LOG))"; $(call quietly,npm ci --no-audit --no-fund --prefix sandbox,Azurite); }

# the browser tests drive Debian's chromium through Playwright (no browser download)
browser-deps:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium (log: $(INSTALL_LOG))"; \
	  $(call quietly,apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium,chromium); }

deps: $(STAMP) $(DRCTL) system-deps

# ---- the two commands ----------------------------------------------------------------------------
run: deps
	@bash devhost/run_local.sh

# test files run in $(TEST_WORKERS) workers (pytest-xdist), each file whole in one worker: every scenario
# starts its own sandbox and devhost on free ports, so files share no state
TEST_WORKERS ?= 2
test: deps browser-deps lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# ---- the rest ------------------------------------------------------------------------------------
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# the deployable zip: what .funcignore keeps, with compiled bytecode (docs/deploy.md: publishing it)
package: $(STAMP)
	@$(PY) -m tools.package --out $(PACKAGE)

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .devhost .sandbox .pytest_cache .mypy_cache .ruff_cache dist .artifacts $(INSTALL_LOG)
