# The two commands a newcomer needs: `make demo` and `make test`.
# Everything is installed into .venv from PyPI; system packages (Chromium for the
# browser tests, xmlsec1 for signature interop, PostgreSQL for the outbox backend)
# come from `make system-deps`, which .ci/run calls before `make test`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test lint typecheck pytest docs docs-serve system-deps bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m govlink.demo

lint: $(STAMP)
	$(BIN)/ruff check src mock_servers tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/
	$(BIN)/mypy mock_servers/

pytest: $(STAMP)
	$(BIN)/pytest -q

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

test: lint typecheck pytest docs

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

system-deps:
	@bash .ci/system-deps.sh

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) site .mypy_cache .pytest_cache .ruff_cache
