# yunkefu — make install · run · test · lint · bench · migrate · up · demo
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install system-deps run test test-unit lint format bench migrate up down demo clean

# The system packages first (caddy, chromium, fonts-noto-cjk, jq: apt-get when root or with passwordless
# sudo, else the apt-get line to run; it never stops the Python part), then the venv.
install: system-deps $(BIN)/yunkefu

system-deps:
	@deploy/system-deps.sh

$(BIN)/yunkefu: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/yunkefu

# The console (8000), the six services (gunicorn, 8001…8006) and their workers on embedded SQLite + the local
# RabbitMQ, and the gateway (Caddy, 8080: the console and the APIs under /api/<service>/v1/… on one origin),
# listening on BIND_HOST (127.0.0.1), every port + PORT_OFFSET (0). Development mode: a key pair for the
# service tokens is generated under var/keys. Without caddy the gateway is skipped with a warning.
# `yunkefu run` is honcho that exits 0 when Ctrl-C (or SIGTERM) stopped everything cleanly.
run: export YUNKEFU_ENV = development
run: install migrate
	$(BIN)/yunkefu run

# The databases' schemas, then the broker's exchange and queues (declared once here: the processes only
# check that they are there; --wait gives a RabbitMQ that is still starting a minute).
migrate: install
	$(BIN)/yunkefu migrate all
	$(BIN)/yunkefu broker setup --wait 60

# The whole suite on real PostgreSQL and RabbitMQ (see README for DATABASE_URL / AMQP_URL).
# tests/conftest.py sets YUNKEFU_ENV=development, and uses pytest-docker (docker-compose.yml's postgres and
# rabbitmq) only when the local servers do not answer and a Docker engine does.
test: install
	$(BIN)/python -m pytest -p no:cacheprovider tests

# The fast tier: pure rules and use cases on a fake unit of work. PostgreSQL and RabbitMQ are pointed at
# closed ports, so a unit test that needed either fails instead of quietly using them.
test-unit: install
	TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:1/postgres AMQP_URL=amqp://guest:guest@127.0.0.1:1/%2F \
	  $(BIN)/python -m pytest -p no:cacheprovider tests/unit

# ruff, then the architecture contracts (.importlinter; docs/architecture.md § Guardrails).
lint: install
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: export YUNKEFU_ENV = development
demo: install
	$(BIN)/yunkefu demo

# One summary table (measure | product | baseline | ratio | target | met); BENCH_RUNS=3 for medians of three.
BENCH_RUNS ?= 1
bench: export YUNKEFU_ENV = development
bench: install
	$(BIN)/python bench/summary.py --runs $(BENCH_RUNS)
	$(BIN)/python bench/console_pages.py

# docker-compose.yml: the console's private key is deploy/keys/<JWT_PRIVATE_KEY_NAME, default console>.key.pem;
# every process gets the public keys, copied here from deploy/keys/*.pub.pem into deploy/keys/public/
# (new ones first, then the removed ones go: a running service never sees the directory without its key).
up:
	@test -f .env || { echo "make up: create .env first (cp .env.example .env, then set CONSOLE_SECRET_KEY)" >&2; exit 2; }
	@grep -Eq '^MINIO_ROOT_PASSWORD=[A-Za-z0-9]{8,}' .env || { echo "make up: set MINIO_ROOT_PASSWORD in .env" \
	  "(8 or more letters and digits: the uploads' object storage)" >&2; exit 2; }
	@ls deploy/keys/*.key.pem >/dev/null 2>&1 || { echo "make up: no token key pair in deploy/keys: run" \
	  "'$(BIN)/yunkefu keys generate --dir deploy/keys --name console'" >&2; exit 2; }
	mkdir -p deploy/keys/public
	cp deploy/keys/*.pub.pem deploy/keys/public/
	@for f in deploy/keys/public/*.pem; do test -f "deploy/keys/$${f##*/}" || rm -v "$$f"; done
	docker compose up --build

down:
	docker compose down

clean:
	rm -rf var .pytest_cache .ruff_cache
