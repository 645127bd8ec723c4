# Two commands do all the set-up on a machine with Python 3.11 and pip:
#   make demo   simulated cohort -> train -> evaluate -> analyze -> report
#   make test   the test suite
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv demo test test-all bench clean r-deps models

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# requirements.lock pins every package, torch==2.14.1 and torchvision==0.29.1 together,
# so that no later install swaps torch for another build.
$(STAMP): $(PY) requirements.lock pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/osteoscan demo --out demo-out

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider --durations=20; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

test-all: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

# every bundled model from its seed (docs/models.md: recipes, --resume, --scale for a check;
# the hotspot detector, then its picture variant: scripts/build_detector.py [--picture])
models: $(STAMP)
	$(PY) scripts/build_models.py

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

# R and pROC let the DeLong tests compare against a trusted peer (skipped without them).
r-deps:
	@command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(pROC); library(jsonlite)' >/dev/null 2>&1 || \
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends r-base-core r-cran-proc r-cran-jsonlite >/dev/null; }

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache demo-out
