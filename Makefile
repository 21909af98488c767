# Sophia: `make up` runs the fleet, `make test` installs everything and runs the tests.
# Needs only Python 3.11 (and `redis-server`, optional): uv is bootstrapped into .bin/ when missing.

SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.bin/uv)
RUN := $(UV) run --frozen

.PHONY: up test bench proto proto-check lint fmt sync clean browser scan images

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
	$(RUN) mypy services/kit/src gateway/src services/memory/src services/code/src services/router/src services/infra/src services/business/src services/visual/src deploy/src
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
	$(RUN) mypy services/kit/src gateway/src services/memory/src services/code/src services/router/src services/infra/src services/business/src services/visual/src deploy/src

fmt: sync
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

scan: sync  ## security scans that install from PyPI: uv.lock in step, every locked pin audited (pip-audit)
	$(UV) lock --check
	$(UV) export --frozen --all-packages --no-emit-workspace --format requirements-txt --output-file .scan-requirements.txt >/dev/null
	$(RUN) pip-audit --requirement .scan-requirements.txt --require-hashes --disable-pip --strict --progress-spinner off; status=$$?; rm -f .scan-requirements.txt; \
	  test $$status = 0 || echo "pip-audit failed: a vulnerable pin, or packages it could not audit (no PyPI JSON API reachable)"; exit $$status
	@if command -v trivy >/dev/null; then trivy fs --scanners vuln,secret,misconfig --severity HIGH,CRITICAL --exit-code 1 .; \
	else echo "trivy: not installed (not on PyPI; CI runs it in .github/workflows/security.yml)"; fi

images:  ## build every service's image as sophia-<service>:$(TAG) (default dev), as CI does (needs Docker)
	for s in gateway memory code infra router visual business; do \
	  pkgs=sophia-$$s; apt=""; pulumi=""; \
	  case $$s in code) apt=git;; visual) apt="libgl1 libglib2.0-0";; infra) pkgs="sophia-infra sophia-deploy"; pulumi=3.272.0;; esac; \
	  docker build --build-arg PACKAGE="$$pkgs" --build-arg MODULE=sophia.$$s --build-arg APT_PACKAGES="$$apt" \
	    --build-arg PULUMI_VERSION="$$pulumi" -t sophia-$$s:$(or $(TAG),dev) . || exit 1; \
	done

clean:
	rm -rf .venv .bin .pytest_cache .mypy_cache .ruff_cache
