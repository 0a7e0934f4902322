# chorus-robot — the README's commands: `make demo` and `make test` do all the set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test test-fast check bench sandbox clean

setup: $(STAMP)
	@$(PY) -m robot.setup

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/chorus-robot demo

sandbox: setup
	$(VENV)/bin/chorus-sandbox serve --seed 12

# Three workers on the two cores (the robot's tests wait on the sandbox, leases and backoff part
# of the time: measured 598 s against 710 s with two), each handed the next test as it runs
# short, longest first; the tests of a file that share a fixture (a module's run of the robot,
# a mail server) go together (--spread: tests/conftest.py's Spread and LongestFirst).
test: setup
	$(VENV)/bin/pytest -n 3 --spread --durations=12

# Every test but those that start a browser or the robot (marked e2e by tests/conftest.py).
test-fast: setup
	$(VENV)/bin/pytest -m "not e2e" -n 3 --spread --durations=12

check: setup
	$(VENV)/bin/ruff check robot pages scenarios sandbox tests bench
	$(VENV)/bin/ruff format --check robot pages scenarios sandbox tests bench
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
