# The commands people type. Each target sets up what is missing first, so all are safe to repeat.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || ls -d /root/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null | tail -1)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chromium run test bench lint typecheck setup migrate seed clean nlu-models

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "Accord needs Python 3.11 (python3.11 on PATH or under pyenv)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

# The dialogue layer: Rasa 3.6 in its own Python 3.10 virtualenv, and one model per language, trained only when
# the training data changed (nlu/models/<lang>-<content hash>.tar.gz).
RASA_STAMP := .venv-rasa/.installed
$(RASA_STAMP): nlu/requirements-rasa.lock nlu/setup_venv.sh
	nlu/setup_venv.sh

nlu-models: $(STAMP) $(RASA_STAMP)
	$(BIN)/accord nlu train

migrate: $(STAMP)
	$(BIN)/accord db upgrade

run: $(STAMP) nlu-models
	$(BIN)/accord run

# Browser tests drive Debian's chromium; CJK fonts so Chinese console pages render in screenshots.
chromium:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || \
		(apt-get update && apt-get install -y chromium fonts-noto-cjk)

test: $(STAMP) chromium nlu-models
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: $(STAMP) nlu-models
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/accord compliance lint

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .venv-rasa var/*.db var/*.db-wal var/*.db-shm var/rasa
