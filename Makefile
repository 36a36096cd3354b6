# Both targets bootstrap .venv from pyproject.toml; it is rebuilt only when pyproject changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DURATION ?=
CONFIG ?= config.toml

.PHONY: run test lint typecheck imports format clean bench calendars soak

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# The bench extra (ib_async, matplotlib, psutil, the profilers) is installed by `make bench` only.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $(BENCH_STAMP)

# twsapp beside a bare ibapi program and ib_async against `twsapp sim`: bench/results/latest.*
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# `twsapp run` against `twsapp sim` for a simulated week with TWS's daily restart, memory
# sampled: soak/results/latest.*. Not part of `make test` (about 6 minutes); SOAK_ARGS
# overrides, e.g. SOAK_ARGS="--days 2 --speed 3600" (python -m soak --help).
soak: $(BENCH_STAMP)
	$(BIN)/python -m soak $(SOAK_ARGS)

# The simulator's exchange calendars (twsapp/sim/calendars.json) from the installed
# exchange_calendars library; tests/test_sim_calendar.py fails when the file is out of date.
calendars: $(STAMP)
	$(BIN)/python -m twsapp.calendars

run: $(STAMP)
	$(BIN)/twsapp run --config $(CONFIG) $(if $(DURATION),--duration $(DURATION),)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/python -m mypy

imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

test: lint typecheck imports
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
