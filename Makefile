# match-notifier — the commands people and CI use alike.
# Every target bootstraps its own virtualenv (.venv) from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
SRC    := notifier workers tests bench

.PHONY: venv demo test lint unit bench chaos soak clean browser mosquitto

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check -U pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[embedded,dev,apprise,mqtt,webpush,email,bots]'
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

demo: venv ## replay the scripted Atalanta v Dortmund second leg through the whole pipeline
	@$(BIN)/notifier demo

lint: venv ## ruff and mypy
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/mypy
	@if [ -x $(BIN)/hadolint ]; then $(BIN)/hadolint Dockerfile; else echo "hadolint: not installed, Dockerfile not linted"; fi

# The e2e browser test drives Debian's chromium through Playwright (no browser download of its
# own). Installed here when we are root with apt-get (CI, a fresh Debian machine); else skipped,
# and the browser test says why it skips.
browser: ## install chromium for the browser test (root + apt-get), or say why not
	@if command -v chromium >/dev/null 2>&1; then echo "browser: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "browser: apt-get install chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "browser: chromium could not be installed; the browser test will be skipped"; \
	else echo "browser: not root or no apt-get: install chromium to run the browser test"; fi

# The MQTT tests start their own Mosquitto (Debian's package) on a free loopback port.
mosquitto: ## install Debian's mosquitto for the MQTT tests (root + apt-get), or say why not
	@if [ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1; then echo "mosquitto: installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "mosquitto: apt-get install mosquitto"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients >/dev/null) \
	    || echo "mosquitto: could not be installed; the MQTT tests will be skipped"; \
	else echo "mosquitto: not root or no apt-get: install mosquitto to run the MQTT tests"; fi

# Where browser and mosquitto can install (root with apt-get), a test that finds either missing
# fails instead of skipping (tests/tools.py): CI never goes green on tests it skipped.
test: lint browser mosquitto ## lint, then every test (unit, integration on a private server, end to end)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then export TESTS_NEED_TOOLS=1; fi; \
	  echo "$(BIN)/pytest -q -rs -n 2"; $(BIN)/pytest -q -rs -n 2

unit: venv
	$(BIN)/pytest -q tests/unit

bench: venv ## benchmarks: each prints its figure and its ratio to a peer or limit
	$(BIN)/python -m bench

# The full chaos run (tests/chaos: ten matches, 20 kill -9, a Redis crash, a SIGSTOP), once per
# appendfsync mode; `make test` runs a bounded one. CHAOS_ARGS="--server /usr/bin/redis-server".
chaos: venv ## replay 10 matches through worker processes under faults; the delivery table
	$(BIN)/python -m tests.chaos $(CHAOS_ARGS)

# N matches (default 80, in 8 waves) through poller, aggregator and dispatcher against a private
# Valkey with a retention of seconds: per-wave keys, keys without TTL, stream entries, Redis
# memory and RSS; "flat" is defined in bench/soak.py (FLAT).
soak: venv ## replay many matches; the growth table (exit 1 if a finished match kept a key or a measure grew)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .mypy_cache .ruff_cache
