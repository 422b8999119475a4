PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/agenttrail hunt demo/data --host-from-path 'macs/{host}/*' --assets demo/data/assets.csv \
		--collected-at 2026-03-02T18:00:00Z -o demo-out --fail-on none

lint: $(STAMP)
	$(BIN)/ruff check agenttrail tests bench

test: $(STAMP) lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/bench_hunt.py

clean:
	rm -rf $(VENV) demo-out tests/artifacts
