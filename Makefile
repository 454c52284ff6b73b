# Two commands for a fresh machine (see README):
#   make run   -> dashboard with demo data at http://127.0.0.1:8000 (no services needed)
#   make test  -> the whole test suite (what .ci/run executes)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python

# Django 6.1 needs Python >= 3.12: use python3 if new enough, else a pyenv-installed 3.12+/3.13+.
PYTHON ?= $(shell for c in python3.13 python3.12 python3 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -r); do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$c; break; fi; done)

.PHONY: run port-free test test-fast venv

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 not found (Django 6.1 needs it)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# make run ADDR=127.0.0.1:8001 serves the demo elsewhere; the address is checked first (before the
# virtualenv is built), and again by the demo before it migrates or syncs. DEMO_ARGS: more options
# of `manage.py demo`, e.g. DEMO_ARGS=--reset-passwords.
ADDR ?= 127.0.0.1:8000

port-free:
	@test -z "$(PYTHON)" || $(PYTHON) numbersadmin/portcheck.py "$(ADDR)"

run: port-free venv
	$(PY) manage.py demo --addr "$(ADDR)" $(DEMO_ARGS)

# Under coverage (.coveragerc): pytest and every Python process it starts (xdist workers, manage.py,
# celery worker and beat with their prefork children, probe.py) write their own data file under
# var/coverage/; they are combined and the report printed even when tests fail.
# Two passes: everything but the integration suite on TEST_WORKERS xdist workers, then the
# integration suite alone (it starts celery workers and restarts PostgreSQL and Redis, so it runs
# serially). Exit status: the first failing pass's (5, "nothing selected", counts as success, e.g.
# for PYTEST_ARGS=tests/test_api.py); never coverage's.
TEST_WORKERS ?= 2
test: venv
	@rm -rf var/coverage
	@status=0; \
	  $(PY) -m coverage run -m pytest -n $(TEST_WORKERS) -m "not integration and not perf" $(PYTEST_ARGS); s=$$?; \
	  [ $$s -eq 5 ] || status=$$s; \
	  $(PY) -m coverage run -m pytest -m "integration and not perf" $(PYTEST_ARGS); s=$$?; \
	  [ $$s -eq 5 ] || [ $$status -ne 0 ] || status=$$s; \
	  { $(PY) -m coverage combine -q && $(PY) -m coverage report; } || echo "coverage: no report" >&2; \
	  exit $$status

test-fast: venv
	$(PY) -m pytest -m "not integration and not browser and not perf" $(PYTEST_ARGS)
