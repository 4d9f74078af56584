# Custodes — `make demo` and `make test` work from a clean clone on Debian.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEBS   := $(shell grep -v '^\#' debian-packages.txt)

.PHONY: setup debs demo test lint typecheck unit bench clean

setup: debs $(STAMP)

# Install only the Debian packages that are missing (apt-get needs root; sudo if not).
debs:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(BIN)/custodes demo --data $${CUSTODES_DATA:-./demo-data}

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

# Two workers, each test module on one of them (its module-scoped servers stay whole): most
# tests wait on real-time streams, so two run side by side in well under the time of one
# after the other on CI's 2 cores (18:43 against ~28 min, both measured on this machine).
TEST_JOBS ?= 2
unit: setup
	$(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile

test: lint typecheck unit

bench: setup
	$(BIN)/python -m bench.recording
	$(BIN)/python -m bench.timeline
	$(BIN)/python -m bench.live_latency
	$(BIN)/python -m bench.live_first_frame
	$(BIN)/python -m bench.playback
	$(BIN)/python -m bench.verify
	$(BIN)/python -m bench.ledger
	$(BIN)/python -m bench.sweep
	$(BIN)/python -m bench.grant_check
	$(BIN)/python -m bench.export

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
