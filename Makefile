# Two commands on a fresh machine: `make run` serves the app, `make test` runs the whole suite.
# Everything else here is a step those two depend on, or a tool for developers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# One stamp per requirements file, each on top of the one before: serving (requirements.txt), training
# (requirements-train.txt: TensorFlow), tests and benchmarks (requirements-dev.txt).
RUNTIME := $(VENV)/runtime.stamp
TRAIN := $(VENV)/train.stamp
DEV := $(VENV)/dev.stamp
MNIST := .cache/mnist.npz

CASSANDRA_URL ?= cassandra://127.0.0.1:9042/digits

.PHONY: run serve test test-unit lint data train retrain evaluate compare browser system-deps cassandra cassandra-stop run-cassandra bench clean

# The serving packages and the training ones, so the dashboard's retrain works on this machine too.
run: $(TRAIN)
	$(PY) -m server

# The serving packages alone (what the container and a Procfile platform install): a kiosk's or a small
# board's install. The dashboard's retrain then answers training_unavailable (docs/development.md).
serve: $(RUNTIME)
	$(PY) -m server

# pip check: the installed packages agree with each other's pins. deptry: every import is pinned, and
# runtime code (server/, model/runtime/) imports nothing beyond requirements.txt (tests/unit/test_requirements.py).
test: $(DEV) $(MNIST) browser system-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pip check
	$(PY) -m deptry .
	$(PY) -m pytest

# The fast lane: the unit tests (tests/unit: no server process, browser or Cassandra node).
test-unit: $(DEV) $(MNIST)
	$(PY) -m pytest tests/unit

$(RUNTIME): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(TRAIN): $(RUNTIME) requirements-train.txt
	$(PY) -m pip install --quiet -r requirements-train.txt
	touch $@

$(DEV): $(TRAIN) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

data: $(MNIST)

$(MNIST): | $(RUNTIME)
	$(PY) -m model.training.data

browser:
	scripts/install-chromium.sh

# Java for Cassandra, handwriting fonts for the realistic test images.
system-deps:
	scripts/install-system-deps.sh

# A real local Cassandra node for development (the tests start their own).
cassandra: $(RUNTIME) system-deps
	$(PY) scripts/cassandra_node.py start

cassandra-stop:
	$(PY) scripts/cassandra_node.py stop

run-cassandra: cassandra
	STORE_URL=$(CASSANDRA_URL) $(PY) -m server

bench: $(DEV) $(MNIST) system-deps
	$(PY) -m bench.inference
	$(PY) -m bench.preprocess
	$(PY) -m bench.recognition
	$(PY) -m bench.honesty
	$(PY) -m bench.live --binary
	$(PY) -m bench.connections
	$(PY) -m bench.classroom
	$(PY) -m bench.flood
	$(PY) -m bench.png_decoders
	$(PY) -m bench.footprint
	$(PY) -m bench.browser

lint: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m deptry .

train: $(TRAIN) $(MNIST)
	$(PY) -m model.training.train

# Fine-tune the active model on the labelled attempts in STORE_URL; writes a gated candidate
# into data/models/ (promote it with `flask --app server promote VERSION`).
retrain: $(TRAIN) $(MNIST)
	$(PY) -m model.training.retrain

evaluate: $(TRAIN) $(MNIST)
	$(PY) -m model.training.evaluate

compare: $(DEV) $(MNIST)
	$(PY) -m model.training.compare

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
