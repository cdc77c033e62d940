# Two commands on a fresh machine: `make demo` (the main job, end to end, on an embedded
# default) and `make test` (the whole test suite). Each bootstraps its own virtualenv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fer-edge-installed

.PHONY: demo test lint bench backends check-service edge-leg clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[edge,fleet,train-cpu,dev]'
	touch $(STAMP)

# The JAX and PyTorch training backends (CPU builds) beside TensorFlow, for their tests.
# torch==2.13.0 is a CPU build on the project's machines (the PyPI build pulls gigabytes of CUDA).
BACKENDS := $(VENV)/.fer-edge-backends
$(BACKENDS): $(STAMP)
	$(PY) -m pip install -q 'jax>=0.4.30' 'torch==2.13.0'
	touch $(BACKENDS)

backends: $(BACKENDS)

demo: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q

check-service:
	bash .ci/systemd-check.sh

edge-leg:
	bash .ci/edge-leg.sh

bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) demo-out fer-edge-logs .pytest_cache
