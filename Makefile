# Two commands do everything: `make run` (the whole app on the embedded default) and `make test`.
.PHONY: run test lint format lock assets services clean messages translations

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

# GUNICORN_BIND=127.0.0.1:8080 make run serves elsewhere; links in messages follow (config.base_url).
run: $(VENV)/.runtime assets translations ## set up, migrate, load demo data, serve on GUNICORN_BIND (127.0.0.1:8000)
	$(FLASK) db upgrade
	$(FLASK) demo load
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: $(VENV)/.dev assets translations services ## set up, start PostgreSQL/Redis/Chromium, run the whole suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

services: ## install (as root) and start PostgreSQL, Redis and Chromium when missing
	sh scripts/services.sh

assets: node_modules/.package-lock.json
	sh scripts/assets.sh

# Translations: app/translations/<lang>/LC_MESSAGES/messages.po are kept in git; the compiled .mo
# files are made here. `make messages` extracts every marked string and updates the catalogues;
# English, the language the strings are written in, gets each msgid as its text.
translations: $(VENV)/.runtime
	$(BIN)/pybabel -q compile -d app/translations

messages: $(VENV)/.runtime
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k N_plural:1,2 --no-location --sort-by-file -o app/translations/messages.pot .
	$(BIN)/pybabel -q update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching
	$(BIN)/python scripts/english_messages.py

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENV)/.runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@

lock: $(VENV)/.dev ## re-pin requirements*.txt from requirements*.in
	$(BIN)/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in
	$(BIN)/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) node_modules app/static/vendor .pytest_cache .ruff_cache
