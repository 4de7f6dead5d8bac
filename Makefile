# One command each: `make run` serves the example site, `make test` runs everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# What `make test` installs, in .venv and in each virtualenv of scripts/compat.sh.
TEST_EXTRAS := test,bench
RUN_STAMP := $(VENV)/.run-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# The browser tests drive Debian's Chromium through Playwright.
CHROMIUM ?= /usr/bin/chromium
# The Redis tests use 127.0.0.1:6379 (or FLAGSHIP_TEST_REDIS_URL when set).
REDIS_PORT ?= 6379
REDIS_PING = $(BIN)/python -c "import os, redis; redis.Redis.from_url(os.environ.get('FLAGSHIP_TEST_REDIS_URL') or 'redis://127.0.0.1:$(REDIS_PORT)/9', socket_connect_timeout=0.5).ping()" 2>/dev/null

.PHONY: help venv test lint typecheck compat format run browser services bench clean

help:
	@echo "make run    - serve the example site on http://$(HOST):$(PORT) (offline; PORT=... to change)"
	@echo "make test   - lint, type-check and run the whole test suite, browser tests included,"
	@echo "              then the suite under the other supported Python and Django pairs"
	@echo "make bench  - run the benchmarks (ratios against a same-run baseline)"

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(TEST_EXTRAS)]"
	touch $(STAMP)

# `make run` needs the package alone, not the test tools.
$(RUN_STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[debug-toolbar]"
	touch $(RUN_STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The main suite, then the other supported Python and Django pairs (scripts/compat.sh).
test: lint typecheck browser services
	FLAGSHIP_TEST_CHROMIUM=$(CHROMIUM) $(BIN)/pytest
	MAIN_PYTHON=$(BIN)/python EXTRAS=$(TEST_EXTRAS) bash scripts/compat.sh

typecheck: $(STAMP)
	$(BIN)/mypy

compat: $(STAMP) services
	MAIN_PYTHON=$(BIN)/python EXTRAS=$(TEST_EXTRAS) bash scripts/compat.sh

# Installs Chromium when it is missing and we may (root with apt-get); otherwise
# says how. Without it the browser tests are skipped, or fail under CI=true.
browser:
	@if [ -x "$(CHROMIUM)" ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium) \
			|| echo "chromium could not be installed: the browser tests will not run"; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM): run 'sudo apt-get install chromium'"; \
		echo "(or pass CHROMIUM=/path/to/chromium). Without it they are skipped, and fail under CI=true."; \
	fi

# Starts Redis on 127.0.0.1:$(REDIS_PORT) when it does not answer, installing
# Debian's redis-server first when it is missing and we may (root with apt-get);
# otherwise says how. Without it the Redis tests are skipped, or fail under CI=true.
services: $(STAMP)
	@if $(REDIS_PING); then \
		true; \
	elif [ -n "$$FLAGSHIP_TEST_REDIS_URL" ]; then \
		echo "FLAGSHIP_TEST_REDIS_URL=$$FLAGSHIP_TEST_REDIS_URL does not answer: the Redis tests will not run"; \
	else \
		if ! command -v redis-server >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's redis-server for the Redis tests..."; \
			(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server) \
				|| echo "redis-server could not be installed: the Redis tests will not run"; \
		fi; \
		if command -v redis-server >/dev/null 2>&1; then \
			echo "Starting redis-server on 127.0.0.1:$(REDIS_PORT) for the Redis tests..."; \
			redis-server --daemonize yes --bind 127.0.0.1 --port $(REDIS_PORT) --save "" --appendonly no; \
			for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do \
				$(REDIS_PING) && break; sleep 0.25; \
			done; \
			$(REDIS_PING) || echo "redis-server did not answer on 127.0.0.1:$(REDIS_PORT): the Redis tests will not run"; \
		else \
			echo "The Redis tests need Redis on 127.0.0.1:$(REDIS_PORT): run 'sudo apt-get install redis-server'"; \
			echo "(or set FLAGSHIP_TEST_REDIS_URL). Without it they are skipped, and fail under CI=true."; \
		fi; \
	fi

run: $(RUN_STAMP)
	cd example_project && ../$(BIN)/python manage.py migrate --noinput
	cd example_project && ../$(BIN)/python manage.py prepare_example
	cd example_project && EXAMPLE_BASE_URL=http://$(HOST):$(PORT) \
		../$(BIN)/python manage.py runserver $(HOST):$(PORT)

bench: $(STAMP)
	$(BIN)/python benchmarks/peers.py
	$(BIN)/python benchmarks/bucketing.py
	$(BIN)/python benchmarks/middleware.py
	$(BIN)/python benchmarks/tags.py
	$(BIN)/python benchmarks/decision_api.py
	$(BIN)/python benchmarks/hits.py
	$(BIN)/python benchmarks/openfeature.py
	$(BIN)/python benchmarks/async_decision_api.py

clean:
	rm -rf $(VENV) .venv-compat build dist *.egg-info test-artifacts
