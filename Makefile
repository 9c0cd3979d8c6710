# Factlab: `make demo` and `make test` do all set-up themselves on a fresh Debian + Python 3.11 machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.factlab-installed
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_RESULTS_PERSIST_BY_DEFAULT := false

.PHONY: demo test install system lint bench clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --requirement requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation --editable .
	touch $(STAMP)

# Debian's chromium prints the PDF and renders the charts; poppler-utils lets the tests look at the pages.
system:
	@if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium poppler-utils fonts-dejavu-core; \
	fi

demo: install system
	$(BIN)/factlab demo --out uitvoer/demo

test: install system
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

bench: install system
	$(BIN)/factlab bench

clean:
	rm -rf $(VENV) .prefect uitvoer .pytest_cache
