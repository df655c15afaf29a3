# The two commands: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install lint types unit integration e2e bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the versions CI tested (requirements.lock), re-installed when either file changes.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

var/secret-key:
	mkdir -p var
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(48))" > $@
	chmod 600 $@

run: install var/secret-key
	CUSTOMERCASE_SECRET_KEY="$${CUSTOMERCASE_SECRET_KEY:-$$(cat var/secret-key)}" \
		$(BIN)/customercase run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/nox --no-venv -s lint types tests

lint types unit integration e2e: install
	$(BIN)/nox --no-venv -s $@

# Seeds PostgreSQL once (database customercase_bench), serves the app and a bare Litestar app,
# loads them, prints a table, writes benchmarks/results/latest.json. Needs PostgreSQL, ~10 min
# (each route runs 3 times; the median run is reported). BENCH_ARGS="--rounds 1 --scale 0.01"
# for a quick look; "--search" adds the 1M-summary forum.
bench: install
	$(BIN)/nox --no-venv -s bench -- $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .nox .pytest_cache .mypy_cache .ruff_cache
