# Two entry points: `make reproduce` (the paper's figures into results/) and `make test`.
# Each creates .venv on first use and installs ghostlearn into it in editable mode.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: reproduce reproduce-paper test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

reproduce: $(STAMP)
	$(BIN)/ghostlearn reproduce --out results

reproduce-paper: $(STAMP)
	$(BIN)/ghostlearn reproduce --paper --out results-paper

test: $(STAMP)
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m pytest

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) results .pytest_cache
