# Two commands on a fresh machine:  make demo   (environment + default run)   and   make test
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
REPS ?= 10
SEED ?= 0

.PHONY: demo report lab test env sysdeps bench lint generated clean

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
	$(BIN)/python -m pip install -q -e ".[all,dev]"
	@touch $(BIN)/sim

# System packages: a CJK font for Chinese labels (sim/present/fonts.py registers it with matplotlib) and Pango,
# which weasyprint uses to lay out the PDF. Installed with apt-get when run as root; otherwise named.
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
APT_NEEDS := $(shell [ -n "$$SIM_CJK_FONT" ] || [ -f "$(CJK_FONT)" ] || echo fonts-wqy-microhei) \
	$(shell ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so' || echo libpango-1.0-0 libpangoft2-1.0-0)

sysdeps:
	@if [ -z "$(strip $(APT_NEEDS))" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing $(strip $(APT_NEEDS)) (CJK font for Chinese labels; Pango for PDF reports)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_NEEDS) >/dev/null; \
	else echo "warning: missing system packages; run: sudo apt-get install $(strip $(APT_NEEDS))" >&2; fi

env: $(BIN)/sim sysdeps

LANG_ ?= zh

demo: env
	$(BIN)/sim run scenarios/baseline.yaml --reps $(REPS) --seed $(SEED) --out reports/runs/baseline
	$(BIN)/sim run scenarios/shahe_plan.yaml --reps $(REPS) --seed $(SEED) --out reports/runs/shahe_plan
	@echo; echo "shahe_plan against baseline (mean [95% interval] over the last 12 months, $(REPS) replications):"
	$(BIN)/sim summary reports/runs/baseline reports/runs/shahe_plan
	@echo; $(MAKE) --no-print-directory report

# The meeting report (PDF, HTML, figures, CSV) of the plan against the baseline; LANG_=en for English.
report: env
	$(BIN)/sim report --scenarios scenarios/baseline.yaml scenarios/shahe_plan.yaml --reps $(REPS) --seed $(SEED) \
	  --lang $(LANG_) --out reports/shahe_plan-vs-baseline-$(LANG_)

# JupyterLab on the notebooks (explore, run, compare, report).
lab: env
	$(BIN)/jupyter lab notebooks/

test: env
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: env
	$(BIN)/python benchmarks/bench_targets.py
	$(BIN)/python benchmarks/bench_explore.py
	$(BIN)/python benchmarks/bench_instruments.py
	$(BIN)/python benchmarks/bench_batch.py
	$(BIN)/python benchmarks/bench_engines.py

lint: env
	$(BIN)/ruff check sim tests benchmarks

# Rewrite every generated file (ablations and their batch, the README's and ODD's registry tables,
# docs/PARAMETERS.md) after changing the mechanism registry or the schema; tests keep them in step.
generated: env
	$(BIN)/python -m sim.present.generated

clean:
	rm -rf $(VENV) reports/runs .pytest_cache
