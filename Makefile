# ylg developer commands. Each target creates .venv on first use.
#   make demo   set up and run the main job on bundled defaults (output in ylg-demo/)
#   make test   set up and run the whole test suite
#   make bench  run the benchmarks and rewrite docs/benchmarks.md
#   make lint   ruff
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch: on this project's machines pip takes it from local disk.
# Elsewhere pick your build, e.g. make TORCH_SPEC="torch==2.13.0" PIP_EXTRA="--index-url <cpu index>".
TORCH_SPEC ?= torch==2.13.0
PIP_EXTRA ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.ylg-installed

.PHONY: demo test bench lint venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install --quiet $(PIP_EXTRA) "$(TORCH_SPEC)" 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import ylg, torch, networkx, pytest, hypothesis"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/ylg demo -o ylg-demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) ylg-demo .pytest_cache .hypothesis
