# `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-lowest lint types unit bench install clean

# The status page's tests drive Debian's chromium (never a browser Playwright
# downloads) with Playwright, installed without its declared dependencies:
# they ask for greenlet>=3, which httpbin (the init tests' server) refuses on
# Python 3.11; Playwright runs on the greenlet 2 httpbin allows (tests/web).
BROWSER_TOOLS := 'playwright>=1.40' 'pyee>=13'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]' --group dev
	$(BIN)/python -m pip install --quiet --no-deps $(BROWSER_TOOLS)
	# An editable install has no bytecode, and PYTHONDONTWRITEBYTECODE=1 on
	# these machines means none is ever written: compile once, as pip does for
	# an installed package, so start-up is not spent compiling sleuth.
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sleuth demo

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

types: $(STAMP)
	$(BIN)/mypy

# RabbitMQ's management API on 127.0.0.1:15672, which tests/integration/test_amqp.py
# asks: enabled on this machine's broker when rabbitmq-plugins is installed and the
# API does not answer yet, then waited for (at most 30 s). It never fails the
# build: without RabbitMQ the tests skip, or fail under SLEUTH_REQUIRE_SERVICES=1.
.PHONY: services
services: SHELL := /bin/bash
services:
	@answers() { timeout 2 bash -c ': </dev/tcp/127.0.0.1/15672' 2>/dev/null; }; \
	plugins=$$(PATH="$$PATH:/usr/sbin:/usr/local/sbin" command -v rabbitmq-plugins); \
	if answers || [ -z "$$plugins" ]; then exit 0; fi; \
	echo "Enabling RabbitMQ's management plugin for the tests"; \
	"$$plugins" enable rabbitmq_management >/dev/null || { \
	  echo "rabbitmq-plugins could not enable rabbitmq_management" >&2; exit 0; }; \
	for _ in $$(seq 60); do answers && exit 0; sleep 0.5; done; \
	echo "RabbitMQ's management API did not answer on 127.0.0.1:15672 in 30 s" >&2

# Debian's chromium, for the status page's browser tests: installed when
# missing and apt-get can (as root); otherwise those tests skip saying why.
.PHONY: browser
browser:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
	    || echo "apt-get could not install chromium" >&2; \
	fi

# Debian's Alertmanager, for the alerts test that reads an alert back from a real
# one (tests/watch/test_alerts_alertmanager.py): installed when missing and
# apt-get can (as root); otherwise that test skips saying why (and fails under
# SLEUTH_REQUIRE_SERVICES=1).
.PHONY: alertmanager
alertmanager:
	@if [ ! -x /usr/bin/prometheus-alertmanager ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's prometheus-alertmanager for the alerts tests"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus-alertmanager >/dev/null \
	    || echo "apt-get could not install prometheus-alertmanager" >&2; \
	fi

unit: $(STAMP) services browser alertmanager
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report

test: lint types unit

# The suite once more in a venv of its own with every direct dependency at the
# lowest version pyproject.toml allows (uv's lowest-direct resolution; pip has
# none), so a floor that is not true fails here rather than for a user.
LOWEST := .venv-lowest
test-lowest: services browser alertmanager
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet 'uv>=0.8'
	# --compile-bytecode: uv writes no .pyc by default, and PYTHONDONTWRITEBYTECODE
	# on these machines means none is written later, so every process the tests
	# start would compile pytest, aiohttp and the rest from source.
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python \
		--compile-bytecode --resolution lowest-direct -e '.[all]' --group dev
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python \
		--compile-bytecode --no-deps $(BROWSER_TOOLS)
	$(LOWEST)/bin/python -m compileall -q src
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/run.py
	$(BIN)/python bench/xdist.py
	$(BIN)/python bench/bound.py

clean:
	rm -rf $(VENV) $(LOWEST) .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
