# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run worker test install install-dev migrate messages knowledge accounts lint format clean
.PHONY: test-postgres benchmark benchmark-quick benchmark-smoke screenshots mutation

run: install migrate messages knowledge accounts
	@echo ""
	@echo "  Merchant wizard:  http://127.0.0.1:8000/"
	@echo "  Admin:            http://127.0.0.1:8000/admin/"
	@echo "  (webhook deliveries: a task worker runs alongside; see docs/api.md)"
	@echo ""
	$(PY) manage.py db_worker --queue-name webhooks --no-reload & worker=$$!; \
		trap 'kill $$worker' EXIT INT TERM; \
		$(PY) manage.py runserver 127.0.0.1:8000

# The webhook worker on its own (production runs it under its process manager; docs/deploy.md).
worker: install migrate
	$(PY) manage.py db_worker --queue-name webhooks --no-reload

test: install-dev messages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# The database tests again on PostgreSQL with the Redis cache (both must be running; see
# README, "Production"). pytest-django creates and drops the test_postgres database.
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0

test-postgres: install-dev messages
	DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -m "not browser"

# Figures for docs/performance.md (the HTTP part needs PostgreSQL and Redis running).
benchmark: install messages
	OPENBLAS_NUM_THREADS=1 DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) manage.py benchmark

benchmark-quick: install messages
	OPENBLAS_NUM_THREADS=1 DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) manage.py benchmark --quick --output /tmp/performance-quick.md

# The benchmark's tests, its quick run included (opt-in, about a minute; no services needed).
benchmark-smoke: install-dev messages
	RUN_BENCHMARK=1 $(BIN)/pytest tests/test_benchmark.py -q

# The README's pictures: the browser suite's screenshots, written to docs/screenshots.
screenshots: install-dev messages
	SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest tests/test_browser_screenshots.py -q

# Mutation testing (docs/mutation.md): mutmut makes one small change at a time to these
# modules and runs setup.cfg's fast test selection against it; a change no test notices
# ("survived") is a hole in the tests. Not part of `make test`: it takes minutes.
MUTATION_MODULES := wizard/engine.py
# mutmut names a mutant after its module and function: wizard.engine.x_posterior__mutmut_3.
mutant_prefixes = $(foreach module,$(MUTATION_MODULES),$(subst /,.,$(module:.py=)).)

mutation: install-dev
	$(BIN)/mutmut run $(foreach prefix,$(mutant_prefixes),'$(prefix)*')
	@$(BIN)/mutmut results --all true | awk -F': ' \
		'$(foreach prefix,$(mutant_prefixes),index($$1, "$(prefix)") ||) 0 { count[$$2]++; total++ } \
		END { for (status in count) printf "%6d %s\n", count[status], status; \
		      printf "killed: %.1f%% of %d mutants\n", 100 * (count["killed"] + count["timeout"]) / total, total }'

$(PY):
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

messages: install
	$(PY) manage.py compilemessages --ignore=.venv -v 0

# The seed is the content of a local site: a newer seed replaces an older one whole.
knowledge: migrate
	$(PY) manage.py load_knowledge --replace
	$(PY) manage.py publish_knowledge --note "seed knowledge"

accounts: migrate
	$(PY) manage.py create_local_accounts

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
