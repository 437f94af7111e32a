# yunkefu — make install · run · test · lint · bench · migrate · up · demo
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test test-unit lint format bench migrate up down demo clean

install: $(BIN)/yunkefu

$(BIN)/yunkefu: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/yunkefu

# All six services (gunicorn) and their workers on embedded SQLite + the local RabbitMQ, listening on
# BIND_HOST (127.0.0.1) at 8001…8006 + PORT_OFFSET (0). Development mode: the public default JWT secret is
# accepted. `yunkefu run` is honcho that exits 0 when Ctrl-C (or SIGTERM) stopped everything cleanly.
run: export YUNKEFU_ENV = development
run: install migrate
	$(BIN)/yunkefu run

migrate: install
	$(BIN)/yunkefu migrate all

# The whole suite on real PostgreSQL and RabbitMQ (see README for DATABASE_URL / AMQP_URL).
# tests/conftest.py sets YUNKEFU_ENV=development, and uses pytest-docker (docker-compose.yml's postgres and
# rabbitmq) only when the local servers do not answer and a Docker engine does.
test: install
	$(BIN)/python -m pytest -p no:cacheprovider tests

test-unit: install
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

lint: install
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: export YUNKEFU_ENV = development
demo: install
	$(BIN)/yunkefu demo

bench: export YUNKEFU_ENV = development
bench: install
	$(BIN)/python bench/outbox_relay.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/roster.py
	$(BIN)/python bench/payroll.py
	$(BIN)/python bench/http_api.py

up:
	@test -f .env || { echo "make up: create .env first (cp .env.example .env, then set JWT_SECRET)" >&2; exit 2; }
	docker compose up --build

down:
	docker compose down

clean:
	rm -rf var .pytest_cache .ruff_cache
