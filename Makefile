# mstrack: `make run` to try it, `make test` to check it. Python 3.11+ and nothing else.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: axe install run test test-sqlite test-postgres lint bench-seed bench-pages bench-engine bench-alerts bench-night bench-import bench-outcomes migrations-check clean bench-api bench-export screenshots

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# A local try-out: DEBUG on plain http, SQLite in the checkout unless DATABASE_URL is set,
# Celery eager unless REDIS_URL is set (then a worker and beat run beside the server). The
# demo cohort is evaluated at start so that the dashboard is current.
run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo --if-empty
	DEBUG=1 $(PY) manage.py evaluate --all
	@echo "mstrack: http://127.0.0.1:$(PORT)/  (demo-nurse / demo-neurologist, password: $${DEMO_PASSWORD:-demo})"
	@if [ -n "$$REDIS_URL" ]; then \
		trap 'kill 0' EXIT INT TERM; \
		DEBUG=1 $(VENV)/bin/celery -A mstrack worker --beat --loglevel=INFO --concurrency=2 & \
		DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT); \
	else \
		DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT); \
	fi

# The whole suite on SQLite; then, when DATABASE_URL names PostgreSQL, every test that
# touches the database again on PostgreSQL.
test: install
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "DATABASE_URL unset: PostgreSQL pass skipped"; fi

test-sqlite: install
	MSTRACK_POSTGRES_PASS=$${DATABASE_URL:+1} DATABASE_URL= $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install
	$(PY) -m pytest -m "django_db or postgres or redis" $(PYTEST_ARGS)

# axe-core for the browser tests' accessibility checks, from the npm registry into .cache/
# (used by the tests only, never served).
AXE_VERSION := 4.14.1
axe: .cache/axe-core/node_modules/axe-core/axe.min.js
.cache/axe-core/node_modules/axe-core/axe.min.js:
	npm install --prefix .cache/axe-core --no-save --no-audit --no-fund axe-core@$(AXE_VERSION)

# Refresh docs/screenshots/ from the browser test (needs Debian's chromium).
screenshots: install axe
	MSTRACK_SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/browser

migrations-check: install
	DATABASE_URL= DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	SECRET_KEY=mypy-only $(VENV)/bin/mypy

# Benchmarks run with DEBUG off (DEBUG keeps every query in memory); the key is throw-away.
BENCH_ENV := SECRET_KEY=$${SECRET_KEY:-benchmark-only-secret-key-never-for-deployment-0123456789}

bench-seed: install
	$(BENCH_ENV) $(PY) manage.py migrate --noinput
	$(BENCH_ENV) $(PY) manage.py seed_demo --patients $${PATIENTS:-100000} --seed 1

# Registry import of a generated history against seed_demo's COPY (docs/benchmarks.md).
bench-import: install
	$(BENCH_ENV) $(PY) manage.py migrate --noinput
	$(BENCH_ENV) $(PY) -m tools.bench.imports --patients $${PATIENTS:-100000} --seed 1

# Benchmarks live in tools/bench/ (docs/benchmarks.md has their figures).
# Server time of the clinic pages on the current database (seed and evaluate it first).
bench-pages: install
	$(BENCH_ENV) $(PY) -m tools.bench.pages --requests $${REQUESTS:-200}

# The progression engine alone on 100,000 synthetic patients, then `manage.py progression`
# end to end on 20,000 (one core).
bench-engine: install
	$(PY) -m tools.bench.engine --patients $${PATIENTS:-100000}
	$(PY) -m tools.bench.engine --command $${COMMAND_PATIENTS:-20000} --manage

# PostgreSQL (DATABASE_URL) behind gunicorn with 2 workers; set REDIS_URL as in production,
# or Celery runs the engine inside each write.
bench-api: install
	$(PY) -m tools.bench.api

# Alert workers on a seeded PostgreSQL (bench-seed) and REDIS_URL: sweep rate with 2 real
# workers, and write-to-alert latency under a steady write load.
bench-alerts: install
	$(BENCH_ENV) $(PY) manage.py migrate --noinput
	$(BENCH_ENV) $(PY) -m tools.bench.alerts --workers $${WORKERS:-2} --rate $${RATE:-20} --seconds $${DURATION:-30}

# One ordinary night of the sweep for 200 patients of the seeded database, in one process:
# the worker's CPU per patient, then its instructions per patient under valgrind (repeatable).
bench-night: install
	$(BENCH_ENV) $(PY) -m tools.bench.night
	$(BENCH_ENV) $(PY) -m tools.bench.night --instructions

# The clinic's outcome report on the seeded database: computation time, memory peak, and the
# outcomes page and API reading the stored report (p50/p95).
bench-outcomes: install
	$(BENCH_ENV) $(PY) -m tools.bench.outcomes --requests $${REQUESTS:-100}

# FHIR $export of the DEMO site, seeded up to PATIENTS (10,000) if smaller, then every line
# checked with fhir.resources and an export by another site's neurologist (must be empty).
bench-export: install
	$(BENCH_ENV) $(PY) manage.py migrate --noinput
	$(BENCH_ENV) $(PY) -m tools.bench.export --patients $${PATIENTS:-10000}

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .hypothesis
