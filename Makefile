# sijreg: the two commands of the README, and their parts.
# Everything is installed from the lock file into .venv with uv (itself installed into .tools).

PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell command -v $(PYTHON))

.PHONY: demo test setup system-deps lint typecheck pytest benchmark clean

demo: setup                 ## set up, load the synthetic seed study and follow-up demo, write ./report/
	$(VENV)/bin/sijreg demo --database sijreg.db --out report

test: setup system-deps lint typecheck pytest   ## set up, then pass every check

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

# Bytecode is compiled ahead (the dependencies by uv, sijreg's own src/ by compileall):
# where PYTHONDONTWRITEBYTECODE is set, every command would compile it again. Stamps in
# .venv make a second `make setup` do nothing: uv syncs again only when uv.lock or
# pyproject.toml changed (or .venv is gone), compileall runs only when src/ changed.
SYNCED := $(VENV)/.synced
COMPILED := $(VENV)/.compiled

setup: $(SYNCED) $(COMPILED)

$(SYNCED): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

$(COMPILED): $(SYNCED) $(shell find src -name '*.py')
	$(VENV)/bin/python -m compileall -q src
	touch $@

system-deps:                ## what the tests drive for real: Chromium and GNU PSPP
	scripts/system-deps

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

pytest:
	$(VENV)/bin/pytest -n 2 --dist loadgroup

benchmark: setup            ## the report at 100k and 1M patients against tableone; where its time goes; suppression's cost; start-up; rank tests; pooling; sheet import; completeness; server load; an import beside the server
	$(VENV)/bin/python -m benchmarks.run
	$(VENV)/bin/python -m benchmarks.phases
	$(VENV)/bin/python -m benchmarks.suppression
	$(VENV)/bin/python -m benchmarks.startup
	$(VENV)/bin/python -m benchmarks.ranks
	$(VENV)/bin/python -m benchmarks.pooling
	$(VENV)/bin/python -m benchmarks.import_sheet
	$(VENV)/bin/python -m benchmarks.completeness
	$(VENV)/bin/python -m benchmarks.load
	$(VENV)/bin/python -m benchmarks.import_beside

clean:
	rm -rf .venv .tools report sijreg.db sijreg.db-wal sijreg.db-shm
