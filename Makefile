# The two commands of the README quick start: `make lab` and `make test`.
# Each sets up a virtual environment in .venv with what it needs, then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: lab test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

lab: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/tao-lab demo --epochs 3
	$(BIN)/tao-lab devnet --port 9944

test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m pytest

bench: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/python benchmarks/bench_epoch.py
	$(BIN)/python benchmarks/bench_devnet.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
