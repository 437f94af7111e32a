"""The administrator's lists are index reads on 100,000 rows (issue 16): the users list and the sign-in
audit trail, for every filter the pages send (alone and in pairs), on the first page and on an ``after``
page. The statements are the views' own filters with the orders the views give ``paginate``."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Select, false, func, or_, select, true

from services.console.models import SignInEvent, User
from services.console.views.admin import AUDIT_ORDER, OUTCOME_LABELS, USER_ORDER
from shared.db import Database
from tests.plans import assert_index_plan, fill, list_statement, migrated

ROWS = 100_000
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOW = START + dt.timedelta(days=400)
ROLES = ["agent"] * 80 + ["merchant"] * 12 + ["trainer"] * 3 + ["supervisor"] * 3 + ["vendor", "admin"]
OUTCOMES = ["signed_in"] * 60 + ["signed_out"] * 25 + ["failed"] * 10 + ["password_changed"] * 3
OUTCOMES += ["locked", "rate_limited"]
MIDDLE = ROWS // 2


def _user(i: int) -> dict[str, Any]:
    return {
        "id": f"u{i:06d}",
        "email": f"user{i}@example.cn",
        "display_name": f"用户 {i}",
        "role": ROLES[(i * 7) % len(ROLES)],
        "password_hash": None if i % 50 == 0 else "argon2-hash",
        "active": i % 40 != 0,
        "failed_attempts": 0,
        "locked_until": NOW + dt.timedelta(minutes=5) if i % 500 == 0 else None,
        "session_version": 1,
        "created_at": START + dt.timedelta(minutes=5 * i),
    }


def _event(i: int) -> dict[str, Any]:
    return {
        "id": i + 1,
        "user_id": f"u{i % 5000:06d}",
        "email": f"user{i % 5000}@example.cn",
        "outcome": OUTCOMES[(i * 11) % len(OUTCOMES)],
        "ip": "10.0.0.1",
        "at": START + dt.timedelta(minutes=5 * i),
    }


@pytest.fixture(scope="module")
def database(make_database: Callable[[str], str]) -> Database:
    db = migrated(make_database, "console")
    fill(db, "users", ROWS, _user)
    fill(db, "sign_in_events", ROWS, _event)
    return db


# --- users: the filters of admin.users (q, role, state) -------------------------------------------------


def _user_filter(name: str, value: str) -> Callable[[Select[Any]], Select[Any]]:
    def apply(query: Select[Any]) -> Select[Any]:
        if name == "q":
            needle = f"%{value}%"
            return query.where(or_(User.email.like(needle), func.lower(User.display_name).like(needle)))
        if name == "role":
            return query.where(User.role == value)
        if value == "inactive":
            return query.where(User.active == false())
        if value == "invited":
            return query.where(User.active == true(), User.password_hash.is_(None))
        if value == "locked":
            return query.where(User.active == true(), User.locked_until > NOW)
        return query.where(
            User.active == true(),
            User.password_hash.is_not(None),
            or_(User.locked_until.is_(None), User.locked_until <= NOW),
        )

    return apply


USER_FILTERS = [
    ("q", "user4"),
    ("role", "agent"),
    ("role", "admin"),
    *(("state", s) for s in ("active", "invited", "locked", "inactive")),
]
USER_CASES = [
    ("none", ()),
    *((f"{n}={v}", ((n, v),)) for n, v in USER_FILTERS),
    *(
        (f"{a[0]}={a[1]} & {b[0]}={b[1]}", (a, b))
        for a, b in itertools.combinations(USER_FILTERS, 2)
        if a[0] != b[0]
    ),
]


@pytest.mark.parametrize(("name", "given"), USER_CASES, ids=[name for name, _ in USER_CASES])
def test_the_users_list_reads_an_index(
    database: Database, name: str, given: tuple[tuple[str, str], ...]
) -> None:
    query: Select[Any] = select(User)
    for key, value in given:
        query = _user_filter(key, value)(query)
    middle = _user(MIDDLE)
    assert_index_plan(database, list_statement(query, USER_ORDER), {"users"})
    after = (middle["created_at"], middle["email"])
    assert_index_plan(database, list_statement(query, USER_ORDER, after=after), {"users"})


# --- the audit trail: the filters of admin.audit (q, outcome, from, to) ----------------------------------

AUDIT_FILTERS: list[tuple[str, Any]] = [
    ("q", "user42"),
    *(("outcome", o) for o in OUTCOME_LABELS),
    ("from", START + dt.timedelta(days=300)),
    ("to", START + dt.timedelta(days=30)),
]
AUDIT_CASES = [
    ("none", ()),
    *((f"{n}={v}", ((n, v),)) for n, v in AUDIT_FILTERS),
    *(
        (f"{a[0]}={a[1]} & {b[0]}={b[1]}", (a, b))
        for a, b in itertools.combinations(AUDIT_FILTERS, 2)
        if a[0] != b[0]
    ),
]


@pytest.mark.parametrize(("name", "given"), AUDIT_CASES, ids=[name for name, _ in AUDIT_CASES])
def test_the_audit_trail_reads_an_index(
    database: Database, name: str, given: tuple[tuple[str, Any], ...]
) -> None:
    query: Select[Any] = select(SignInEvent)
    for key, value in given:
        if key == "q":
            query = query.where(SignInEvent.email.like(f"%{value}%"))
        elif key == "outcome":
            query = query.where(SignInEvent.outcome == value)
        elif key == "from":
            query = query.where(SignInEvent.at >= value)
        else:
            query = query.where(SignInEvent.at < value)
    middle = _event(MIDDLE)
    assert_index_plan(database, list_statement(query, AUDIT_ORDER), {"sign_in_events"})
    after = (middle["at"], middle["id"])
    assert_index_plan(database, list_statement(query, AUDIT_ORDER, after=after), {"sign_in_events"})
