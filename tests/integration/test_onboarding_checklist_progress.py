"""``GET /projects?with_checklist=true``: each project of the list carries its checklist progress (the
console's "5 of 7 sections complete"), computed like GET /projects/{id}/checklist, without one call per
project."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.workdays import add_workdays, today_shanghai
from tests.support import ServiceHarness

ORDER: dict[str, Any] = {
    "merchant": {
        "company_name": "杭州小铺",
        "contact_name": "王",
        "contact_phone": "13812345678",
        "liaison": "李",
    },
    "service": {"type": "aftersale", "hours": {"start": "09:00", "end": "17:00"}, "seats": 5},
    "metrics": {
        "daily_consultations": 100,
        "first_response_seconds": 10,
        "avg_response_seconds": 20,
        "satisfaction_rate": "95",
    },
    "training": {"trainer": "vendor", "assessor": "vendor"},
    "qa": {"merchant_standard": False},
}


@pytest.fixture()
def h(service_env: Callable[..., ServiceHarness], tmp_path: Path) -> ServiceHarness:
    return service_env("onboarding", overrides={"media_root": str(tmp_path / "media")})


def test_the_list_carries_each_projects_checklist_progress_only_when_asked(h: ServiceHarness) -> None:
    merchant = h.auth("merchant", sub="u-1", merchant_id="m-1")
    empty = h.client.post("/api/v1/projects", json={}, headers=merchant).get_json()
    fuller = h.client.post("/api/v1/projects", json=ORDER, headers=merchant).get_json()
    h.client.post("/api/v1/projects", json={}, headers=h.auth("merchant", sub="u-2", merchant_id="m-2"))

    plain = h.client.get("/api/v1/projects", headers=merchant).get_json()
    assert all("checklist_progress" not in item for item in plain["items"])

    listed = h.client.get("/api/v1/projects?with_checklist=true", headers=merchant).get_json()
    assert listed["total"] == 2  # still only the merchant's own
    progress = {item["id"]: item["checklist_progress"] for item in listed["items"]}
    # an empty draft: only "other" is complete; the after-sales order misses materials and go-live only
    assert progress[empty["id"]] == {
        "complete": False,
        "sections_complete": 1,
        "sections_total": 7,
        "incomplete": ["basics", "metrics", "materials", "training", "go_live", "qa"],
    }
    assert progress[fuller["id"]]["sections_complete"] == 5
    assert progress[fuller["id"]]["incomplete"] == ["materials", "go_live"]

    # the same answer as the project's own checklist, also after a change
    patched = h.client.patch(
        f"/api/v1/projects/{fuller['id']}",
        json={"go_live_date": add_workdays(today_shanghai(), 5).isoformat()},
        headers={**merchant, "If-Match": f'"{fuller["version"]}"'},
    )
    assert patched.status_code == 200
    checklist = h.client.get(f"/api/v1/projects/{fuller['id']}/checklist", headers=merchant).get_json()
    listed = h.client.get("/api/v1/projects?with_checklist=true", headers=merchant).get_json()
    item = next(i for i in listed["items"] if i["id"] == fuller["id"])
    assert item["checklist_progress"]["incomplete"] == [
        s["key"] for s in checklist["sections"] if not s["complete"]
    ]
    assert item["checklist_progress"]["sections_complete"] == 6
