# Two commands on a fresh machine: `make run` serves the app, `make test` runs the whole suite.
# Everything else here is a step those two depend on, or a tool for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/runtime.stamp
DEV := $(VENV)/dev.stamp
MNIST := .cache/mnist.npz

.PHONY: run test lint data train evaluate compare notebook browser clean

run: $(RUNTIME)
	$(PY) -m server

test: $(DEV) $(MNIST) browser
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

$(RUNTIME): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

data: $(MNIST)

$(MNIST): | $(RUNTIME)
	$(PY) -m model.data

browser:
	scripts/install-chromium.sh

lint: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

train: $(RUNTIME) $(MNIST)
	$(PY) -m model.train

evaluate: $(RUNTIME) $(MNIST)
	$(PY) -m model.evaluate

compare: $(DEV) $(MNIST)
	$(PY) -m model.compare

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
