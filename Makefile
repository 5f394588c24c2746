# `make run` and `make test` each create .venv when it is missing, install the project into it
# (torch pinned to 2.13.0 by constraints.txt, so no package can pull another torch), then run.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= quick
OUT ?=

.PHONY: run test test-all bench browser docs clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[test,docs,ray,bench]"
	@# mup declares torchvision, whose PyPI wheel is built for CUDA torch and fails to load on the CPU
	@# torch (lightning's torchmetrics then fails to import); nothing here imports it, so remove it.
	$(PY) -m pip uninstall -y -q torchvision
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/stablelearn reproduce --profile $(PROFILE) $(if $(OUT),--out $(OUT),)

# Debian's chromium for the report's browser test; the test skips with a message where it cannot be had.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq >/dev/null 2>&1 && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	  echo "note: chromium could not be installed; the report's browser test will skip"

test: $(STAMP) browser
	$(PY) -m pytest -n 2 --durations=15

# the slow end-to-end runs (full profiles) too
test-all: $(STAMP) browser
	$(PY) -m pytest -n 2 -m "slow or not slow" --durations=25

# the HTML reference (docs/ pages + the API from the docstrings, MkDocs + mkdocstrings) -> site/index.html
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --site-dir site

bench: $(STAMP)
	@set -e; for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f --quick; done

clean:
	rm -rf $(VENV) runs build *.egg-info
