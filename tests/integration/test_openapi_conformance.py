"""Schemathesis against each service in-process: no 5xx, and every response matches the OpenAPI document.

Every ``/api/v1`` operation of a service gets a few generated requests (valid by the spec, then invalid),
sent through the WSGI app on a migrated PostgreSQL database, with the bearer token of a role the
operation's ``x-roles`` admits. Checks: ``not_a_server_error``, ``response_schema_conformance`` and
``content_type_conformance``. Failures are collected across the whole service (not stopped at the
first) and reported together, one line per operation and check with a curl command to reproduce it.

The run is deterministic (``derandomize``) and bounded by ``OPENAPI_FUZZ_EXAMPLES`` examples per
operation and generation mode (default 6); raise it by hand for a deeper search, e.g.
``OPENAPI_FUZZ_EXAMPLES=100 pytest tests/integration/test_openapi_conformance.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import flask_smorest
import pytest
import schemathesis
from flask import Flask, Response
from hypothesis import HealthCheck, Phase, given, settings
from marshmallow import Schema, fields
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from shared.auth import SigningKey, mint_token, roles_required
from shared.config import SERVICES, Settings
from shared.db import Database
from tests.support import ServiceHarness, session_public_keys, session_signing_key

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
FUZZ_MERCHANT = "m-fuzz"

#: (METHOD, path, failure class) → why a failure is tolerated for now; every entry names its owner.
KNOWN: dict[tuple[str, str, str], str] = {}


def _role_for(operation: dict[str, Any]) -> str:
    """A role the operation admits; not admin when another is listed, so tenant and role rules run."""
    roles = [r for r in operation.get("x-roles", ["admin"]) if r != "admin"]
    return roles[0] if roles else "admin"


def _headers(key: SigningKey, role: str) -> dict[str, str]:
    """The same caller per role for the whole run, so a merchant's reads see what its writes created."""
    merchant_id = FUZZ_MERCHANT if role == "merchant" else None
    token = mint_token(key, role, sub=f"fuzz-{role}", merchant_id=merchant_id)
    return {"Authorization": f"Bearer {token}"}


def _first_line(failure: Any) -> str:
    title = str(getattr(failure, "title", "") or failure).strip()
    message = str(getattr(failure, "message", "") or "").strip()
    text = f"{title}: {message}" if message else title
    return text.splitlines()[0][:300]


def fuzz(app: Flask, key: SigningKey, examples: int = EXAMPLES) -> list[str]:
    """Every /api/v1 operation of ``app``; returns one line per (operation, check) that failed."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Writes first: whatever they create makes the reads answer non-empty pages and real rows, whose
    # bodies are then checked against the schema too (an empty database only ever exercises 404s).
    operations.sort(key=lambda op: _WRITES_FIRST.get(op.method.upper(), 9))
    failures: dict[tuple[str, str, str], str] = {}
    for operation in operations:
        if operation.path.startswith("/api/v1"):
            headers = _headers(key, _role_for(operation.definition.raw))
            for mode in MODES:
                _fuzz_operation(operation, mode, headers, examples, failures)
    return sorted(failures.values())


_WRITES_FIRST = {"POST": 0, "PUT": 1, "PATCH": 2, "GET": 3, "DELETE": 4}


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    headers: dict[str, str],
    examples: int,
    failures: dict[tuple[str, str, str], str],
) -> None:
    method = operation.method.upper()

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        # no shrinking: failures are collected, not raised, so one run reports all of them
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (method, operation.path, type(failure).__name__)
                if key not in KNOWN:
                    failures.setdefault(
                        key,
                        f"{method} {operation.path} [{mode.value}]: {_first_line(failure)}\n"
                        f"    reproduce: {case.as_curl_command()[:400]}",
                    )

    run()


@pytest.mark.parametrize("service", list(SERVICES))
def test_responses_match_the_openapi_document(
    service: str, service_env: Callable[..., ServiceHarness]
) -> None:
    harness = service_env(service)
    failures = fuzz(harness.app, harness.signing_key)
    assert not failures, f"{len(failures)} conformance failure(s) in {service}:\n" + "\n".join(failures)


# --- the run can fail --------------------------------------------------------------------------------------


class _Declared(Schema):
    count = fields.Integer(required=True)


def _lying_app(database: Database) -> Flask:
    """One operation answering a string where its schema says integer, one crashing on a flag."""
    from shared.web import create_app

    blp = flask_smorest.Blueprint("liar", __name__, url_prefix="/api/v1")

    class _Args(Schema):
        crash = fields.Boolean(required=True)

    @blp.route("/count")
    @roles_required("vendor")
    @blp.response(200, _Declared)
    def count() -> Response:
        # A ready Response skips the schema's dump, as a hand-built body in a view would.
        return Response(json.dumps({"count": "three"}), content_type="application/json")

    @blp.route("/crash", methods=["POST"])
    @roles_required("vendor")
    @blp.arguments(_Args)
    @blp.response(200, _Declared)
    def crash(args: dict[str, Any]) -> dict[str, Any]:
        if args["crash"]:
            raise RuntimeError("boom")
        return {"count": 1}

    settings_ = Settings(service="liar", database_url=database.url, jwt_public_keys=session_public_keys())
    return create_app("liar", settings=settings_, database=database, blueprints=[blp])


def test_the_run_reports_schema_violations_and_server_errors(make_database: Callable[[str], str]) -> None:
    database = Database(make_database("openapi_liar"))
    try:
        failures = fuzz(_lying_app(database), session_signing_key(), examples=5)
    finally:
        database.dispose()
    text = "\n".join(failures)
    assert 'GET /api/v1/count [positive]: Response violates schema: "three" is not of type' in text, text
    assert "POST /api/v1/crash" in text and "Server error" in text, text


# --- 5xx the run found in services' own code ------------------------------------------------------------


def test_a_payroll_run_for_year_zero_is_refused_not_a_crash(
    service_env: Callable[..., ServiceHarness],
) -> None:
    harness = service_env("billing")
    response = harness.client.post(
        "/api/v1/payroll-runs", json={"period": "0000-01"}, headers=harness.auth("finance")
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert "period" in response.get_json()["errors"]


def test_a_staffing_estimate_too_large_for_decimal_is_refused_not_a_crash(
    service_env: Callable[..., ServiceHarness],
) -> None:
    harness = service_env("scheduling")
    body = {"presale": {"total_receptions": "1e27", "agent_daily_capacity": "0.0000001"}}
    response = harness.client.post("/api/v1/staffing/estimate", json=body, headers=harness.auth("vendor"))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.get_json()["errors"]["_schema"]
