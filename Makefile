# Two commands: `make run` starts the app (sandbox mode when no key is set), `make test` runs every test.
# Both create or reuse the local virtual environment in .venv.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test lint bench sandbox chromium postgres clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

# The store tests need a PostgreSQL server: DAILIES_TEST_PG_URL if set, else the one ensure-postgres.sh finds or starts.
# Two pytest processes (pytest-xdist), whole modules each, in file order; every test still runs. The browser tests
# are one unit (tests/conftest.py): one process runs them one at a time beside the rest. PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2
test: $(VENV)/.dev chromium
	$(BIN)/ruff check .
	url="$${DAILIES_TEST_PG_URL:-$$(bash scripts/ensure-postgres.sh)}" && DAILIES_TEST_PG_URL="$$url" \
		$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadscope --no-loadscope-reorder

lint: $(VENV)/.dev
	$(BIN)/ruff check .

bench: $(VENV)/.dev
	$(BIN)/python -m bench.render_clip
	$(BIN)/python -m bench.poll_efficiency
	$(BIN)/python -m bench.clip_memory
	$(BIN)/python -m bench.history_rerun

sandbox: $(VENV)/.runtime
	$(BIN)/python -m sandbox --port 8765

chromium:
	bash scripts/ensure-chromium.sh

postgres:
	bash scripts/ensure-postgres.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
