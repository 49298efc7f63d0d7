# mlopskit — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Extras installed by `make setup` (and so by CI): the Spark and MLflow tests need theirs
# (pyspark needs Java 17+, present on the dev and CI machines). `make setup EXTRAS=dev`
# gives a lighter venv in which those tests are skipped.
EXTRAS ?= dev,spark,mlflow
MODEL_RE := ^[A-Za-z0-9_.-]+$$

# User-supplied variables never reach a shell as code. Make must not expand them either
# (MODEL='$$(shell ...)' would run at expansion), so they are not exported, and each recipe
# hands the raw text to the command through one environment variable, single-quoted with
# embedded quotes escaped: $(call env_arg,MODEL) -> MLOPSKIT_MODEL='<raw text>'. The recipe
# then uses "$$MLOPSKIT_MODEL" (quoted), and the CLI validates the value (mlopskit/cli.py).
USER_VARS := MODEL AS_OF POLICY REASON TO REPORT NAME
unexport $(USER_VARS)
# (a value spanning lines would split the recipe line: refused before anything runs)
define newline


endef
env_arg = $(if $(findstring $(newline),$(value $(1))),$(error $(1) must be one line))MLOPSKIT_$(1)='$(subst ','\'',$(value $(1)))'
# xdist runs one worker per core: single-threaded BLAS avoids oversubscription
# (two workers × multithreaded OpenBLAS made matrix products slower, not faster).
TEST_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: help setup test test-fast lint report demo bench bench-venvs clean promote revert

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install mlopskit with dev, spark and mlflow extras (redone when pyproject.toml changes)

test: $(STAMP) ## Run the whole test suite, slow simulations included, in parallel
	$(TEST_ENV) $(PY) -m pytest -n auto -q

test-fast: $(STAMP) ## Run the tests without the slow simulations
	$(TEST_ENV) $(PY) -m pytest -n auto -q -m "not slow"

lint: $(STAMP) ## ruff + mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check mlopskit tests benchmarks
	$(VENV)/bin/mypy

report: $(STAMP) ## Render the decision report: make report MODEL=fraud_v2.3 [AS_OF=YYYY-MM-DD] [POLICY=file]
	@$(call env_arg,MODEL) $(call env_arg,AS_OF) $(call env_arg,POLICY); \
	if [ -z "$$MLOPSKIT_MODEL" ]; then echo "make report: MODEL is required, e.g. make report MODEL=fraud_v2.3" >&2; exit 2; fi; \
	if ! [[ "$$MLOPSKIT_MODEL" =~ $(MODEL_RE) ]]; then printf "make report: MODEL must match [A-Za-z0-9_.-]+; got %q\n" "$$MLOPSKIT_MODEL" >&2; exit 2; fi; \
	set -x; $(PY) -m mlopskit report $${MLOPSKIT_AS_OF:+--as-of="$$MLOPSKIT_AS_OF"} $${MLOPSKIT_POLICY:+--policy="$$MLOPSKIT_POLICY"} -- "$$MLOPSKIT_MODEL"

demo: $(STAMP) ## (Re)generate the simulated fraud world into data/demo/
	$(PY) -m mlopskit demo --force

bench: $(STAMP) ## Benchmarks → benchmarks/results.md (mlopskit vs polars floor vs NannyML/Evidently; BENCH_ARGS="--sizes 1e5,1e6" to shorten; default 1e5–1e8)
	nice -n 10 $(PY) -m benchmarks.suite $(BENCH_ARGS)

BENCH_VENVS ?= /work/venvs
bench-venvs: ## Throwaway venvs for the comparison tools (they pin pandas < 3): NannyML, Evidently
	$(PYTHON) -m venv $(BENCH_VENVS)/nannyml
	$(BENCH_VENVS)/nannyml/bin/pip install --quiet "nannyml==0.13.1" "pandas<3" statsmodels pyarrow
	$(PYTHON) -m venv $(BENCH_VENVS)/evidently
	$(BENCH_VENVS)/evidently/bin/pip install --quiet "evidently==0.7.23" "pandas<3" pyarrow

promote: $(STAMP) ## Promote: make promote MODEL=fraud_v2.3 TO=Production REPORT=reports/... REASON="..."
	@$(call env_arg,MODEL) $(call env_arg,TO) $(call env_arg,REPORT) $(call env_arg,REASON); \
	if ! [[ "$$MLOPSKIT_MODEL" =~ $(MODEL_RE) ]]; then printf "make promote: MODEL must match [A-Za-z0-9_.-]+; got %q\n" "$$MLOPSKIT_MODEL" >&2; exit 2; fi; \
	set -x; $(PY) -m mlopskit promote --to="$$MLOPSKIT_TO" $${MLOPSKIT_REPORT:+--report="$$MLOPSKIT_REPORT"} --reason="$$MLOPSKIT_REASON" -- "$$MLOPSKIT_MODEL"

revert: $(STAMP) ## Revert a model name to its previous Production version: make revert NAME=fraud REASON="..."
	@$(call env_arg,NAME) $(call env_arg,REASON); \
	if ! [[ "$$MLOPSKIT_NAME" =~ $(MODEL_RE) ]]; then printf "make revert: NAME must match [A-Za-z0-9_.-]+; got %q\n" "$$MLOPSKIT_NAME" >&2; exit 2; fi; \
	set -x; $(PY) -m mlopskit revert --reason="$$MLOPSKIT_REASON" -- "$$MLOPSKIT_NAME"

clean: ## Remove the venv, generated data, reports and caches
	rm -rf $(VENV) data/demo reports/*/ .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
