"""The six services' OpenAPI documents say what the services do: roles, problem bodies, decimal strings.

Built from the apps without a database or broker (``/openapi.json`` needs neither); the fuzzing
counterpart that sends real requests is tests/integration/test_openapi_conformance.py.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

import jsonschema_rs
import marshmallow as ma
import pytest
import schemathesis
from flask import Flask

from shared.auth import BEARER_SCHEME_NAME, ROLES, public_endpoint, roles_documented, roles_required
from shared.config import SERVICES, Settings
from shared.errors import BusinessRuleViolation, Conflict, Forbidden, ValidationFailed, problem_body
from shared.money import DECIMAL_PATTERN, DecimalString, Money, Rate
from shared.service import load_spec
from shared.web import ProblemSchema, app_state

METHODS = ("get", "post", "put", "patch", "delete")
#: The session's public key (tests/conftest.py): passes shared.config's start-up check whatever
#: YUNKEFU_ENV the machine has.
ENV = {"JWT_PUBLIC_KEYS": os.environ["JWT_PUBLIC_KEYS"]}


@cache
def _app(service: str) -> Flask:
    return load_spec(service).create_app(settings=Settings.from_env(service, ENV))


@cache
def _spec(service: str) -> dict[str, Any]:
    response = _app(service).test_client().get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@pytest.mark.parametrize("service", list(SERVICES))
def test_the_document_is_valid_openapi(service: str) -> None:
    """Against the OpenAPI 3.0 meta-schema (e.g. a ``minimum`` must be a number, not ``"0.00"``)."""
    schemathesis.openapi.from_dict(_spec(service)).validate()


# --- roles ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_api_operation_declares_its_roles(service: str) -> None:
    spec = _spec(service)
    missing, wrong = [], []
    api_operations = [(p, m, op) for p, m, op in _operations(spec) if p.startswith("/api/v1/")]
    assert api_operations, f"{service} documents no /api/v1 operation"
    for path, method, operation in api_operations:
        label = f"{method.upper()} {path}"
        roles = operation.get("x-roles")
        if operation.get("x-public"):  # shared.auth.public_endpoint: no bearer, and says what instead
            if roles or operation.get("security") != []:
                wrong.append(f"{label}: public, yet roles {roles} / security {operation.get('security')}")
            continue
        if not roles:
            missing.append(label)
            continue
        if not set(roles) <= set(ROLES) or "admin" not in roles:
            wrong.append(f"{label}: {roles}")
        if operation.get("security", spec.get("security")) != [{BEARER_SCHEME_NAME: []}]:
            wrong.append(f"{label}: security {operation.get('security')}")
    assert not missing, (
        f"{service}: operations without x-roles (use roles_required or roles_documented): {missing}"
    )
    assert not wrong, f"{service}: {wrong}"


def test_a_public_endpoint_documents_no_security_and_what_authenticates_instead() -> None:
    def view() -> str:
        return "ok"

    public = public_endpoint("a signed token in the URL")(view)
    assert public is view
    assert public._apidoc["manual_doc"] == {  # type: ignore[attr-defined]
        "security": [],
        "x-public": "a signed token in the URL",
    }
    with pytest.raises(ValueError, match="authenticates"):
        public_endpoint(" ")


def test_roles_documented_writes_the_same_doc_as_roles_required_without_enforcing() -> None:
    def view() -> str:
        return "ok"

    documented = roles_documented("agent", "vendor")(view)
    enforced = roles_required("agent", "vendor")(view)
    assert documented is view  # nothing wraps the call: the view checks roles itself
    assert documented._apidoc["manual_doc"] == enforced._apidoc["manual_doc"]  # type: ignore[attr-defined]
    assert documented._apidoc["manual_doc"]["x-roles"] == ["admin", "vendor", "agent"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown role"):
        roles_documented("root")


# --- problem details --------------------------------------------------------------------------------------


def _problem_validator(service: str) -> Any:
    spec = _spec(service)
    problem = spec["components"]["schemas"]["Problem"]
    return jsonschema_rs.validator_for(problem)


def _real_problems() -> list[dict[str, Any]]:
    """Bodies the services actually send, each with extension members."""
    return [
        BusinessRuleViolation("Go-live needs 7 days' notice.", rule="go-live-notice").to_dict(),
        Forbidden("Needs vendor.", extra={"required_roles": ["vendor"]}).to_dict(),
        Conflict("Changed meanwhile.", extra={"etag": '"abc"', "current_status": "draft"}).to_dict(),
        ValidationFailed({"merchant.company_name": ["Missing data for required field."]}).to_dict(),
        problem_body(500, "Internal server error", "Logged.", correlation_id="c0ffee"),
        problem_body(
            503,
            "Not ready",
            "Unreachable: broker.",
            service="billing",
            checks={"database": "ok", "broker": "ConnectionRefusedError: refused"},
        ),
        BusinessRuleViolation(
            "Rows refused.", extra={"rows": [{"line": 2, "errors": {"a": ["b"]}}]}
        ).to_dict(),
    ]


@pytest.mark.parametrize("service", list(SERVICES))
def test_problem_schema_accepts_the_extension_members_services_send(service: str) -> None:
    validator = _problem_validator(service)
    for body in _real_problems():
        errors = [str(e).splitlines()[0] for e in validator.iter_errors(body)]
        assert not errors, (body, errors)


def test_problem_schema_still_describes_the_standard_members() -> None:
    validator = _problem_validator("onboarding")
    problem = _spec("onboarding")["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem.get("additionalProperties") is True
    for member in ("errors", "rule", "required_roles", "correlation_id", "current_status", "checks"):
        assert member in problem["properties"], member
    assert not validator.is_valid({"type": "x", "title": "t", "status": "422", "detail": "d"})
    assert not validator.is_valid({"title": "t", "status": 422, "detail": "d"})
    assert not validator.is_valid({**problem_body(422, "t"), "rule": 7})
    assert ProblemSchema.Meta.unknown == ma.INCLUDE


# --- decimals ---------------------------------------------------------------------------------------------


def _schema_classes(service: str) -> Iterator[tuple[str, type[ma.Schema]]]:
    module = importlib.import_module(f"services.{service}.schemas")
    for name, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, ma.Schema) and obj is not ma.Schema:
            yield name, obj


def _fields(schema: ma.Schema) -> Iterator[tuple[str, ma.fields.Field]]:
    for name, field in schema.fields.items():
        yield name, field
        inner = getattr(field, "inner", None)
        if isinstance(inner, ma.fields.Field):
            yield f"{name}[]", inner


def _dumps_a_json_number(field: ma.fields.Field) -> bool:
    try:
        dumped = field._serialize(Decimal("1.5"), "x", None)
    except Exception:  # a field that cannot even dump 1.5 is no number field
        return False
    return isinstance(dumped, int | float) and not isinstance(dumped, bool)


@pytest.mark.parametrize("service", list(SERVICES))
def test_decimals_are_documented_as_strings_with_a_pattern(service: str) -> None:
    """A field documented as ``number`` must dump a JSON number; anything dumping a decimal as text (or
    a Decimal, which Flask writes as a string) is ``type: string`` with a pattern."""
    api = app_state(_app(service)).api
    assert api is not None
    converter = api.ma_plugin.converter
    wrong = []
    for class_name, cls in _schema_classes(service):
        for field_name, field in _fields(cls()):
            prop = converter.field2property(field)
            label = f"{class_name}.{field_name}"
            decimal_like = isinstance(field, ma.fields.Decimal | DecimalString | Money | Rate)
            if prop.get("type") == "number" and not _dumps_a_json_number(field):
                wrong.append(f"{label}: documented as number but dumps {type(field).__name__} as text")
            elif (
                decimal_like
                and not _dumps_a_json_number(field)
                and (prop.get("type") != "string" or "pattern" not in prop)
            ):
                wrong.append(f"{label}: a decimal string documented as {prop}")
    assert not wrong, "\n".join(wrong)


def test_decimal_string_field_dumps_plain_text_matching_its_pattern() -> None:
    field = DecimalString(places=2)
    validator = jsonschema_rs.validator_for({"type": "string", "pattern": DECIMAL_PATTERN})
    for value, text in [(Decimal("7.5"), "7.50"), (Decimal("1E+3"), "1000.00"), (Decimal("-0.125"), "-0.12")]:
        dumped = field._serialize(value, "hours", None)
        assert dumped == text
        assert validator.is_valid(dumped)
    assert DecimalString()._serialize(Decimal("1E+3"), "x", None) == "1000"
    assert DecimalString().deserialize("12.25") == Decimal("12.25")
    assert DecimalString().deserialize(3) == Decimal(3)
    for bad in ("NaN", "abc", "Infinity", True):
        with pytest.raises(ma.ValidationError):
            DecimalString().deserialize(bad)
    with pytest.raises(ma.ValidationError):
        DecimalString(validate=ma.validate.Range(min=0)).deserialize("-1")
