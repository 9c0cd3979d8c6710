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

$(STAMP): requirements.lock pyproject.toml setup.py linkage/_hmac_bulk.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --requirement requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation --editable .
	touch $(STAMP)

# Debian's chromium prints the PDF and renders the charts; poppler-utils lets the tests look at the pages.
system:
	@if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium poppler-utils fonts-dejavu-core; \
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

# Prefect: a local server with UI, a process worker and the deployments of prefect.yaml (docs/prefect.md).
# Run prefect-server and prefect-worker each in a terminal of its own; then prefect-deploy and prefect-run-demo.
PREFECT_PORT ?= 4200
PREFECT_API := http://127.0.0.1:$(PREFECT_PORT)/api
PREFECT_CLIENT := PREFECT_API_URL=$(PREFECT_API) FACTLAB_PROJECT=$(CURDIR)
DEMO_INBOX := uitvoer/demo-inbox

.PHONY: prefect-server prefect-worker prefect-deploy prefect-run-demo

prefect-server: install
	PREFECT_UI_ENABLED=true PREFECT_API_URL=$(PREFECT_API) $(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

prefect-worker: install
	$(PREFECT_CLIENT) $(BIN)/prefect worker start --pool factlab-proces --type process

# The pool may already exist, or be created by a worker at the same moment: then inspecting it again suffices.
prefect-deploy: install
	$(PREFECT_CLIENT) $(BIN)/prefect work-pool inspect factlab-proces >/dev/null 2>&1 || \
		$(PREFECT_CLIENT) $(BIN)/prefect work-pool create factlab-proces --type process || \
		$(PREFECT_CLIENT) $(BIN)/prefect work-pool inspect factlab-proces >/dev/null
	$(PREFECT_CLIENT) $(BIN)/prefect --no-prompt deploy --all

prefect-run-demo: install
	$(BIN)/factlab inbox demo --inbox $(DEMO_INBOX)
	$(PREFECT_CLIENT) $(BIN)/prefect deployment run stapelingsmonitor-inbox/stapelingsmonitor-halfjaarlijks \
		--param inbox=$(DEMO_INBOX) --param periode=2026H1 --param out=uitvoer/prefect --watch
	@echo "rapport: $(CURDIR)/uitvoer/prefect/2026H1/rapport.html; de run staat in de UI op http://127.0.0.1:$(PREFECT_PORT)/runs"
