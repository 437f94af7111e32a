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

# All six services (gunicorn) and their workers on embedded SQLite + the local RabbitMQ.
run: install migrate
	$(BIN)/honcho start -f Procfile

migrate: install
	$(BIN)/yunkefu migrate all

# The whole suite on real PostgreSQL and RabbitMQ (see README for DATABASE_URL / AMQP_URL).
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

demo: install
	$(BIN)/yunkefu demo

bench: install
	$(BIN)/python bench/outbox_relay.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/roster.py
	$(BIN)/python bench/payroll.py
	$(BIN)/python bench/http_api.py

up:
	docker compose up --build

down:
	docker compose down

clean:
	rm -rf var .pytest_cache .ruff_cache
