# Skywarden: `make run` serves the live console on the built-in scenario, `make test` runs the whole suite,
# `make replay` replays the scenario into a report and a signed ledger. Each creates .venv and installs on
# first use; later runs skip what is already there.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
FUZZ_STAMP  := $(VENV)/.installed-fuzz
SCENARIO ?= kremlin-2023-05-03
# `make run SPEED=10` plays the feed ten times faster; HOST=0.0.0.0 serves other machines too.
SPEED ?= 1
HOST  ?= 127.0.0.1
PORT  ?= 8000
# The browser tests drive Debian's Chromium (Playwright's own browser download is not used).
CHROMIUM := /usr/bin/chromium
# The console's map library, from the npm registry (web/package.json); copied into the package, never committed.
MAPLIBRE := src/skywarden/web/vendor/maplibre-gl.js

.PHONY: run replay test bench fuzz lint lock clean train evaluate

# Installs pin every package to requirements.lock, so a fresh machine gets the versions that were tested and audited.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -c requirements.lock
	touch $@

run: $(STAMP) $(MAPLIBRE)
	$(BIN)/skywarden serve --scenario $(SCENARIO) --speed $(SPEED) --host $(HOST) --port $(PORT)

replay: $(STAMP)
	$(BIN)/skywarden replay $(SCENARIO)

# `apt-get update` once, whichever of the system packages below is missing first.
APT_UPDATE := test -e .apt-updated || { apt-get update && touch .apt-updated; }

$(CHROMIUM):
	$(APT_UPDATE)
	DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

$(MAPLIBRE): web/package.json web/package-lock.json
	command -v npm >/dev/null || { $(APT_UPDATE) && DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; }
	npm ci --prefix web --no-audit --no-fund
	mkdir -p $(@D)
	cp web/node_modules/maplibre-gl/dist/maplibre-gl.css $(@D)/
	cp web/node_modules/maplibre-gl/dist/maplibre-gl.js $@

test: $(STAMP) $(CHROMIUM) $(MAPLIBRE)
	$(BIN)/python -m pytest -q

# Stone Soup is installed for the benchmark only (the `bench` extra); about 15 minutes on 2 cores.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run_bench.py

# Atheris (coverage-guided fuzzing, the `fuzz` extra) for the fuzzer only: a million cases for each parser of
# outside input (fuzz/targets.py); anything but a parser's own typed error is saved under fuzz/findings/.
$(FUZZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[fuzz]' -c requirements.lock
	touch $@

fuzz: $(FUZZ_STAMP)
	$(BIN)/python fuzz/run.py --runs 1000000

# The classifier's network, retrained on simulated scenes from fixed seeds (about 2 min); writes the shipped model.
train: $(STAMP)
	$(BIN)/python -m skywarden.runtime.training

# The classifier and the alerting measured on random scenes it was not trained on (the README's table).
evaluate: $(STAMP)
	$(BIN)/skywarden evaluate

# pip-audit checks the locked versions against the PyPI advisory database; --strict fails when a package cannot
# be checked (e.g. no network), so an audit that did not happen never passes as a clean one.
AUDIT_STAMP := $(VENV)/.installed-audit
$(AUDIT_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[audit]' -c requirements.lock
	touch $@

lint: $(STAMP) $(AUDIT_STAMP)
	$(BIN)/ruff check src tests bench fuzz
	$(BIN)/mypy src
	$(BIN)/pip-audit --strict --disable-pip --no-deps --progress-spinner off -r requirements.lock

# Re-resolve the dependencies in a throwaway venv and write requirements.lock (then `make lint` audits them).
lock:
	rm -rf build/lock-venv && $(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --upgrade pip
	build/lock-venv/bin/python -m pip install --quiet '.[test]'
	{ sed -n '1,2p' requirements.lock; build/lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^skywarden'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf build/lock-venv

clean:
	rm -rf $(VENV) out build test-artifacts src/*.egg-info .pytest_cache .ruff_cache .mypy_cache .apt-updated
