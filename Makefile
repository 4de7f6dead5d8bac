# One command each: `make run` serves the example site, `make test` runs everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help venv test lint format run bench clean

help:
	@echo "make run    - serve the example site on http://127.0.0.1:8000 (offline)"
	@echo "make test   - lint and run the whole test suite"
	@echo "make bench  - run the benchmarks (ratios against a same-run baseline)"

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/pytest

run: $(STAMP)
	cd example_project && ../$(BIN)/python manage.py migrate --noinput
	cd example_project && ../$(BIN)/python manage.py runserver 127.0.0.1:8000

bench: $(STAMP)
	$(BIN)/python benchmarks/bucketing.py
	$(BIN)/python benchmarks/middleware.py
	$(BIN)/python benchmarks/decision_api.py
	$(BIN)/python benchmarks/hits.py
	$(BIN)/python benchmarks/openfeature.py

clean:
	rm -rf $(VENV) build dist *.egg-info
