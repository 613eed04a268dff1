# Every install happens here: the virtualenv is (re)built whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
NAME ?= smoke
RUNNER ?=
WORKERS ?=
PYTEST_ARGS ?=
ARGS ?=

RUN_FLAGS := $(if $(RUNNER),--runner $(RUNNER)) $(if $(WORKERS),--workers $(WORKERS)) $(ARGS)

.PHONY: setup suite plan status report browser test bench bench-more clean

$(STAMP): pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

# Test-only packages (pytest, ray) come on top of the same virtualenv.
$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

setup: $(STAMP)

suite: $(STAMP)
	$(BIN)/harness run $(NAME) $(RUN_FLAGS)

plan: $(STAMP)
	$(BIN)/harness plan $(NAME)

status: $(STAMP)
	$(BIN)/harness status $(NAME)

# NAME may list several suites: make report NAME="classic-control wandb-openrlbenchmark-cleanrl"
report: $(STAMP)
	$(BIN)/harness report $(NAME) $(ARGS)

# The report tests open the HTML report in Debian's headless Chromium: installed here when
# missing and this is root (elsewhere they skip, unless HARNESS_REQUIRE_BROWSER=1).
browser:
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: $(DEV_STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# rejax (a peer in `make bench`) needs gymnax < 1: it gets a virtualenv of its own, with the
# ml_dtypes the harness pins (pyproject.toml), so that both import JAX equally fast.
REJAX_STAMP := .venv-rejax/.installed-ml-dtypes
$(REJAX_STAMP):
	rm -rf .venv-rejax
	$(PYTHON) -m venv .venv-rejax
	.venv-rejax/bin/pip install --quiet "rejax==0.1.3" "gymnax<1" "ml_dtypes>=0.5,<0.7"
	touch $(REJAX_STAMP)

# `make bench` (about 13 minutes on 2 cores) writes BENCHMARKS.md and measures the store and
# the CLI; `make bench-more` prints the other figures the README quotes (another 10 or so).
bench: $(DEV_STAMP) $(REJAX_STAMP)
	$(BIN)/python -m tests.benchmarks.bench_rejax
	$(BIN)/python -m tests.benchmarks.bench_store

bench-more: $(DEV_STAMP)
	$(BIN)/python -m tests.benchmarks.bench_ppo
	$(BIN)/python -m tests.benchmarks.bench_algorithms
	$(BIN)/python -m tests.benchmarks.bench_wandb
	$(BIN)/python -m tests.benchmarks.bench_analysis
	$(BIN)/python -m tests.benchmarks.bench_sweep

clean:
	rm -rf $(VENV) .venv-rejax build *.egg-info
