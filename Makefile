# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# axe-core, the accessibility checker the browser tests run in the page, from the npm registry.
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js

.PHONY: run test bench bench-browser system-deps

# pip builds the C Lloyd step too: a change to it needs a new install.
$(STAMP): pyproject.toml analysis/_lloyd.c
	@command -v cc >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/amc serve --data data/demo_songs.csv

# Chromium drives the browser tests, redis-server the scale-out tests, qemu-user the test that the C step runs
# on an older CPU than the one that built it: install them when missing.
system-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v redis-server >/dev/null \
	  && command -v qemu-x86_64 >/dev/null || \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver redis-server \
	    qemu-user; }

$(AXE):
	@command -v npm >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm; }
	npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/axe axe-core@4

test: $(STAMP) system-deps $(AXE)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.whole
	$(BIN)/python -m benchmarks.report_draw

# The dashboard in headless Chromium against the browser's floor (needs `make system-deps`).
bench-browser: $(STAMP)
	$(BIN)/python -m benchmarks.browser
