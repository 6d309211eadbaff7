.PHONY: install test lint bench demo
VENV ?= .venv

install:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -e '.[test]'

test:
	$(VENV)/bin/pytest

lint:
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy && $(VENV)/bin/lint-imports

bench:
	$(VENV)/bin/socai bench ledger

demo:
	$(VENV)/bin/socai demo
