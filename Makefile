# vidact developer entry points. `make demo` and `make test` each create .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
# Override for GPU machines, e.g. `make demo TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"`.
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
DEMO_DIR ?= demo_out

.PHONY: setup demo test test-fast completions clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Byte-compile the package as `pip install` does for a regular install (the editable one leaves
# it to Python, which compiles it again on every run where PYTHONDONTWRITEBYTECODE is set).
setup: $(VENV)/.installed
	$(BIN)/python -m compileall -q vidact

demo: setup
	DEMO_DIR=$(DEMO_DIR) VIDACT=$(BIN)/vidact PY=$(BIN)/python bash scripts/demo.sh

# One pytest-xdist worker per core (TEST_JOBS=0: no workers); work stealing evens out the long tests.
TEST_JOBS ?= auto
test: setup
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist worksteal

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow" -n $(TEST_JOBS) --dist worksteal

completions: setup
	$(BIN)/python scripts/gen_completions.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
