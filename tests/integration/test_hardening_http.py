"""The shared HTTP guards (issue 13): rate limits, body limits, JSON-only bodies, hostile input, database
errors a client caused, and idempotency after authentication.

A tiny "gadgets" service on the real PostgreSQL exercises the shared layer; the onboarding harness checks
the cases the issue names on that service (FAQ, create, confirmation race).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import Integer, String, func, insert, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.test import TestResponse

from services.onboarding import projects as onboarding_service
from services.onboarding.models import FaqEntry, Project
from shared.auth import SigningKey, mint_token, roles_required
from shared.config import Settings
from shared.db import Database, new_metadata, platform_metadata, utcnow
from shared.pagination import MAX_PAGE, PageArgsSchema, page_response_schema, paginate
from shared.ratelimit import RateLimitConfigError
from shared.web import create_app, db_session
from shared.web.idempotency import idempotency_keys, idempotent
from shared.workdays import add_workdays, today_shanghai
from tests.support import ServiceHarness, session_public_keys, session_signing_key

KEY = session_signing_key()
PROBLEM = "application/problem+json"
MAX_JSON = 2048
MAX_UPLOAD = 64 * 1024


# --- the gadgets service ---------------------------------------------------------------------------------


class Base(DeclarativeBase):
    metadata = new_metadata()


class Gadget(Base):
    __tablename__ = "gadgets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # unique: two concurrent creates of one name collide at the flush
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # a 32-bit column and a short one: values the JSON guards allow but the database refuses
    weight: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(5))


class GadgetIn(Schema):
    name = fields.String(load_default=None)
    weight = fields.Integer(load_default=1)
    code = fields.String(load_default="g")
    tags = fields.Raw(load_default=None)


class GadgetOut(Schema):
    id = fields.String()
    name = fields.String()
    weight = fields.Integer()


class NoteIn(Schema):
    note = fields.String(validate=validate.Length(max=50))


GadgetPage = page_response_schema(GadgetOut, "HardeningGadgetPage")

blp = Blueprint("gadgets", __name__, url_prefix="/api/v1", description="Gadgets")


@blp.route("/gadgets")
class Gadgets(MethodView):
    @roles_required("vendor")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, GadgetPage)
    def get(self, args: dict[str, int]) -> Any:
        """List gadgets"""
        return paginate(db_session(), select(Gadget).order_by(Gadget.id), args["page"], args["per_page"])

    @idempotent
    @roles_required("vendor")
    @blp.arguments(GadgetIn)
    @blp.response(201, GadgetOut)
    def post(self, data: dict[str, Any]) -> Gadget:
        """Create a gadget (no duplicate check of its own: the unique constraint decides a race)"""
        session = db_session()
        gadget = Gadget(
            id=str(uuid.uuid4()),
            name=data["name"] or uuid.uuid4().hex,
            weight=data["weight"],
            code=data["code"],
        )
        session.add(gadget)
        session.flush()
        session.commit()
        return gadget


@blp.route("/gadgets/<gadget_id>/notes", methods=["POST"])
@roles_required("vendor")
@blp.arguments(NoteIn, required=False)
@blp.response(200, NoteIn)
def add_note(data: dict[str, Any], gadget_id: str) -> dict[str, Any]:
    """A body is optional here"""
    return {"note": data.get("note", f"none for {gadget_id}")}


@blp.route("/gadgets/<gadget_id>/photo", methods=["POST"])
@roles_required("vendor")
def upload_photo(gadget_id: str) -> dict[str, Any]:
    from flask import request

    return {"size": len(request.files["file"].read())}


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Iterator[Database]:
    db = Database(make_database("hardening_gadgets"))
    platform_metadata.create_all(db.engine)
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def settings(database: Database, amqp_url: str, broker_prefix: str) -> Settings:
    return Settings(
        service="gadgets",
        database_url=database.url,
        amqp_url=amqp_url,
        broker_prefix=broker_prefix,
        jwt_public_keys=session_public_keys(),
        max_upload_bytes=MAX_UPLOAD,
        max_json_bytes=MAX_JSON,
    )


def build(settings: Settings, database: Database, **overrides: Any) -> Flask:
    return create_app("gadgets", settings=replace(settings, **overrides), database=database, blueprints=[blp])


@pytest.fixture(scope="module")
def client(settings: Settings, database: Database) -> FlaskClient:
    # The guards are tested apart from the limits; the limits have tests (and apps) of their own.
    return build(settings, database, rate_limit_enabled=False).test_client()


def bearer(role: str = "vendor", sub: str = "vendor-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(KEY, role, sub=sub)}"}


VENDOR = bearer()


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body = json.loads(response.get_data(as_text=True))
    assert body["status"] == status and body["detail"] and body["title"]
    assert body["type"].startswith("https://yunkefu.dev/problems/")
    return body


def gadgets(database: Database) -> int:
    with database.session() as session:
        return int(session.execute(select(func.count()).select_from(Gadget)).scalar_one())


# --- item 5: rate limits ---------------------------------------------------------------------------------


def test_a_client_past_its_budget_gets_a_429_problem_with_retry_after(
    settings: Settings, database: Database
) -> None:
    client = build(settings, database, rate_limit_default="3/minute").test_client()
    for _ in range(3):
        assert client.get("/api/v1/gadgets", headers=VENDOR).status_code == 200
    response = client.get("/api/v1/gadgets", headers=VENDOR)
    body = assert_problem(response, 429)
    assert body["title"] == "Too many requests"
    assert body["type"] == "https://yunkefu.dev/problems/too-many-requests"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-Correlation-ID"]
    # the budget is the token's subject: another user from the same address still gets through
    assert client.get("/api/v1/gadgets", headers=bearer(sub="vendor-2")).status_code == 200
    # probes and scrapes are never limited
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_answers_401_and_403_spend_a_stricter_budget_per_address(
    settings: Settings, database: Database
) -> None:
    client = build(settings, database, rate_limit_auth_failures="3/minute").test_client()
    forged = {"Authorization": f"Bearer {mint_token(SigningKey.generate(), 'vendor')}"}
    assert_problem(client.get("/api/v1/gadgets", headers=forged), 401)
    assert_problem(client.get("/api/v1/gadgets"), 401)
    assert_problem(client.get("/api/v1/gadgets", headers=bearer(role="trainer")), 403)
    # the guesser is cut off; from that address even a good token waits until the window passes
    response = client.get("/api/v1/gadgets", headers=forged)
    body = assert_problem(response, 429)
    assert body["type"] == "https://yunkefu.dev/problems/too-many-requests/auth-failures"
    assert int(response.headers["Retry-After"]) >= 1
    assert_problem(client.get("/api/v1/gadgets", headers=VENDOR), 429)
    # another address is not affected
    other = client.get("/api/v1/gadgets", headers=VENDOR, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200


def test_successful_requests_do_not_spend_the_auth_failure_budget(
    settings: Settings, database: Database
) -> None:
    client = build(settings, database, rate_limit_auth_failures="2/minute").test_client()
    for _ in range(5):
        assert client.get("/api/v1/gadgets", headers=VENDOR).status_code == 200


def test_limits_can_be_switched_off(settings: Settings, database: Database) -> None:
    client = build(settings, database, rate_limit_enabled=False, rate_limit_default="1/minute").test_client()
    for _ in range(4):
        assert client.get("/api/v1/gadgets", headers=VENDOR).status_code == 200


def test_the_client_address_comes_from_trusted_proxies_only(settings: Settings, database: Database) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    proxied = build(
        settings, database, rate_limit_auth_failures="1/minute", trusted_proxy_hops=1
    ).test_client()
    assert_problem(proxied.get("/api/v1/gadgets", headers=forwarded), 401)
    assert_problem(proxied.get("/api/v1/gadgets", headers=forwarded), 429)
    # behind the same proxy, another client keeps its own budget
    assert_problem(proxied.get("/api/v1/gadgets", headers={"X-Forwarded-For": "203.0.113.10"}), 401)

    direct = build(settings, database, rate_limit_auth_failures="1/minute").test_client()
    assert_problem(direct.get("/api/v1/gadgets", headers=forwarded), 401)
    # without trusted hops the header is ignored: spoofing it does not buy a fresh budget
    assert_problem(direct.get("/api/v1/gadgets", headers={"X-Forwarded-For": "198.51.100.1"}), 429)


def test_unusable_limit_settings_stop_the_app_at_creation(settings: Settings, database: Database) -> None:
    with pytest.raises(RateLimitConfigError, match="RATE_LIMIT_DEFAULT"):
        build(settings, database, rate_limit_default="lots")
    with pytest.raises(RateLimitConfigError, match="RATE_LIMIT_STORAGE_URI"):
        build(settings, database, rate_limit_storage_uri="carrier-pigeon://x")


# --- item 5: body limits ---------------------------------------------------------------------------------


def test_a_json_body_over_its_own_limit_is_413_and_creates_nothing(
    client: FlaskClient, database: Database
) -> None:
    before = gadgets(database)
    big = json.dumps({"name": "big", "tags": "x" * MAX_JSON})
    response = client.post("/api/v1/gadgets", data=big, content_type="application/json", headers=VENDOR)
    body = assert_problem(response, 413)
    assert body["detail"] == f"The request body is larger than the limit of {MAX_JSON} bytes."
    assert gadgets(database) == before


def test_a_file_upload_keeps_the_large_limit(client: FlaskClient) -> None:
    photo = bytes(MAX_JSON * 4)
    response = client.post(
        "/api/v1/gadgets/g1/photo",
        data={"file": (io.BytesIO(photo), "p.png")},
        content_type="multipart/form-data",
        headers=VENDOR,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"size": len(photo)}
    too_big = client.post(
        "/api/v1/gadgets/g1/photo",
        data={"file": (io.BytesIO(bytes(MAX_UPLOAD + 1)), "p.png")},
        content_type="multipart/form-data",
        headers=VENDOR,
    )
    assert_problem(too_big, 413)


# --- item 7: JSON endpoints take JSON --------------------------------------------------------------------


def test_a_non_json_body_on_a_json_endpoint_is_415_and_creates_nothing(
    client: FlaskClient, database: Database
) -> None:
    before = gadgets(database)
    response = client.post("/api/v1/gadgets", data='{"name": "t"}', content_type="text/plain", headers=VENDOR)
    body = assert_problem(response, 415)
    assert "application/json" in body["detail"] and "text/plain" in body["detail"]
    form = client.post("/api/v1/gadgets", data={"name": "f"}, headers=VENDOR)
    assert_problem(form, 415)
    assert gadgets(database) == before


@pytest.mark.parametrize("content_type", [None, "application/json"])
def test_a_missing_body_on_a_json_endpoint_is_422_and_creates_nothing(
    client: FlaskClient, database: Database, content_type: str | None
) -> None:
    before = gadgets(database)
    headers = {**VENDOR, **({"Content-Type": content_type} if content_type else {})}
    body = assert_problem(client.post("/api/v1/gadgets", headers=headers), 422)
    assert body["errors"] == {"_schema": ["A JSON body is required."]}
    assert gadgets(database) == before


def test_an_optional_body_may_be_left_out_but_not_sent_as_text(client: FlaskClient) -> None:
    response = client.post("/api/v1/gadgets/g1/notes", headers=VENDOR)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"note": "none for g1"}
    assert client.post("/api/v1/gadgets/g1/notes", json={"note": "hi"}, headers=VENDOR).get_json() == {
        "note": "hi"
    }
    assert_problem(
        client.post("/api/v1/gadgets/g1/notes", data="hi", content_type="text/plain", headers=VENDOR), 415
    )


def test_onboarding_faq_put_without_a_body_erases_nothing(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("onboarding")
    m = h.auth("merchant", sub="u-m1", merchant_id="m1")
    pid = h.client.post("/api/v1/projects", json={}, headers=m).get_json()["id"]
    answers = {"standard": [{"key": "stock", "answer": "有货"}]}
    assert h.client.put(f"/api/v1/projects/{pid}/faq", json=answers, headers=m).status_code == 200

    assert_problem(h.client.put(f"/api/v1/projects/{pid}/faq", headers=m), 422)
    empty_json = h.client.put(
        f"/api/v1/projects/{pid}/faq", headers={**m, "Content-Type": "application/json"}
    )
    assert_problem(empty_json, 422)
    with h.database.session() as session:
        kept = session.execute(select(FaqEntry.answer).where(FaqEntry.project_id == pid)).scalars().all()
    assert kept == ["有货"]


def test_onboarding_create_as_text_plain_makes_no_draft(service_env: Callable[..., ServiceHarness]) -> None:
    h = service_env("onboarding")
    m = h.auth("merchant", sub="u-m2", merchant_id="m2")
    response = h.client.post("/api/v1/projects", data="{}", content_type="text/plain", headers=m)
    assert_problem(response, 415)
    with h.database.session() as session:
        assert session.execute(select(func.count()).select_from(Project)).scalar_one() == 0


# --- item 8: out-of-range and hostile input --------------------------------------------------------------


def test_pages_beyond_range_are_422(client: FlaskClient) -> None:
    body = assert_problem(client.get(f"/api/v1/gadgets?page={MAX_PAGE + 1}", headers=VENDOR), 422)
    assert list(body["errors"]) == ["page"]
    body = assert_problem(client.get("/api/v1/gadgets?page=99999999999999999999", headers=VENDOR), 422)
    assert list(body["errors"]) == ["page"]
    assert_problem(client.get("/api/v1/gadgets?per_page=100000", headers=VENDOR), 422)
    last = client.get(f"/api/v1/gadgets?page={MAX_PAGE}&per_page=200", headers=VENDOR)
    assert last.status_code == 200 and last.get_json()["items"] == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"name": "a\\u0000b"}', "name"),
        ('{"name": "\\ud800"}', "name"),
        ('{"name": "ok", "tags": {"deep": ["x", "\\udfff"]}}', "tags.deep.1"),
        ('{"name": "ok", "tags": {"\\u0000": 1}}', "tags._key"),
        ('{"name": "ok", "weight": 1e300}', "weight"),
        ('{"name": "ok", "weight": 9223372036854775808}', "weight"),
        ('{"name": "ok", "tags": [1, -1e16]}', "tags.1"),
        ('{"name": "ok", "weight": ' + "9" * 1500 + "}", "weight"),
        ('{"name": "ok", "tags": {"n": NaN}}', "tags.n"),
    ],
)
def test_nul_surrogates_and_huge_numbers_in_a_body_are_422_and_create_nothing(
    client: FlaskClient, database: Database, raw: str, field: str
) -> None:
    before = gadgets(database)
    response = client.post("/api/v1/gadgets", data=raw, content_type="application/json", headers=VENDOR)
    body = assert_problem(response, 422)
    assert list(body["errors"]) == [field]
    assert gadgets(database) == before


def test_nul_and_surrogates_in_the_url_are_4xx(client: FlaskClient) -> None:
    assert list(assert_problem(client.get("/api/v1/gadgets?page=%00", headers=VENDOR), 422)["errors"]) == [
        "page"
    ]
    assert list(assert_problem(client.get("/api/v1/gadgets?q=a%00", headers=VENDOR), 422)["errors"]) == ["q"]
    # encoded surrogates are not valid UTF-8: decoded with replacement characters, never a 500
    assert client.get("/api/v1/gadgets?q=%ED%A0%80", headers=VENDOR).status_code == 200
    assert_problem(client.post("/api/v1/gadgets/a%00b/notes", headers=VENDOR), 400)
    surrogate = client.post("/api/v1/gadgets/a%ED%A0%80b/notes", headers=VENDOR)
    assert surrogate.status_code < 500, surrogate.get_data(as_text=True)


@pytest.mark.parametrize("depth", [100_000, 65])
def test_deeply_nested_json_is_a_400_problem(settings: Settings, database: Database, depth: int) -> None:
    big = 1024 * 1024
    client = build(
        settings, database, rate_limit_enabled=False, max_json_bytes=big, max_upload_bytes=big
    ).test_client()
    before = gadgets(database)
    raw = '{"name": "n", "tags": ' + "[" * depth + "]" * depth + "}"
    body = assert_problem(
        client.post("/api/v1/gadgets", data=raw, content_type="application/json", headers=VENDOR), 400
    )
    assert "nested deeper than 64 levels" in body["detail"]
    assert gadgets(database) == before


def test_nesting_within_the_limit_is_accepted(client: FlaskClient) -> None:
    raw = '{"tags": ' + "[" * 60 + "]" * 60 + "}"
    response = client.post("/api/v1/gadgets", data=raw, content_type="application/json", headers=VENDOR)
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_flush_time_unique_violation_is_a_409_problem(client: FlaskClient, database: Database) -> None:
    name = f"race-{uuid.uuid4().hex[:8]}"
    assert client.post("/api/v1/gadgets", json={"name": name}, headers=VENDOR).status_code == 201
    # the loser of two concurrent creates: its own check (if any) passed, the constraint refuses it
    body = assert_problem(client.post("/api/v1/gadgets", json={"name": name}, headers=VENDOR), 409)
    assert "conflicts with data saved at the same moment" in body["detail"]
    with database.session() as session:
        assert (
            session.execute(select(func.count()).select_from(Gadget).where(Gadget.name == name)).scalar_one()
            == 1
        )
    # the request's session was rolled back: the next request on this worker is fine
    assert client.post("/api/v1/gadgets", json={"name": name + "-2"}, headers=VENDOR).status_code == 201


@pytest.mark.parametrize("body", [{"weight": 3_000_000_000}, {"code": "far-too-long"}])
def test_a_value_the_column_cannot_hold_is_a_422_problem(
    client: FlaskClient, database: Database, body: dict[str, Any]
) -> None:
    before = gadgets(database)
    problem = assert_problem(client.post("/api/v1/gadgets", json=body, headers=VENDOR), 422)
    assert "out of range or too long" in problem["detail"]
    assert gadgets(database) == before


# --- item 9: confirmation race and idempotency after authentication --------------------------------------


def test_an_anonymous_request_gets_401_before_its_idempotency_key_is_looked_at(
    client: FlaskClient, database: Database
) -> None:
    key = f"anon-{uuid.uuid4()}"
    with database.session() as session:  # a claim someone (anyone) holds under the anonymous principal
        session.execute(
            insert(idempotency_keys).values(
                key=key,
                principal="anonymous",
                method="POST",
                path="/api/v1/gadgets",
                request_hash="x",
                created_at=utcnow(),
            )
        )
    response = client.post("/api/v1/gadgets", json={"name": "anon"}, headers={"Idempotency-Key": key})
    assert_problem(response, 401)
    forged = {"Authorization": "Bearer not.a.jwt", "Idempotency-Key": f"forged-{uuid.uuid4()}"}
    assert_problem(client.post("/api/v1/gadgets", json={"name": "forged"}, headers=forged), 401)
    with database.session() as session:
        keys = session.execute(
            select(idempotency_keys.c.key).where(idempotency_keys.c.key == forged["Idempotency-Key"])
        )
        assert keys.all() == []


def _submitted_project(h: ServiceHarness) -> str:
    m = h.auth("merchant", sub="u-race", merchant_id="m-race")
    go_live = add_workdays(today_shanghai(), 6).isoformat()
    body = {
        "merchant": {
            "company_name": "店",
            "contact_name": "王",
            "contact_phone": "138-1234-5678",
            "liaison": "李",
        },
        "service": {
            "type": "presale",
            "hours": {"start": "09:00", "end": "24:00"},
            "seats": 3,
            "platform": "tmall",
        },
        "metrics": {
            "daily_consultations": 100,
            "first_response_seconds": 15,
            "avg_response_seconds": 30,
            "conversion_rate": "30",
            "avg_order_value": "100.00",
            "satisfaction_rate": 98,
        },
        "training": {"trainer": "vendor", "assessor": "merchant", "requirements": "无"},
        "go_live_date": go_live,
        "qa": {"merchant_standard": False},
    }
    pid = h.client.post("/api/v1/projects", json=body, headers=m).get_json()["id"]
    upload = h.client.post(
        f"/api/v1/projects/{pid}/materials",
        data={"file": (io.BytesIO(b"%PDF-1.7\n%%EOF\n"), "a.pdf")},
        content_type="multipart/form-data",
        headers=m,
    )
    assert upload.status_code == 201, upload.get_data(as_text=True)
    etag = h.client.get(f"/api/v1/projects/{pid}", headers=m).headers["ETag"]
    done = h.client.patch(
        f"/api/v1/projects/{pid}", json={"materials": {"complete": True}}, headers={**m, "If-Match": etag}
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    faq = h.client.get(f"/api/v1/projects/{pid}/faq", headers=m).get_json()
    answers = {
        "standard": [{"key": q["key"], "answer": "答"} for q in faq["standard"]],
        "custom": [{"question": "支持七天无理由吗?", "answer": "支持"}],
    }
    assert h.client.put(f"/api/v1/projects/{pid}/faq", json=answers, headers=m).status_code == 200
    submitted = h.client.post(f"/api/v1/projects/{pid}/submit", json={}, headers=m)
    assert submitted.status_code == 200, submitted.get_data(as_text=True)
    return pid


@pytest.mark.parametrize(("if_match", "status"), [(None, 409), ('"{version}"', 412)])
def test_the_loser_of_a_confirmation_race_gets_409_without_if_match(
    service_env: Callable[..., ServiceHarness],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    if_match: str | None,
    status: int,
) -> None:
    h = service_env("onboarding", overrides={"media_root": str(tmp_path / "media")})
    pid = _submitted_project(h)
    v = h.auth("vendor", sub="vendor-pm-1")
    version = h.client.get(f"/api/v1/projects/{pid}", headers=v).get_json()["version"]
    real_check = onboarding_service._check_confirmable

    def check_then_the_other_vendor_confirms(*args: Any, **kwargs: Any) -> None:
        real_check(*args, **kwargs)
        with h.database.session() as other:  # the winner commits while this request is in flight
            other.execute(
                update(Project)
                .where(Project.id == pid)
                .values(status="confirmed", version=Project.version + 1)
            )

    monkeypatch.setattr(onboarding_service, "_check_confirmable", check_then_the_other_vendor_confirms)
    headers = {**v, **({"If-Match": if_match.format(version=version)} if if_match else {})}
    body = assert_problem(h.client.post(f"/api/v1/projects/{pid}/confirm", json={}, headers=headers), status)
    assert "changed by someone else at the same moment" in body["detail"]
