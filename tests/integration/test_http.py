"""The app factory on real PostgreSQL and RabbitMQ, through a tiny demo "widgets" service.

Every error a client can meet must be application/problem+json with the contract's members; probes,
metrics, docs, tenant scoping, idempotency and pagination are checked through the Flask test client.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jwt
import pika
import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import Integer, String, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.test import TestResponse

import shared.events.outbox  # noqa: F401  (puts the outbox table on platform_metadata for /metrics)
from shared import workdays
from shared.auth import (
    SigningKey,
    ensure_self_or_roles,
    ensure_tenant_access,
    generate_key_pair,
    mint_token,
    roles_required,
    tenant_scope,
)
from shared.config import Settings
from shared.db import Database, new_metadata, platform_metadata, utcnow
from shared.errors import BusinessRuleViolation, NotFound
from shared.pagination import PageArgsSchema, page_response_schema, paginate
from shared.web import create_app, db_session
from shared.web.idempotency import idempotency_keys, idempotent
from tests.support import session_public_keys, session_signing_key

KEY = session_signing_key()
PROBLEM = "application/problem+json"
MAX_UPLOAD = 4096
CLOSED_AMQP_URL = "amqp://guest:guest@127.0.0.1:1/%2F"


# --- the demo service ------------------------------------------------------------------------------------


class Base(DeclarativeBase):
    metadata = new_metadata()


class Widget(Base):
    __tablename__ = "widgets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)


class DimsSchema(Schema):
    width = fields.Integer(required=True)


class WidgetIn(Schema):
    merchant_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    size = fields.Integer(required=True, validate=validate.Range(min=1, max=10))
    dims = fields.Nested(DimsSchema)


class WidgetOut(Schema):
    id = fields.String()
    merchant_id = fields.String()
    name = fields.String()
    size = fields.Integer()


WidgetPage = page_response_schema(WidgetOut, "WidgetPage")
NOT_FOUND_DETAIL = "There is no widget with this id."

blp = Blueprint("widgets", __name__, url_prefix="/api/v1", description="Demo widgets")


@blp.route("/widgets")
class Widgets(MethodView):
    @roles_required("vendor", "merchant")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, WidgetPage)
    def get(self, args: dict[str, int]) -> Any:
        """List widgets (a merchant sees its own)"""
        stmt = select(Widget)
        scope = tenant_scope()
        if scope is not None:
            stmt = stmt.where(Widget.merchant_id == scope)
        return paginate(
            db_session(),
            stmt,
            args["page"],
            args["per_page"],
            order_by=(Widget.name, Widget.id),
            after=args["after"],
        )

    @idempotent
    @roles_required("vendor")
    @blp.arguments(WidgetIn)
    @blp.response(201, WidgetOut)
    def post(self, data: dict[str, Any]) -> Widget:
        """Create a widget"""
        data.pop("dims", None)
        widget = Widget(id=str(uuid.uuid4()), **data)
        session = db_session()
        session.add(widget)
        session.commit()
        return widget


@blp.route("/widgets/<widget_id>")
class WidgetItem(MethodView):
    @roles_required("vendor", "merchant")
    @blp.response(200, WidgetOut)
    def get(self, widget_id: str) -> Widget:
        """One widget"""
        widget = db_session().get(Widget, widget_id)
        if widget is None:
            raise NotFound(NOT_FOUND_DETAIL)
        ensure_tenant_access(widget.merchant_id, detail=NOT_FOUND_DETAIL)
        return widget


@blp.route("/widgets/<widget_id>/polish", methods=["POST"])
@roles_required("vendor")
def polish(widget_id: str) -> Any:
    raise BusinessRuleViolation(
        "A widget can be polished only when its size is at least 5; raise its size to 5 or more.",
        rule="min-size",
    )


@blp.route("/boom")
@roles_required("vendor")
def boom() -> Any:
    raise RuntimeError("secret internals: password=hunter2")


@blp.route("/check", methods=["POST"])
def check() -> Any:
    # Validation in service code, outside webargs: still a 422 problem.
    return WidgetIn().load(request.get_json(silent=True) or {})


@blp.route("/uncommitted", methods=["POST"])
@roles_required("vendor")
def uncommitted() -> Any:
    db_session().add(Widget(id=str(uuid.uuid4()), merchant_id="uncommitted", name="ghost", size=1))
    db_session().flush()
    return {"flushed": True}


@blp.route("/agents/<agent_id>/widgets")
def agent_widgets(agent_id: str) -> Any:
    ensure_self_or_roles(agent_id, "supervisor")
    return {"agent_id": agent_id}


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Iterator[Database]:
    db = Database(make_database("http_widgets"))
    platform_metadata.create_all(db.engine)
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def settings(database: Database, amqp_url: str, broker_prefix: str) -> Settings:
    return Settings(
        service="widgets",
        database_url=database.url,
        amqp_url=amqp_url,
        broker_prefix=broker_prefix,
        jwt_public_keys=session_public_keys(),
        max_upload_bytes=MAX_UPLOAD,
    )


def build(settings: Settings, database: Database) -> Flask:
    return create_app("widgets", settings=settings, database=database, blueprints=[blp])


@pytest.fixture(scope="module")
def client(settings: Settings, database: Database) -> FlaskClient:
    return build(settings, database).test_client()


def bearer(role: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(KEY, role, **claims)}"}


VENDOR = bearer("vendor", sub="vendor-1")


def new_merchant() -> str:
    return f"m-{uuid.uuid4().hex[:12]}"


def assert_problem(response: TestResponse, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] == title
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["type"].startswith("https://yunkefu.dev/problems/")
    return body


def create_widget(client: FlaskClient, merchant_id: str, name: str = "w", size: int = 3) -> dict[str, Any]:
    response = client.post(
        "/api/v1/widgets", json={"merchant_id": merchant_id, "name": name, "size": size}, headers=VENDOR
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# --- probes and correlation ------------------------------------------------------------------------------


def test_healthz_needs_no_token_and_echoes_the_correlation_id(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Correlation-ID": "trace-42"})
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "service": "widgets"}
    assert response.headers["X-Correlation-ID"] == "trace-42"


def test_a_missing_or_unsafe_correlation_id_is_replaced_by_a_uuid(client: FlaskClient) -> None:
    minted = client.get("/healthz").headers["X-Correlation-ID"]
    assert str(uuid.UUID(minted)) == minted
    unsafe = client.get("/healthz", headers={"X-Correlation-ID": 'x" onload=1'}).headers["X-Correlation-ID"]
    assert str(uuid.UUID(unsafe)) == unsafe


def test_readyz_checks_the_real_database_and_broker(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workdays, "today_shanghai", lambda: dt.date(2026, 6, 1))  # 2026 is official
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "status": "ready",
        "service": "widgets",
        "checks": {"database": "ok", "broker": "ok"},
        "warnings": {},
    }


def test_readyz_and_metrics_warn_while_the_calendar_ahead_is_provisional(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workdays, "today_shanghai", lambda: dt.date(2026, 12, 2))
    response = client.get("/readyz")
    assert response.status_code == 200  # a warning, not unreadiness
    warning = response.get_json()["warnings"]["calendar"]
    assert "2027" in warning and "provisional" in warning and "WORKDAYS_FILE" in warning
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "calendar_provisional_days 30.0" in metrics  # 2027-01-01 .. 2027-01-30
    monkeypatch.setattr(workdays, "today_shanghai", lambda: dt.date(2026, 6, 1))
    assert "calendar_provisional_days 0.0" in client.get("/metrics").get_data(as_text=True)


def test_readyz_is_503_when_the_broker_port_is_closed(settings: Settings, database: Database) -> None:
    app = build(replace(settings, amqp_url=CLOSED_AMQP_URL), database)
    body = assert_problem(app.test_client().get("/readyz"), 503, "Not ready")
    assert body["detail"] == "Unreachable: broker."
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("AMQPConnectionError")


def test_readyz_names_every_failing_check(settings: Settings, make_database: Callable[[str], str]) -> None:
    missing = Database(make_database("http_probe").rsplit("/", 1)[0] + "/yk_no_such_database_ever")
    try:
        app = build(replace(settings, amqp_url=CLOSED_AMQP_URL), missing)
        body = assert_problem(app.test_client().get("/readyz"), 503, "Not ready")
    finally:
        missing.dispose()
    assert body["detail"] == "Unreachable: database, broker."
    assert "yk_no_such_database_ever" in body["checks"]["database"]
    assert body["checks"]["broker"] != "ok"


# --- errors as problem+json ------------------------------------------------------------------------------


def test_unknown_route_is_a_404_problem(client: FlaskClient) -> None:
    body = assert_problem(client.get("/api/v1/nothing-here"), 404, "Not found")
    assert body["type"] == "https://yunkefu.dev/problems/not-found"
    assert body["detail"] == "There is no endpoint at /api/v1/nothing-here; the API is described at /docs."


def test_wrong_method_is_a_405_problem_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/v1/widgets", headers=VENDOR)
    body = assert_problem(response, 405, "Method not allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert body["detail"] == "DELETE is not allowed on /api/v1/widgets; allowed: GET, HEAD, OPTIONS, POST."


def test_missing_token_is_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/widgets")
    body = assert_problem(response, 401, "Unauthorized")
    assert body["detail"] == "This endpoint needs a token: send 'Authorization: Bearer <JWT>'."
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="yunkefu"'


def test_expired_token_is_401(client: FlaskClient) -> None:
    stale = mint_token(KEY, "vendor", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    response = client.get("/api/v1/widgets", headers={"Authorization": f"Bearer {stale}"})
    assert assert_problem(response, 401, "Unauthorized")["detail"] == (
        "The token has expired; sign in again for a new one."
    )


def test_a_token_signed_by_an_unknown_key_is_401(client: FlaskClient) -> None:
    stranger = SigningKey.generate()
    forged = mint_token(stranger, "admin")
    response = client.get("/api/v1/widgets", headers={"Authorization": f"Bearer {forged}"})
    detail = assert_problem(response, 401, "Unauthorized")["detail"]
    assert f"signed by an unknown key (kid '{stranger.kid}')" in detail


def test_a_token_naming_our_kid_but_signed_by_another_key_is_401(client: FlaskClient) -> None:
    forged = mint_token(SigningKey(KEY.kid, SigningKey.generate().private_key), "admin")
    response = client.get("/api/v1/widgets", headers={"Authorization": f"Bearer {forged}"})
    assert "signature does not verify" in assert_problem(response, 401, "Unauthorized")["detail"]


def test_a_token_signed_hs256_with_the_old_shared_secret_is_401(client: FlaskClient) -> None:
    exp = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp())
    old = jwt.encode({"sub": "v", "role": "admin", "exp": exp}, "integration-test-secret-0123456789abcdef")
    response = client.get("/api/v1/widgets", headers={"Authorization": f"Bearer {old}"})
    detail = assert_problem(response, 401, "Unauthorized")["detail"]
    assert "algorithm not accepted; tokens must be EdDSA" in detail


def test_key_rotation_an_old_kid_verifies_until_its_public_key_is_removed(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    old_private, old_public = generate_key_pair(tmp_path / "console", "old")
    new_private, new_public = generate_key_pair(tmp_path / "console", "new")
    published = tmp_path / "public"
    published.mkdir()
    shutil.copy(old_public, published)
    app = build(replace(settings, jwt_public_keys=str(published)), database)
    client = app.test_client()

    def status(key: SigningKey) -> int:
        token = mint_token(key, "vendor", sub="rotating")
        return client.get("/api/v1/widgets", headers={"Authorization": f"Bearer {token}"}).status_code

    old, new = SigningKey.load(old_private), SigningKey.load(new_private)
    assert (status(old), status(new)) == (200, 401)
    shutil.copy(new_public, published)  # 1. publish the new public key, no restart
    assert (status(old), status(new)) == (200, 200)  # 2. the console switches; old tokens still valid
    (published / old_public.name).unlink()  # 3. after the token TTL: retire the old key
    assert (status(old), status(new)) == (401, 200)
    token = mint_token(old, "vendor")
    response = client.get("/api/v1/widgets", headers={"Authorization": f"Bearer {token}"})
    assert "unknown key" in assert_problem(response, 401, "Unauthorized")["detail"]


def test_non_bearer_scheme_is_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/widgets", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert assert_problem(response, 401, "Unauthorized")["detail"] == (
        "The Authorization header must be 'Bearer <JWT>'."
    )


def test_wrong_role_is_403_naming_the_allowed_roles(client: FlaskClient) -> None:
    response = client.post("/api/v1/widgets", json={}, headers=bearer("trainer"))
    body = assert_problem(response, 403, "Forbidden")
    assert body["detail"] == "This action needs one of the roles: vendor; your token's role is 'trainer'."
    assert body["required_roles"] == ["vendor"]


def test_admin_passes_every_role_check(client: FlaskClient) -> None:
    merchant = new_merchant()
    response = client.post(
        "/api/v1/widgets", json={"merchant_id": merchant, "name": "a", "size": 1}, headers=bearer("admin")
    )
    assert response.status_code == 201


def test_malformed_json_is_a_400_problem(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/widgets", data='{"name": "x",', content_type="application/json", headers=VENDOR
    )
    body = assert_problem(response, 400, "Bad request")
    assert body["detail"].startswith("The request body is not valid JSON: ")
    assert "errors" not in body


def test_invalid_body_is_a_422_problem_with_every_field(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/widgets",
        json={"name": "", "size": 99, "dims": {"width": "wide"}, "colour": "red"},
        headers=VENDOR,
    )
    body = assert_problem(response, 422, "Validation failed")
    assert body["type"] == "https://yunkefu.dev/problems/validation-failed"
    assert body["errors"] == {
        "merchant_id": ["Missing data for required field."],
        "name": ["Length must be between 1 and 100."],
        "size": ["Must be greater than or equal to 1 and less than or equal to 10."],
        "dims.width": ["Not a valid integer."],
        "colour": ["Unknown field."],
    }
    assert body["detail"] == "5 fields failed validation: colour, dims.width, merchant_id, name, size."


def test_invalid_query_is_a_422_problem(client: FlaskClient) -> None:
    response = client.get("/api/v1/widgets?per_page=500&page=0", headers=VENDOR)
    body = assert_problem(response, 422, "Validation failed")
    assert body["errors"] == {
        "page": ["Must be greater than or equal to 1 and less than or equal to 1000000."],
        "per_page": ["Must be greater than or equal to 1 and less than or equal to 200."],
    }


def test_marshmallow_error_outside_webargs_is_a_422_problem(client: FlaskClient) -> None:
    body = assert_problem(client.post("/api/v1/check", json={"size": "big"}), 422, "Validation failed")
    assert body["errors"] == {
        "merchant_id": ["Missing data for required field."],
        "name": ["Missing data for required field."],
        "size": ["Not a valid integer."],
    }


def test_too_large_body_is_a_413_problem(client: FlaskClient) -> None:
    big = json.dumps({"merchant_id": "m", "name": "x" * MAX_UPLOAD, "size": 1})
    response = client.post("/api/v1/widgets", data=big, content_type="application/json", headers=VENDOR)
    body = assert_problem(response, 413, "Payload too large")
    assert body["detail"] == f"The request body is larger than the limit of {MAX_UPLOAD} bytes."


def test_business_rule_violation_names_the_rule(client: FlaskClient) -> None:
    body = assert_problem(
        client.post("/api/v1/widgets/x/polish", headers=VENDOR), 422, "Business rule violated"
    )
    assert body["type"] == "https://yunkefu.dev/problems/business-rule/min-size"
    assert body["rule"] == "min-size"
    assert body["detail"].startswith("A widget can be polished only when its size is at least 5")


def test_unhandled_exception_is_a_500_without_internals(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="shared.web.errors"):
        response = client.get("/api/v1/boom", headers={**VENDOR, "X-Correlation-ID": "boom-1"})
    body = assert_problem(response, 500, "Internal server error")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "secret internals" not in text and "RuntimeError" not in text
    assert body["correlation_id"] == "boom-1"
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(logged) == 1


# --- tenant and self scoping -----------------------------------------------------------------------------


def test_a_merchant_gets_404_for_another_merchants_widget_while_the_vendor_sees_it(
    client: FlaskClient,
) -> None:
    owner, other = new_merchant(), new_merchant()
    widget = create_widget(client, owner)
    path = f"/api/v1/widgets/{widget['id']}"

    assert client.get(path, headers=bearer("merchant", merchant_id=owner)).get_json() == widget
    assert client.get(path, headers=VENDOR).get_json() == widget

    foreign = client.get(path, headers=bearer("merchant", merchant_id=other))
    missing = client.get(f"/api/v1/widgets/{uuid.uuid4()}", headers=bearer("merchant", merchant_id=other))
    assert assert_problem(foreign, 404, "Not found") == assert_problem(missing, 404, "Not found")
    assert foreign.get_json()["detail"] == NOT_FOUND_DETAIL


def test_an_agent_reaches_only_its_own_records(client: FlaskClient) -> None:
    me = str(uuid.uuid4())
    assert client.get(f"/api/v1/agents/{me}/widgets", headers=bearer("agent", sub=me)).status_code == 200
    other = client.get(f"/api/v1/agents/{uuid.uuid4()}/widgets", headers=bearer("agent", sub=me))
    assert assert_problem(other, 403, "Forbidden")["detail"] == "An agent may only access their own records."
    assert client.get(f"/api/v1/agents/{me}/widgets", headers=bearer("supervisor")).status_code == 200
    assert_problem(client.get(f"/api/v1/agents/{me}/widgets", headers=bearer("trainer")), 403, "Forbidden")


# --- per-request session ---------------------------------------------------------------------------------


def test_an_uncommitted_request_session_is_rolled_back(client: FlaskClient, database: Database) -> None:
    assert client.post("/api/v1/uncommitted", headers=VENDOR).get_json() == {"flushed": True}
    with database.session() as session:
        count = session.scalar(select(func.count()).where(Widget.merchant_id == "uncommitted"))
    assert count == 0


# --- pagination ------------------------------------------------------------------------------------------


def test_pagination_reports_total_in_body_and_header(client: FlaskClient) -> None:
    merchant = new_merchant()
    for name in ["e", "a", "d", "b", "c"]:
        create_widget(client, merchant, name=name)
    response = client.get(
        "/api/v1/widgets?page=2&per_page=2", headers=bearer("merchant", merchant_id=merchant)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert [w["name"] for w in body["items"]] == ["c", "d"]
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (5, 2, 2, 3)
    assert response.headers["X-Total-Count"] == "5"
    last = client.get("/api/v1/widgets?page=3&per_page=2", headers=bearer("merchant", merchant_id=merchant))
    assert [w["name"] for w in last.get_json()["items"]] == ["e"]


def test_pagination_defaults(client: FlaskClient) -> None:
    merchant = new_merchant()
    body = client.get("/api/v1/widgets", headers=bearer("merchant", merchant_id=merchant)).get_json()
    assert body == {"items": [], "total": 0, "page": 1, "per_page": 20, "pages": 0, "next_after": None}


def test_keyset_pages_walk_the_list_once_and_carry_the_first_total(client: FlaskClient) -> None:
    merchant = new_merchant()
    headers = bearer("merchant", merchant_id=merchant)
    for name in ["e", "a", "d", "b", "c", "a"]:
        create_widget(client, merchant, name=name)
    first = client.get("/api/v1/widgets?per_page=4", headers=headers).get_json()
    assert [w["name"] for w in first["items"]] == ["a", "a", "b", "c"]
    assert first["next_after"]
    create_widget(client, merchant, name="f")  # added mid-walk: shows up, the total stays the first one
    second = client.get(f"/api/v1/widgets?per_page=4&after={first['next_after']}", headers=headers)
    body = second.get_json()
    assert [w["name"] for w in body["items"]] == ["d", "e", "f"]
    assert (body["total"], body["page"], body["next_after"]) == (6, 0, None)
    assert second.headers["X-Total-Count"] == "6"
    seen = [w["id"] for w in first["items"] + body["items"]]
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize("cursor", ["x", "bm90IGpzb24", "WzEsW11d", "WzEsW1sicyIsImEiXV1d", "A" * 1025])
def test_a_garbled_cursor_is_a_validation_problem(client: FlaskClient, cursor: str) -> None:
    response = client.get(f"/api/v1/widgets?after={cursor}", headers=VENDOR)
    body = assert_problem(response, 422, "Validation failed")
    assert "after" in body["errors"]


# --- idempotency -----------------------------------------------------------------------------------------


def _count_named(database: Database, name: str) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).where(Widget.name == name)) or 0)


def test_an_idempotent_retry_replays_the_first_answer_and_writes_once(
    client: FlaskClient, database: Database
) -> None:
    name, key = f"idem-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    payload = {"merchant_id": new_merchant(), "name": name, "size": 2}
    first = client.post("/api/v1/widgets", json=payload, headers={**VENDOR, "Idempotency-Key": key})
    second = client.post("/api/v1/widgets", json=payload, headers={**VENDOR, "Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.content_type == "application/json"
    assert "Idempotent-Replayed" not in first.headers
    assert _count_named(database, name) == 1


def test_the_same_key_with_another_body_is_422(client: FlaskClient, database: Database) -> None:
    name, key = f"idem-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    payload = {"merchant_id": new_merchant(), "name": name, "size": 2}
    assert (
        client.post("/api/v1/widgets", json=payload, headers={**VENDOR, "Idempotency-Key": key}).status_code
        == 201
    )
    changed = client.post(
        "/api/v1/widgets", json={**payload, "size": 3}, headers={**VENDOR, "Idempotency-Key": key}
    )
    body = assert_problem(changed, 422, "Idempotency key reused")
    assert "already used for a different request" in body["detail"]
    assert _count_named(database, name) == 1


def test_keys_belong_to_their_principal(client: FlaskClient, database: Database) -> None:
    name, key = f"idem-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    payload = {"merchant_id": new_merchant(), "name": name, "size": 2}
    first = client.post("/api/v1/widgets", json=payload, headers={**VENDOR, "Idempotency-Key": key})
    other_vendor = {**bearer("vendor", sub="vendor-2"), "Idempotency-Key": key}
    second = client.post("/api/v1/widgets", json=payload, headers=other_vendor)
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["id"] != second.get_json()["id"]
    assert _count_named(database, name) == 2


def test_a_failed_request_frees_its_key(client: FlaskClient, database: Database) -> None:
    name, key = f"idem-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    headers = {**VENDOR, "Idempotency-Key": key}
    bad = client.post("/api/v1/widgets", json={"merchant_id": "m", "name": name, "size": 0}, headers=headers)
    assert_problem(bad, 422, "Validation failed")
    good = client.post("/api/v1/widgets", json={"merchant_id": "m", "name": name, "size": 1}, headers=headers)
    assert good.status_code == 201
    assert "Idempotent-Replayed" not in good.headers
    with database.session() as session:
        row = session.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).one()
    assert (row.principal, row.method, row.path, row.status_code) == (
        "vendor-1",
        "POST",
        "/api/v1/widgets",
        201,
    )


def test_a_key_still_in_progress_is_409(client: FlaskClient, database: Database) -> None:
    key = str(uuid.uuid4())
    body = json.dumps({"merchant_id": "m", "name": "busy", "size": 1}).encode()
    with database.session() as session:
        session.execute(
            insert(idempotency_keys).values(
                key=key,
                principal="vendor-1",
                method="POST",
                path="/api/v1/widgets",
                request_hash=hashlib.sha256(body).hexdigest(),
                created_at=utcnow(),
            )
        )
    response = client.post(
        "/api/v1/widgets",
        data=body,
        content_type="application/json",
        headers={**VENDOR, "Idempotency-Key": key},
    )
    body_ = assert_problem(response, 409, "Conflict")
    assert "still in progress" in body_["detail"]


def test_an_overlong_key_is_422(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/widgets",
        json={"merchant_id": "m", "name": "x", "size": 1},
        headers={**VENDOR, "Idempotency-Key": "k" * 201},
    )
    body = assert_problem(response, 422, "Validation failed")
    assert list(body["errors"]) == ["Idempotency-Key"]


def test_idempotency_works_on_sqlite_too(tmp_path: Path, settings: Settings) -> None:
    lite = Database(f"sqlite:///{tmp_path / 'widgets.db'}")
    platform_metadata.create_all(lite.engine)
    Base.metadata.create_all(lite.engine)
    try:
        client = build(replace(settings, database_url=lite.url), lite).test_client()
        headers = {**VENDOR, "Idempotency-Key": "sqlite-key"}
        payload = {"merchant_id": "m", "name": "lite", "size": 1}
        first = client.post("/api/v1/widgets", json=payload, headers=headers)
        second = client.post("/api/v1/widgets", json=payload, headers=headers)
        changed = client.post("/api/v1/widgets", json={**payload, "size": 2}, headers=headers)
        assert (first.status_code, second.status_code) == (201, 201)
        assert second.get_json() == first.get_json()
        assert second.headers["Idempotent-Replayed"] == "true"
        assert_problem(changed, 422, "Idempotency key reused")
        assert _count_named(lite, "lite") == 1
    finally:
        lite.dispose()


# --- metrics, spec and docs ------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_and_report_outbox_and_dlq(
    settings: Settings, database: Database, unique_prefix: str, amqp_url: str
) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    dlq = f"{unique_prefix}.widgets.dlq"
    channel.queue_declare(dlq, durable=True)
    for n in range(2):
        channel.basic_publish("", dlq, f"dead {n}".encode())
    main = f"{unique_prefix}.widgets"
    channel.queue_declare(main, durable=True)
    for n in range(3):
        channel.basic_publish("", main, f"waiting {n}".encode())
    connection.close()

    app = build(replace(settings, broker_prefix=unique_prefix), database)
    client = app.test_client()
    widget_id = create_widget(client, new_merchant())["id"]
    client.get(f"/api/v1/widgets/{widget_id}", headers=VENDOR)
    client.get("/api/v1/widgets/nope-1", headers=VENDOR)
    client.get("/missing/route")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert 'http_requests_total{endpoint="/api/v1/widgets/<widget_id>",method="GET",status="200"} 1.0' in text
    assert 'http_requests_total{endpoint="/api/v1/widgets/<widget_id>",method="GET",status="404"} 1.0' in text
    assert 'http_requests_total{endpoint="<unmatched>",method="GET",status="404"} 1.0' in text
    assert 'http_request_duration_seconds_count{endpoint="/api/v1/widgets",method="POST"} 1.0' in text
    assert "\noutbox_pending_events 0.0\n" in text
    assert "outbox_oldest_pending_age_seconds" not in text  # nothing pending, so no age
    assert "\ndead_letter_queue_messages 2.0\n" in text
    assert "\nconsumer_queue_messages 3.0\n" in text  # delivered to the service, not yet handled


def test_metrics_answer_while_database_and_broker_are_down(
    settings: Settings, make_database: Callable[[str], str]
) -> None:
    missing = Database(make_database("http_probe").rsplit("/", 1)[0] + "/yk_no_such_database_ever")
    try:
        app = build(replace(settings, amqp_url=CLOSED_AMQP_URL), missing)
        client = app.test_client()
        client.get("/healthz")
        response = client.get("/metrics")
    finally:
        missing.dispose()
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'http_requests_total{endpoint="/healthz",method="GET",status="200"} 1.0' in text
    assert "outbox_pending_events" not in text
    assert "dead_letter_queue_messages" not in text
    assert "consumer_queue_messages" not in text


def test_openapi_declares_bearer_auth_roles_idempotency_and_problem_errors(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] == "yunkefu widgets"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"] == "JWT"
    assert spec["security"] == [{"bearerAuth": []}]
    post = spec["paths"]["/api/v1/widgets"]["post"]
    assert post["x-roles"] == ["admin", "vendor"]
    assert post["security"] == [{"bearerAuth": []}]
    header = [p for p in post["parameters"] if p["in"] == "header"]
    assert [p["name"] for p in header] == ["Idempotency-Key"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WidgetIn"
    }
    default_error = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert default_error["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    get_params = {p["name"] for p in spec["paths"]["/api/v1/widgets"]["get"]["parameters"]}
    assert get_params == {"page", "per_page", "after"}


def test_docs_is_an_offline_swagger_ui_of_the_spec(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    page = response.get_data(as_text=True)
    assert "SwaggerUIBundle" in page and "yunkefu widgets" in page
    # The spec is fetched relatively, so the page also works behind the gateway at /api/<service>/docs.
    assert '"url": "openapi.json"' in page
    # Nothing is loaded from another host: no CDN, no validator badge.
    assert not re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+", page)
    assert '"validatorUrl": null' in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sorted(assets) == [
        "docs/assets/swagger-ui-bundle.js",
        "docs/assets/swagger-ui-standalone-preset.js",
        "docs/assets/swagger-ui.css",
    ]
    for asset in assets:
        answer = client.get(urljoin("/docs", asset))
        assert answer.status_code == 200, asset
        assert answer.content_type.split(";")[0] in ("text/css", "text/javascript", "application/javascript")
        assert len(answer.get_data()) > 1000
        assert "//cdn" not in answer.get_data(as_text=True)[:2000].lower()
    spec = client.get(urljoin("/docs", "openapi.json"))
    assert spec.status_code == 200 and "/api/v1/widgets/{widget_id}" in spec.get_json()["paths"]
    # Only the page's own assets are served, nothing else of the bundle or the file system.
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/../state.py").status_code == 404


@pytest.mark.parametrize(
    "values",
    [
        [["i", 4], ["s", "x"]],  # a number where the name goes
        [["s", "a"], ["b", True]],  # a bool where the id goes
        [["s", "a"], ["t", "2026-01-01T00:00:00"]],
    ],
)
def test_a_cursor_of_the_wrong_types_is_a_validation_problem(client: FlaskClient, values: list[Any]) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps([3, values]).encode()).decode().rstrip("=")
    body = assert_problem(
        client.get(f"/api/v1/widgets?after={cursor}", headers=VENDOR), 422, "Validation failed"
    )
    assert "after" in body["errors"]
