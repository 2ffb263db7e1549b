# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates .venv (Python 3.10, pinned Lava stack) on first use and is quick afterwards.
PY := .venv/bin/python
RUN_DIR ?= runs/demo

.PHONY: demo demo-rate test lint venv bench

venv:
	@bash scripts/bootstrap.sh

# the best deployed Navier-Stokes network (docs/results/pareto.md): sigma-delta, streamed too
demo: venv
	$(PY) -m hardware.app.cli sigma-delta navier-stokes-tg --out $(RUN_DIR)

# the rate-coded pipeline the tutorial walks through (convert, export, run, energy, figures)
demo-rate: venv
	$(PY) -m hardware.app.cli pipeline navier-stokes-tg --out runs/demo-rate --config hardware/demo.toml

test: venv
	$(PY) -m pytest -q -m "not slow"

lint: venv
	$(PY) -m ruff check . && $(PY) -m ruff format --check .
