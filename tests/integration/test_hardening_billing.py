"""Billing hardening (issue 13) on real PostgreSQL: overlapping payroll runs exclude each other in the
database, even when created at the same instant; deductions never take net pay below zero (the rest is
carried to the next period, on both payslips) and approval lists what is unusual; money as JSON numbers."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from services.billing.models import PayrollPeriodClaim
from shared.db import make_engine
from shared.migrate import upgrade
from shared.service import load_spec
from tests.integration.test_billing_payroll import (
    PROBLEM,
    _id,
    admitted,
    confirmed,
    feed,
    get,
    lines_of,
    post,
    upheld,
)
from tests.support import ServiceHarness

CARRY = "carried-deductions"


# --- overlapping runs -------------------------------------------------------------------------------------


@pytest.fixture()
def served(service_env: Callable[..., ServiceHarness]) -> Iterator[tuple[ServiceHarness, str]]:
    """The billing app under a threaded WSGI server: each request on its own thread and connection."""
    h = service_env("billing")
    server = make_server("127.0.0.1", 0, h.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield h, f"http://127.0.0.1:{server.server_port}/api/v1"
    finally:
        server.shutdown()
        thread.join()


def _post_all_at_once(h: ServiceHarness, base: str, bodies: list[dict[str, Any]]) -> list[tuple[int, Any]]:
    """POST every body from its own thread, released together by a barrier."""
    headers = {**h.auth("finance"), "Content-Type": "application/json"}
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, Any] | None] = [None] * len(bodies)

    def send(i: int) -> None:
        request = urllib.request.Request(
            f"{base}/payroll-runs", data=json.dumps(bodies[i]).encode(), headers=headers, method="POST"
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                results[i] = (response.status, (response.headers["Content-Type"], json.load(response)))
        except urllib.error.HTTPError as exc:
            results[i] = (exc.code, (exc.headers["Content-Type"], json.load(exc)))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _setup_projects(h: ServiceHarness, count: int) -> list[str]:
    projects = [_id() for _ in range(count)]
    for project in projects:
        feed(h, "project.confirmed", confirmed(project))
        agent = _id()
        feed(h, "agent.admitted", admitted(project, agent, "张三", dt.date(2026, 8, 1)))
        plan = {
            "project_id": project,
            "type": "monthly",
            "monthly_base": "4000.00",
            "effective_from": "2026-09-01",
        }
        assert post(h, "/pay-plans", plan).status_code == 201
    return projects


def test_ten_identical_runs_created_at_once_give_one_201_and_nine_409(
    served: tuple[ServiceHarness, str],
) -> None:
    h, base = served
    _setup_projects(h, 1)
    results = _post_all_at_once(h, base, [{"period": "2026-09"}] * 10)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 9, results
    for status, (content_type, body) in results:
        if status == 409:
            assert content_type == PROBLEM and body["rule"] == "run-exists", body
    assert get(h, "/payroll-runs").get_json()["total"] == 1


def test_a_whole_period_run_and_project_runs_sent_together_never_both_exist(
    served: tuple[ServiceHarness, str],
) -> None:
    h, base = served
    project, other = _setup_projects(h, 2)
    bodies = [{"period": "2026-09"}, {"period": "2026-09", "project_id": project}] * 5
    results = _post_all_at_once(h, base, bodies)
    assert sorted(status for status, _ in results) == [201] + [409] * 9, results
    assert all(ct == PROBLEM for status, (ct, _) in results if status == 409)
    runs = get(h, "/payroll-runs").get_json()["items"]
    assert len(runs) == 1
    if runs[0]["project_id"] is None:  # the whole period won: no project run of it may follow
        assert post(h, "/payroll-runs", {"period": "2026-09", "project_id": other}).status_code == 409
    else:  # a project run won: another project's run is fine, a whole-period run is not
        assert post(h, "/payroll-runs", {"period": "2026-09", "project_id": other}).status_code == 201
        assert post(h, "/payroll-runs", {"period": "2026-09"}).status_code == 409


def test_deleting_a_draft_frees_its_scope_and_approved_runs_keep_theirs(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    a, b = _setup_projects(h, 2)
    run_a = post(h, "/payroll-runs", {"period": "2026-09", "project_id": a}).get_json()["id"]
    run_b = post(h, "/payroll-runs", {"period": "2026-09", "project_id": b}).get_json()["id"]
    whole = post(h, "/payroll-runs", {"period": "2026-09"})
    assert whole.status_code == 409 and whole.get_json()["run_id"] in (run_a, run_b)
    for run_id in (run_a, run_b):
        assert h.client.delete(f"/api/v1/payroll-runs/{run_id}", headers=h.auth("finance")).status_code == 204
    whole = post(h, "/payroll-runs", {"period": "2026-09"})
    assert whole.status_code == 201, whole.get_json()
    assert post(h, "/payroll-runs", {"period": "2026-09", "project_id": a}).status_code == 409
    assert post(h, f"/payroll-runs/{whole.get_json()['id']}/approve", None).status_code == 200
    refused = h.client.delete(f"/api/v1/payroll-runs/{whole.get_json()['id']}", headers=h.auth("finance"))
    assert refused.status_code == 409
    closed = post(h, "/payroll-runs", {"period": "2026-09", "project_id": b})
    assert closed.status_code == 409 and closed.get_json()["rule"] == "period-closed"
    with h.database.session() as session:
        claim = session.get(PayrollPeriodClaim, "2026-09")
        assert claim is not None and (claim.whole_runs, claim.project_runs) == (1, 0)


def _claims_refuse_an_overlap(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(PayrollPeriodClaim).values(period="2026-09", whole_runs=1, project_runs=0))
        table = PayrollPeriodClaim.__table__
        for change in (
            {"project_runs": table.c.project_runs + 1},  # a project run beside the whole-period one
            {"whole_runs": table.c.whole_runs + 1},  # a second whole-period run
        ):
            with pytest.raises(IntegrityError), engine.begin() as conn:
                conn.execute(update(table).where(table.c.period == "2026-09").values(change))
        with engine.begin() as conn:
            conn.execute(insert(PayrollPeriodClaim).values(period="2026-10", whole_runs=0, project_runs=3))
            row = conn.execute(
                text("SELECT whole_runs, project_runs FROM payroll_period_claims ORDER BY period")
            )
            assert [tuple(r) for r in row] == [(1, 0), (0, 3)]
    finally:
        engine.dispose()


def test_the_database_itself_refuses_overlapping_scopes_on_postgresql_and_sqlite(
    make_database: Callable[[str], str], tmp_path: Path
) -> None:
    spec = load_spec("billing")
    for url in (make_database("billing_claims"), f"sqlite:///{tmp_path / 'billing.db'}"):
        upgrade(spec, url)
        _claims_refuse_an_overlap(url)


def _old_run(period: str, scope: str) -> dict[str, Any]:
    now = dt.datetime(2026, 10, 5, tzinfo=dt.UTC)
    return {
        "id": _id(),
        "period": period,
        "project_id": None if scope == "*" else scope,
        "scope_key": scope,
        "status": "draft",
        "total": 0,
        "payslip_count": 0,
        "without_plan": "[]",
        "created_at": now,
        "created_by": "finance",
        "calculated_at": now,
    }


def test_the_migration_counts_existing_runs_and_refuses_overlaps_made_before_the_fix(
    make_database: Callable[[str], str], tmp_path: Path
) -> None:
    spec = load_spec("billing")
    insert_run = text(
        "INSERT INTO payroll_runs (id, period, project_id, scope_key, status, total, payslip_count, "
        "without_plan, created_at, created_by, calculated_at) VALUES (:id, :period, :project_id, :scope_key, "
        ":status, :total, :payslip_count, :without_plan, :created_at, :created_by, :calculated_at)"
    )
    for url in (make_database("billing_mig4"), f"sqlite:///{tmp_path / 'billing.db'}"):
        upgrade(spec, url, "billing_0003")
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                for period, scope in (
                    ("2026-08", "*"),
                    ("2026-09", "p1"),
                    ("2026-09", "p2"),
                    ("2026-10", "*"),
                ):
                    conn.execute(insert_run, _old_run(period, scope))
                overlap = _old_run("2026-10", "p1")
                conn.execute(insert_run, overlap)
            with pytest.raises(RuntimeError, match=overlap["id"]):
                upgrade(spec, url)
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM payroll_runs WHERE id = :id"), {"id": overlap["id"]})
            upgrade(spec, url)
            with engine.connect() as conn:
                claims = conn.execute(text("SELECT * FROM payroll_period_claims ORDER BY period")).all()
                warnings = conn.execute(text("SELECT warnings FROM payroll_runs")).scalars().all()
        finally:
            engine.dispose()
        assert [tuple(c) for c in claims] == [("2026-08", 1, 0), ("2026-09", 0, 2), ("2026-10", 1, 0)]
        assert [json.loads(w) if isinstance(w, str) else w for w in warnings] == [[]] * 4


# --- net pay never below zero -----------------------------------------------------------------------------


def _hourly_agent(h: ServiceHarness) -> tuple[str, str]:
    project, agent = _id(), _id()
    feed(h, "project.confirmed", confirmed(project))
    feed(h, "agent.admitted", admitted(project, agent, "张三", dt.date(2026, 8, 1)))
    plan = {"project_id": project, "type": "hourly", "hourly_rate": "20.00", "effective_from": "2026-09-01"}
    assert post(h, "/pay-plans", plan).status_code == 201
    return project, agent


def _worked(h: ServiceHarness, project: str, agent: str, day: str, hours: str = "8") -> None:
    feed(h, "shift.worked", {"project_id": project, "agent_id": agent, "date": day, "hours": hours})


def _codes(run: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(w["code"], w.get("amount")) for w in run["warnings"]]


def test_a_penalty_larger_than_the_pay_is_carried_to_the_next_period_and_warned_about(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agent = _hourly_agent(h)
    _worked(h, project, agent, "2026-09-01")
    feed(h, "complaint.upheld", upheld(project, agent, "200.00", dt.date(2026, 9, 20)))

    sept = post(h, "/payroll-runs", {"period": "2026-09", "project_id": project})
    assert sept.status_code == 201, sept.get_json()
    assert sept.get_json()["total"] == "0.00"
    slip = get(h, f"/payroll-runs/{sept.get_json()['id']}/payslips").get_json()["items"][0]
    assert lines_of(slip) == [("hours", "160.00"), ("deduction", "-200.00"), ("deduction", "40.00")]
    assert slip["total"] == "0.00"
    assert slip["lines"][2]["ref"] == CARRY
    assert "carried to 2026-10" in slip["lines"][2]["explanation"]
    assert _codes(sept.get_json()) == [("zero-net", "0.00"), ("deductions-carried", "40.00")]

    # October is drafted before September is approved: it cannot know the carry yet
    _worked(h, project, agent, "2026-10-01")
    october = post(h, "/payroll-runs", {"period": "2026-10", "project_id": project}).get_json()
    assert october["total"] == "160.00"

    approved = post(h, f"/payroll-runs/{sept.get_json()['id']}/approve", None)
    assert approved.status_code == 200
    assert _codes(approved.get_json()) == [("zero-net", "0.00"), ("deductions-carried", "40.00")]
    assert (
        get(h, f"/payroll-runs/{sept.get_json()['id']}").get_json()["warnings"]
        == approved.get_json()["warnings"]
    )

    stale = post(h, f"/payroll-runs/{october['id']}/approve", None)
    assert stale.status_code == 409 and stale.get_json()["rule"] == "stale-draft"
    assert "carried" in stale.get_json()["detail"]
    recalculated = post(h, f"/payroll-runs/{october['id']}/recalculate", None).get_json()
    assert recalculated["total"] == "120.00"
    oct_slip = get(h, f"/payroll-runs/{october['id']}/payslips").get_json()["items"][0]
    assert lines_of(oct_slip) == [("hours", "160.00"), ("deduction", "-40.00")]
    assert oct_slip["lines"][1]["ref"] == CARRY
    assert oct_slip["lines"][1]["explanation"] == "deductions carried from 2026-09: 40.00 still owed"
    assert _codes(recalculated) == [("carried-deductions-applied", "40.00")]
    assert post(h, f"/payroll-runs/{october['id']}/approve", None).status_code == 200

    # taken once: November owes nothing more
    _worked(h, project, agent, "2026-11-02")
    november = post(h, "/payroll-runs", {"period": "2026-11", "project_id": project}).get_json()
    assert (november["total"], november["warnings"]) == ("160.00", [])


def test_late_hours_for_a_period_that_carried_a_deduction_are_settled_exactly(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agent = _hourly_agent(h)
    _worked(h, project, agent, "2026-09-01")
    feed(h, "complaint.upheld", upheld(project, agent, "200.00", dt.date(2026, 9, 20)))
    sept = post(h, "/payroll-runs", {"period": "2026-09", "project_id": project}).get_json()
    assert post(h, f"/payroll-runs/{sept['id']}/approve", None).status_code == 200

    # a forgotten September day: September really comes to 2 × 160 − 200 = 120, of which 0 was paid
    _worked(h, project, agent, "2026-09-02")
    october = post(h, "/payroll-runs", {"period": "2026-10", "project_id": project}).get_json()
    slip = get(h, f"/payroll-runs/{october['id']}/payslips").get_json()["items"][0]
    assert lines_of(slip) == [("deduction", "-40.00"), ("adjustment", "160.00")]
    assert slip["total"] == "120.00"
    assert [c for c, _ in _codes(october)] == ["carried-deductions-applied", "late-data", "no-hours"]


def test_agents_with_nothing_to_pay_and_carried_deductions_without_a_payslip_are_listed(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agent = _hourly_agent(h)
    idle = _id()
    feed(h, "agent.admitted", admitted(project, idle, "李四", dt.date(2026, 8, 1)))
    _worked(h, project, agent, "2026-09-01")
    feed(h, "complaint.upheld", upheld(project, agent, "200.00", dt.date(2026, 9, 20)))
    sept = post(h, "/payroll-runs", {"period": "2026-09", "project_id": project}).get_json()
    assert ("idle-agent", None) in _codes(sept)
    assert post(h, f"/payroll-runs/{sept['id']}/approve", None).status_code == 200
    october = post(h, "/payroll-runs", {"period": "2026-10", "project_id": project}).get_json()
    assert october["payslip_count"] == 0
    warned = {(w["code"], w.get("agent_id"), w.get("amount")) for w in october["warnings"]}
    assert warned == {
        ("carry-outstanding", agent, "40.00"),
        ("idle-agent", agent, None),
        ("idle-agent", idle, None),
    }


# --- money as JSON numbers --------------------------------------------------------------------------------


def test_money_accepts_a_whole_json_number_and_refuses_one_with_a_fraction(
    service_env: Callable[..., ServiceHarness],
) -> None:
    h = service_env("billing")
    project, agent = _id(), _id()
    feed(h, "project.confirmed", confirmed(project))
    feed(h, "agent.admitted", admitted(project, agent, "张三", dt.date(2026, 8, 1)))
    refused = [
        ("/pay-plans", {"project_id": project, "type": "hourly", "hourly_rate": 20.5}, "hourly_rate"),
        ("/pay-plans", {"project_id": project, "type": "monthly", "monthly_base": 4000.0}, "monthly_base"),
        ("/pay-plans", {"project_id": project, "type": "monthly", "monthly_base": True}, "monthly_base"),
        (
            "/adjustments",
            {"project_id": project, "agent_id": agent, "period": "2026-09", "amount": -12.5, "reason": "x"},
            "amount",
        ),
    ]
    for path, body, field in refused:
        response = post(h, path, body)
        assert response.status_code == 422 and response.content_type == PROBLEM, body
        assert field in response.get_json()["errors"], response.get_json()
    assert get(h, "/pay-plans").get_json()["total"] == 0
    assert get(h, "/adjustments").get_json()["total"] == 0

    # a whole number is exact: taken as that many yuan and answered as a decimal string
    plan = post(h, "/pay-plans", {"project_id": project, "type": "hourly", "hourly_rate": 20})
    assert plan.status_code == 201, plan.get_json()
    assert plan.get_json()["hourly_rate"] == "20.00"
    adjustment = post(
        h,
        "/adjustments",
        {"project_id": project, "agent_id": agent, "period": "2026-09", "amount": -50, "reason": "headset"},
    )
    assert adjustment.status_code == 201 and adjustment.get_json()["amount"] == "-50.00"
