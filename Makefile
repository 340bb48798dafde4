# The commands people type. Each target sets up what is missing first, so all are safe to repeat.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || ls -d /root/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null | tail -1)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint typecheck setup migrate seed clean

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "Accord needs Python 3.11 (python3.11 on PATH or under pyenv)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

migrate: $(STAMP)
	$(BIN)/accord db upgrade

run: $(STAMP)
	$(BIN)/accord run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/accord compliance lint

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
