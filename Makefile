# mnemos: `make demo` sets up and runs the main job; `make test` sets up and runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := check
.PHONY: check setup demo test lint format typecheck browser loadtest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned to the local CPU build, so nothing later pulls a GPU build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/mnemos demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

typecheck: $(STAMP)
	$(BIN)/mypy

# The dashboard tests drive Debian's chromium through Playwright; no browser is downloaded.
browser:
	@test -x $(CHROMIUM) || { echo "installing chromium for the dashboard tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: lint typecheck browser
	HF_HUB_OFFLINE=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# 32 clients mixing add and search for 60 s against a real server; report in artifacts/.
loadtest: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.server.load --clients 32 --seconds 60 --embedder minilm

check: test

# The recall benchmark on LoCoMo's dev split and the speed benchmark; results in artifacts/.
LOCOMO ?= ../shared/data/locomo/locomo10.json
bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/mnemos bench locomo --data $(LOCOMO) --split dev \
		--json artifacts/locomo-dev.json --plot artifacts/locomo-dev.png
	HF_HUB_OFFLINE=1 $(BIN)/mnemos bench speed --json artifacts/speed.json

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
