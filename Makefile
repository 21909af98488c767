# Sophia: `make up` runs the fleet, `make test` installs everything and runs the tests.
# Needs only Python 3.11 (and `redis-server`, optional): uv is bootstrapped into .bin/ when missing.

SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.bin/uv)
RUN := $(UV) run --frozen

.PHONY: up test bench proto proto-check lint fmt sync clean browser

$(CURDIR)/.bin/uv:
	python3 -m venv .bin/venv
	.bin/venv/bin/pip install --quiet "uv==$(UV_VERSION)"
	ln -sf $(CURDIR)/.bin/venv/bin/uv .bin/uv

sync: $(UV)
	$(UV) sync --frozen --all-packages

up: sync  ## run the gateway and every service with embedded defaults (options: make up UP_ARGS="--demo --port 9000")
	$(RUN) sophia up $(UP_ARGS)

test: sync browser  ## install everything, lint, and run the whole test suite
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy services/kit/src gateway/src services/memory/src services/code/src services/router/src services/infra/src services/business/src services/visual/src
	$(RUN) pytest

# The operator console's browser tests drive Debian's chromium through chromium-driver. Best effort: installed
# with apt-get when missing and we are root; otherwise those tests skip and say what to install.
browser:
	@if { command -v chromium || command -v google-chrome; } >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver for the console's browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
			|| echo "could not install chromium: the console's browser tests will skip"; \
	else echo "no chromium (and not root to install it): the console's browser tests will skip"; fi

bench: sync  ## benchmarks: printed as a table, written to bench/results/*.json
	$(RUN) python -m bench

proto: sync  ## regenerate the control-plane code from protos/
	$(RUN) python scripts/gen_proto.py

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy services/kit/src gateway/src services/memory/src services/code/src services/router/src services/infra/src services/business/src services/visual/src

fmt: sync
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

clean:
	rm -rf .venv .bin .pytest_cache .mypy_cache .ruff_cache
