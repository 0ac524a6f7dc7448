# Two commands on a fresh machine:  make demo   (environment + default run)   and   make test
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
REPS ?= 10
SEED ?= 0

.PHONY: demo test env fonts bench lint clean

# Find a Python >= 3.12: pyenv's 3.12 (selected by .python-version), python3.12, python3.13, or python3.
PYTHON ?= $(shell for p in python3.12 python3.13 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	echo $$p; break; fi; done)

$(BIN)/sim: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: Python >= 3.12 not found (Mesa 3.5 needs it). Install it (e.g. 'pyenv install 3.12') and retry." >&2; exit 1; fi
	@echo "building $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(BIN)/sim

# Chinese labels in figures and reports need a CJK font (sim/fonts.py registers it with matplotlib).
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

fonts:
	@if [ -n "$$SIM_CJK_FONT" ] || [ -f "$(CJK_FONT)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing fonts-wqy-microhei (CJK font for Chinese labels)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; \
	else echo "warning: no CJK font; Chinese labels need it: sudo apt-get install fonts-wqy-microhei" >&2; fi

env: $(BIN)/sim fonts

demo: env
	$(BIN)/sim run scenarios/baseline.yaml --reps $(REPS) --seed $(SEED) --out reports/runs/baseline
	$(BIN)/sim run scenarios/shahe_plan.yaml --reps $(REPS) --seed $(SEED) --out reports/runs/shahe_plan
	@echo; echo "shahe_plan against baseline (mean [95% interval] over the last 12 months, $(REPS) replications):"
	$(BIN)/sim summary reports/runs/baseline reports/runs/shahe_plan

test: env
	$(BIN)/python -m pytest -q

bench: env
	$(BIN)/python benchmarks/bench_engines.py

lint: env
	$(BIN)/ruff check sim tests benchmarks

clean:
	rm -rf $(VENV) reports/runs .pytest_cache
