# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install browser-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p .broker/queue .broker/processed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	HOST=$(HOST) PORT=$(PORT) bin/run-dev

lint: $(STAMP)
	$(BIN)/ruff check .

# The browser tests drive Debian's Chromium (never a downloaded one) and check pages with axe-core from npm.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@if [ ! -f node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null; then \
		npm install --no-audit --no-fund --silent; \
	fi

test: $(STAMP) browser-deps
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/python -m pytest
