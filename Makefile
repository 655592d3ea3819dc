# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# `make test` runs the tests in this many processes (pytest-xdist), each with a test database of its own; TEST_PROCESSES=0:
# one process. --dist loadgroup hands each process the tests in pytest-django's order (tests in a transaction first, then
# those that commit and flush the database, removing what migrations wrote). The tests that start Celery workers on a
# Redis database take turns across processes (conftest.alone_on_redis: with pytest 9.2, xdist_group groups nothing).
TEST_PROCESSES ?= auto

.PHONY: run test lint install lock browser-deps bench cluster-test

# Every package at the version requirements.lock pins, checked against its hashes; then the project itself, with no
# dependency of its own left to resolve.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# requirements.lock again from pyproject.toml's ranges (after changing a dependency): the newest versions they allow.
lock:
	test -x $(BIN)/pip-compile || $(MAKE) install
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

# Links in emails start with SITE_URL: where this server listens, unless SITE_URL is set (a proxy, a public name).
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: $(STAMP)
	mkdir -p .broker/queue .broker/processed .broker/control
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	HOST=$(HOST) PORT=$(PORT) bin/run-dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# The browser tests drive Debian's Chromium (never a downloaded one) and check pages with axe-core from npm.
browser-deps:
	@if ! command -v msgfmt >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing GNU gettext for the catalogue tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; \
	fi
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@if [ ! -f node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null; then \
		npm install --no-audit --no-fund --silent; \
	fi

test: $(STAMP) browser-deps
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py export_openapi --check
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadgroup

# Benchmarks (bench/README.md): not part of `make test`. `make bench ARGS=--quick` for the small size.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@if ! command -v wrk >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing wrk for the page benchmarks..."; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || true; \
	fi
	$(BIN)/python bench/run.py $(ARGS)

# The production set-up on this machine under load (tests/cluster/run.py; README, "Cluster test"): two gunicorn, two
# Celery workers (one killed and restarted), beat (restarted), PostgreSQL, Redis database 12 and an SMTP server of its
# own; checks every email arrives once, every deadline is acted on once, no 5xx. About two minutes.
cluster-test: $(STAMP)
	$(BIN)/python tests/cluster/run.py $(ARGS)
