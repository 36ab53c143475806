# The two commands: `make run` serves the app, `make test` runs every test.
# Both make the virtual environment and install what they need on first use.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format messages check-python clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || (echo "OpenSpace needs Python 3.11 or newer on the PATH." >&2; exit 1)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/openspace serve --demo --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# After changing interface text: gather it into the catalogue and add it to each language's
# file for translating (app/locale/<code>/LC_MESSAGES/messages.po).
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy -k lazy_text --no-location --sort-output \
		-o app/locale/messages.pot .
	for code in pl ur; do \
		test -f app/locale/$$code/LC_MESSAGES/messages.po \
		|| $(BIN)/pybabel -q init -D messages -i app/locale/messages.pot -d app/locale -l $$code; \
		$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete -D messages \
			-i app/locale/messages.pot -d app/locale -l $$code; \
	done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
