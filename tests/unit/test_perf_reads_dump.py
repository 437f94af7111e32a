"""The project list writes each item in its JSON shape directly (``queries.project_json``): it must be
exactly what marshmallow's ``ProjectOut().dump`` of the project's view answers, for every kind of value a
project holds, from an ORM object and from a list row alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from services.onboarding import queries, schemas
from services.onboarding.models import Project

NOW = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)


def project(**overrides: Any) -> Project:
    values: dict[str, Any] = {
        "id": "p-1",
        "merchant_id": "m-1",
        "status": "draft",
        "version": 3,
        "faq_version": 0,
        "hours_overnight": False,
        "materials_complete": False,
        "created_by": "merchant:u1",
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return Project(**values)


FULL = {
    "company_name": "旗舰店",
    "contact_name": "王经理",
    "contact_phone": "13800138000",
    "liaison": "李对接",
    "service_type": "presale",
    "hours_start": "22:00",
    "hours_end": "06:00",
    "hours_overnight": True,
    "seats": 12,
    "platform": "tmall",
    "daily_consultations": 1500,
    "first_response_seconds": 20,
    "avg_response_seconds": 45,
    "conversion_rate": Decimal("3.50"),
    "avg_order_value": Decimal("128.4"),
    "satisfaction_rate": Decimal("98"),
    "materials_complete": True,
    "materials_supplement": "价格表",
    "materials_supplement_due": dt.date(2026, 3, 9),
    "trainer": "vendor",
    "assessor": "merchant",
    "training_requirements": "两天",
    "go_live_date": dt.date(2026, 3, 20),
    "qa_merchant_standard": False,
    "qa_standard": "抽检 5%",
    "notes": "备注",
    "status": "confirmed",
    "submitted_at": NOW,
    "confirmed_at": NOW + dt.timedelta(hours=1),
    "confirmed_by": "vendor:v1",
    "closed_at": None,
}


CASES = [
    ({}, 0),
    (FULL, 7),
    ({**FULL, "hours_start": None, "avg_order_value": Decimal("0"), "status": "returned"}, 1),
    ({"status": "closed", "close_reason": "合同结束", "avg_order_value": Decimal("1234.5"), "seats": 1}, 3),
    ({"status": "cancelled", "conversion_rate": Decimal("0.00"), "hours_end": "24:00"}, 0),
]


@pytest.mark.parametrize(("overrides", "count"), CASES)
def test_the_list_item_is_what_the_schema_dumps(overrides: dict[str, Any], count: int) -> None:
    item = project(**overrides)
    expected = schemas.ProjectOut().dump(queries.project_view(item, count))
    assert queries.project_json(item, count) == expected


@pytest.mark.parametrize(("overrides", "count"), CASES)
def test_a_list_row_gives_the_same_item(overrides: dict[str, Any], count: int) -> None:
    item = project(**overrides)
    columns = {c.key: getattr(item, c.key) for c in Project.__table__.columns}
    row = SimpleNamespace(**columns, material_count=count)
    assert queries.project_json(row, count) == queries.project_json(item, count)


def test_a_dumped_project_is_answered_as_it_is_alone_and_in_a_page() -> None:
    from shared.pagination import page_response_schema

    item = queries.project_json(project(**FULL), 2)
    assert schemas.ProjectOut().dump(schemas.Dumped(item)) == item
    page = page_response_schema(schemas.ProjectOut, "ProjectPage")()
    body = {"items": [schemas.Dumped(item)], "total": 1, "page": 1, "per_page": 20, "pages": 1}
    assert page.dump({**body, "next_after": None})["items"] == [item]
    # anything else is still dumped by the schema
    assert schemas.ProjectOut().dump(queries.project_view(project(**FULL), 2)) == item
