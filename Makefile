# The README's commands. `make run` and `make test` work from a fresh clone on Debian with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test test-only install install-dev secrets migrate seed translations scheduler serve bench lint clean-instance wheelhouse
# Offline install (an intranet with no package index): `make wheelhouse` on a connected machine of the same kind
# (Debian, same Python), copy the folder over, then `make install WHEELS=wheels`: pip then reads only that folder.
WHEELS ?=
WHEELHOUSE ?= wheels
PIP_FROM := $(if $(WHEELS),--no-index --find-links $(abspath $(WHEELS)),)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade $(PIP_FROM) pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q $(PIP_FROM) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime translations
install-dev: $(VENV)/.dev translations

translations: $(VENV)/.runtime
	$(BIN)/pybabel compile -f -d lms/translations >/dev/null

secrets: $(VENV)/.runtime
	$(BIN)/python -m lms.secrets init

migrate: secrets
	$(BIN)/alembic upgrade head

seed: migrate
	$(BIN)/flask seed-demo
	@echo "Each talent-pool standing of the demo and its certificate's verify page:"
	@$(BIN)/flask talent-standings

## run: install, migrate, seed the demo into instance/ and serve http://127.0.0.1:5000 with the scheduler
run: install seed
	@echo "Serving http://127.0.0.1:5000 (demo accounts in README.md; Ctrl-C stops server and scheduler)"
	@$(BIN)/flask scheduler & SCHED=$$!; \
	trap 'kill $$SCHED 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host 127.0.0.1 --port 5000

scheduler: install
	$(BIN)/flask scheduler

## test: install and run every test (unit, web, migrations, browser). TEST_DATABASE_URL picks the database.
test: install-dev
	@scripts/system-deps.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: data generator + workloads on SQLite and PostgreSQL against a bare-WSGI baseline (issue 9); writes
## bench/results/latest.{json,md}. BENCH_SCALE (default 1 = the issue's sizes) sizes the data; BENCH_TIME scales the durations.
bench: install-dev translations
	@scripts/system-deps.sh
	@scripts/bench-deps.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

## wheelhouse: every wheel that production needs (requirements.txt, and pip itself) in $(WHEELHOUSE)/
wheelhouse: | $(BIN)/python
	$(BIN)/pip wheel -q -w $(WHEELHOUSE) pip -r requirements.txt
	@echo "$$(ls $(WHEELHOUSE) | wc -l) wheels in $(WHEELHOUSE)/; on the offline machine: make install WHEELS=$(WHEELHOUSE)"

## messages: extract message ids (Chinese) and update the English catalog; then translate the new entries
messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o lms/translations/messages.pot --no-location --sort-output --project cqo-lms .
	$(BIN)/pybabel update -i lms/translations/messages.pot -d lms/translations --no-fuzzy-matching --ignore-obsolete

## test-only: `make test` without its install steps, for .ci/run, which installs once and then runs the SQLite and
## PostgreSQL suites at once (two `make test` would both pip-install and compile the catalogs into one .venv).
test-only:
	$(BIN)/python -m pytest $(PYTEST_ARGS)
