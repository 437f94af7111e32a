"""The complaint rules (services/complaints/domain.py) with the brief's numbers: numbering, routing, the
SLA clock with pauses, the automatic escalation thresholds, the state machine and the ruling."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.complaints import domain
from services.complaints.config import ComplaintsSettings
from services.complaints.domain import (
    CATEGORIES,
    STATUSES,
    TRANSITIONS,
    IllegalTransition,
    Policy,
    RuleViolation,
    SlaClock,
    StatRow,
)
from shared.config import ConfigError

T0 = dt.datetime(2026, 11, 11, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
H = dt.timedelta(hours=1)


# --- numbering ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "seq", "number"),
    [
        (dt.date(2026, 11, 11), 1, "TS20261111-0001"),
        (dt.date(2026, 11, 11), 50, "TS20261111-0050"),
        (dt.date(2027, 1, 2), 9999, "TS20270102-9999"),
        (dt.date(2027, 1, 2), 10000, "TS20270102-10000"),
    ],
)
def test_number_is_ts_date_dash_four_digit_daily_counter(day: dt.date, seq: int, number: str) -> None:
    assert domain.complaint_number(day, seq) == number
    assert domain.parse_number(number) == (day, seq)


def test_counter_starts_at_one() -> None:
    with pytest.raises(ValueError):
        domain.complaint_number(dt.date(2026, 11, 11), 0)


@pytest.mark.parametrize(
    "text", ["TS2026111-0001", "TS20261111-001", "ts20261111-0001", "TS20261311-0001", "8f1c", ""]
)
def test_parse_number_refuses_what_is_not_a_number(text: str) -> None:
    assert domain.parse_number(text) is None


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (dt.datetime(2026, 11, 10, 15, 59, 59, tzinfo=dt.UTC), dt.date(2026, 11, 10)),  # 23:59:59 Shanghai
        (dt.datetime(2026, 11, 10, 16, 0, tzinfo=dt.UTC), dt.date(2026, 11, 11)),  # midnight Shanghai
        (T0, dt.date(2026, 11, 11)),
    ],
)
def test_the_numbering_day_is_the_shanghai_day(instant: dt.datetime, day: dt.date) -> None:
    assert domain.business_day(instant) == day


def test_business_day_refuses_naive_time() -> None:
    with pytest.raises(ValueError):
        domain.business_day(dt.datetime(2026, 11, 11, 10, 0))


# --- routing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_attitude_and_quality_complaints_go_straight_to_the_supervisor(category: str) -> None:
    about_staff = domain.default_about_staff(category)
    assert about_staff is (category in ("service_attitude", "service_quality"))
    assert domain.initial_level(about_staff) == ("supervisor" if about_staff else "agent")


def test_levels_go_agent_supervisor_manager_and_stop() -> None:
    assert domain.next_level("agent") == "supervisor"
    assert domain.next_level("supervisor") == "manager"
    assert domain.next_level("manager") is None


def test_least_loaded_supervisor_takes_it_and_ties_go_to_the_first_listed() -> None:
    assert domain.pick_least_loaded(["sup-a", "sup-b"], {}) == "sup-a"
    assert domain.pick_least_loaded(["sup-a", "sup-b"], {"sup-a": 2, "sup-b": 1}) == "sup-b"
    assert domain.pick_least_loaded(["sup-a", "sup-b"], {"sup-a": 1, "sup-b": 1}) == "sup-a"
    assert domain.pick_least_loaded([], {}) is None


# --- policy ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("severity", "hours"), [("urgent", 2), ("high", 8), ("normal", 24), ("low", 72)])
def test_default_promise_by_severity_is_wall_clock_hours(severity: str, hours: int) -> None:
    assert Policy().promised_due_at(T0, severity) == T0 + hours * H


def test_first_response_deadline_defaults_to_30_minutes() -> None:
    assert Policy().first_response_due_at(T0) == T0 + dt.timedelta(minutes=30)


def test_policy_from_env_defaults_and_overrides() -> None:
    default = ComplaintsSettings.from_env({}).policy
    assert default.due_hours == {"urgent": 2, "high": 8, "normal": 24, "low": 72}
    assert default.first_response_minutes == 30
    assert default.auto_close_days == 7
    assert default.penalty_cap == Decimal("500.00")
    custom = ComplaintsSettings.from_env(
        {
            "COMPLAINTS_DUE_HOURS_URGENT": "1",
            "COMPLAINTS_FIRST_RESPONSE_MINUTES": "15",
            "COMPLAINTS_PENALTY_CAP": "200",
            "COMPLAINTS_DEFAULT_SUPERVISOR": "sup-1",
        }
    ).policy
    assert custom.promised_due_at(T0, "urgent") == T0 + H
    assert custom.promised_due_at(T0, "normal") == T0 + 24 * H
    assert custom.first_response_due_at(T0) == T0 + dt.timedelta(minutes=15)
    assert custom.penalty_cap == Decimal("200.00")
    assert custom.default_supervisor == "sup-1"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("COMPLAINTS_DUE_HOURS_HIGH", "eight"),
        ("COMPLAINTS_DUE_HOURS_LOW", "0"),
        ("COMPLAINTS_AUTO_CLOSE_DAYS", "-1"),
        ("COMPLAINTS_PENALTY_CAP", "-5"),
        ("COMPLAINTS_PENALTY_CAP", "lots"),
    ],
)
def test_unusable_settings_are_refused_naming_the_variable(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        ComplaintsSettings.from_env({key: value})


def test_reopen_within_seven_days_then_auto_close() -> None:
    policy = Policy()
    resolved = T0
    assert policy.may_reopen(resolved, resolved + dt.timedelta(days=7))
    assert not policy.should_auto_close(resolved, resolved + dt.timedelta(days=7) - dt.timedelta(seconds=1))
    assert policy.should_auto_close(resolved, resolved + dt.timedelta(days=7))
    assert not policy.may_reopen(resolved, resolved + dt.timedelta(days=7, seconds=1))


# --- the SLA clock with pauses -----------------------------------------------------------------------------


def test_clock_without_pauses() -> None:
    clock = SlaClock(started_at=T0, due_at=T0 + 24 * H)
    assert clock.window == 24 * H
    assert clock.active_elapsed(T0 + 10 * H) == 10 * H
    assert not clock.half_time_passed(T0 + 12 * H - dt.timedelta(seconds=1))
    assert clock.half_time_passed(T0 + 12 * H)
    assert not clock.overdue(T0 + 24 * H)
    assert clock.overdue(T0 + 24 * H + dt.timedelta(seconds=1))
    assert clock.effective_due_at(T0 + 30 * H) == T0 + 24 * H


def test_waiting_for_the_customer_stops_the_clock_and_moves_only_the_effective_deadline() -> None:
    clock = SlaClock(started_at=T0, due_at=T0 + 24 * H)
    paused = clock.pause(T0 + 4 * H)
    # while waiting, the clock stands still at 4 h
    assert paused.active_elapsed(T0 + 9 * H) == 4 * H
    assert paused.paused(T0 + 9 * H) == 5 * H
    assert paused.effective_due_at(T0 + 9 * H) == T0 + 29 * H
    assert paused.pause(T0 + 6 * H) is paused  # pausing twice changes nothing
    resumed = paused.resume(T0 + 7 * H)  # 3 h waiting
    assert resumed.paused_seconds == 3 * 3600
    assert resumed.paused_since is None
    assert resumed.due_at == T0 + 24 * H  # the promise to the customer did not move
    assert resumed.effective_due_at(T0 + 10 * H) == T0 + 27 * H
    assert not resumed.half_time_passed(T0 + 15 * H - dt.timedelta(seconds=1))
    assert resumed.half_time_passed(T0 + 15 * H)
    assert not resumed.overdue(T0 + 27 * H)
    assert resumed.overdue(T0 + 27 * H + dt.timedelta(seconds=1))
    # a second pause adds up
    again = resumed.pause(T0 + 20 * H).resume(T0 + 22 * H)
    assert again.paused_seconds == 5 * 3600
    assert again.effective_due_at(T0 + 23 * H) == T0 + 29 * H


# --- automatic escalation ----------------------------------------------------------------------------------


def _kinds(steps: list[domain.AutoStep]) -> list[tuple[str, str, str]]:
    return [(s.kind, s.from_level, s.to_level) for s in steps]


def test_agent_level_escalates_to_the_supervisor_once_half_the_time_has_passed() -> None:
    clock = SlaClock(started_at=T0, due_at=T0 + 24 * H)  # normal severity
    assert domain.auto_steps("agent", "open", clock, False, T0 + 12 * H - dt.timedelta(seconds=1)) == []
    assert _kinds(domain.auto_steps("agent", "in_progress", clock, False, T0 + 12 * H)) == [
        ("escalate", "agent", "supervisor")
    ]


def test_urgent_complaint_escalates_after_one_hour() -> None:
    clock = SlaClock(started_at=T0, due_at=Policy().promised_due_at(T0, "urgent"))
    assert domain.auto_steps("agent", "open", clock, False, T0 + dt.timedelta(minutes=59)) == []
    assert _kinds(domain.auto_steps("agent", "open", clock, False, T0 + H)) == [
        ("escalate", "agent", "supervisor")
    ]


def test_supervisor_level_escalates_to_the_manager_and_is_breached_when_the_promise_passes() -> None:
    clock = SlaClock(started_at=T0, due_at=T0 + 8 * H)
    assert domain.auto_steps("supervisor", "open", clock, False, T0 + 7 * H) == []
    assert domain.auto_steps("supervisor", "open", clock, False, T0 + 8 * H) == []
    steps = domain.auto_steps("supervisor", "in_progress", clock, False, T0 + 8 * H + dt.timedelta(seconds=1))
    assert _kinds(steps) == [("escalate", "supervisor", "manager"), ("breach", "manager", "manager")]


def test_a_late_job_takes_an_overdue_agent_level_complaint_up_two_levels() -> None:
    clock = SlaClock(started_at=T0, due_at=T0 + 2 * H)
    assert _kinds(domain.auto_steps("agent", "open", clock, False, T0 + 3 * H)) == [
        ("escalate", "agent", "supervisor"),
        ("escalate", "supervisor", "manager"),
        ("breach", "manager", "manager"),
    ]


def test_manager_level_is_only_flagged_breached_once() -> None:
    clock = SlaClock(started_at=T0, due_at=T0 + 2 * H)
    assert _kinds(domain.auto_steps("manager", "open", clock, False, T0 + 3 * H)) == [
        ("breach", "manager", "manager")
    ]
    assert domain.auto_steps("manager", "open", clock, True, T0 + 3 * H) == []


def test_waiting_for_the_customer_delays_the_thresholds() -> None:
    clock = SlaClock(started_at=T0, due_at=T0 + 24 * H, paused_seconds=2 * 3600)
    assert domain.auto_steps("agent", "in_progress", clock, False, T0 + 13 * H) == []
    assert _kinds(domain.auto_steps("agent", "in_progress", clock, False, T0 + 14 * H)) == [
        ("escalate", "agent", "supervisor")
    ]
    waiting = SlaClock(started_at=T0, due_at=T0 + 24 * H, paused_since=T0 + 1 * H)
    assert domain.auto_steps("agent", "waiting_customer", waiting, False, T0 + 100 * H) == []


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_finished_complaints_are_left_alone(status: str) -> None:
    clock = SlaClock(started_at=T0, due_at=T0 + 2 * H)
    assert domain.auto_steps("agent", status, clock, False, T0 + 10 * H) == []


# --- the state machine -------------------------------------------------------------------------------------

LEGAL = [
    ("open", "in_progress"),
    ("open", "waiting_customer"),
    ("open", "resolved"),
    ("in_progress", "waiting_customer"),
    ("in_progress", "resolved"),
    ("waiting_customer", "in_progress"),
    ("waiting_customer", "resolved"),
    ("resolved", "closed"),
    ("resolved", "reopened"),
    ("reopened", "in_progress"),
    ("reopened", "waiting_customer"),
    ("reopened", "resolved"),
]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_transitions(current: str, target: str) -> None:
    domain.check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c in STATUSES for t in STATUSES if (c, t) not in LEGAL],
)
def test_every_other_transition_is_refused_listing_the_allowed_ones(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        domain.check_transition(current, target)
    assert caught.value.allowed == TRANSITIONS[current]
    assert current in str(caught.value)


def test_closed_is_final() -> None:
    assert domain.allowed_transitions("closed") == ()
    with pytest.raises(IllegalTransition, match="closed is final"):
        domain.check_transition("closed", "resolved")


# --- the ruling on fault and penalty ------------------------------------------------------------------------

CAP = Decimal("500.00")


@pytest.mark.parametrize("role", ["supervisor", "vendor", "admin"])
def test_supervisors_and_managers_may_set_a_penalty_up_to_the_cap(role: str) -> None:
    domain.check_ruling(role, True, Decimal("500.00"), CAP, "agent-1")
    domain.check_ruling(role, True, Decimal("0.00"), CAP, "agent-1")


@pytest.mark.parametrize(
    ("role", "fault", "penalty", "agent", "rule"),
    [
        ("agent", True, Decimal("50.00"), "agent-1", "ruling-role"),
        ("agent", True, Decimal("0.00"), "agent-1", "ruling-role"),
        ("merchant", False, Decimal("10.00"), "agent-1", "ruling-role"),
        ("supervisor", True, Decimal("500.01"), "agent-1", "penalty-cap"),
        ("supervisor", True, Decimal("-1.00"), "agent-1", "penalty-negative"),
        ("supervisor", False, Decimal("10.00"), "agent-1", "penalty-without-fault"),
        ("vendor", True, Decimal("10.00"), None, "fault-needs-agent"),
    ],
)
def test_refused_rulings(role: str, fault: bool, penalty: Decimal, agent: str | None, rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        domain.check_ruling(role, fault, penalty, CAP, agent)
    assert caught.value.rule == rule
    assert caught.value.forbidden is (rule == "ruling-role")


def test_an_agent_may_resolve_without_a_ruling() -> None:
    domain.check_ruling("agent", False, Decimal("0.00"), CAP, None)


# --- statistics --------------------------------------------------------------------------------------------


def test_p90_is_the_nearest_rank() -> None:
    assert domain.percentile([float(v) for v in range(1, 11)], 90) == 9.0
    assert domain.percentile([5.0], 90) == 5.0
    assert domain.percentile([], 90) is None


def _row(**kwargs: object) -> StatRow:
    base: dict[str, object] = {
        "category": "delivery",
        "level": "agent",
        "status": "open",
        "created_at": T0,
        "first_responded_at": None,
        "resolved_at": None,
        "breached": False,
        "agent_id": None,
        "agent_at_fault": False,
        "penalty": None,
    }
    base.update(kwargs)
    return StatRow(**base)  # type: ignore[arg-type]


def test_summary_counts_shares_times_and_penalties_per_agent() -> None:
    rows = [
        _row(first_responded_at=T0 + dt.timedelta(minutes=10), resolved_at=T0 + 2 * H, status="closed"),
        _row(
            category="service_attitude",
            level="supervisor",
            status="resolved",
            first_responded_at=T0 + dt.timedelta(minutes=20),
            resolved_at=T0 + 4 * H,
            agent_id="a1",
            agent_at_fault=True,
            penalty=Decimal("100.00"),
        ),
        _row(
            category="service_quality",
            level="manager",
            status="resolved",
            resolved_at=T0 + 30 * H,
            breached=True,
            agent_id="a1",
            agent_at_fault=True,
            penalty=Decimal("50.00"),
        ),
        _row(status="in_progress", agent_id="a2", first_responded_at=T0 + dt.timedelta(minutes=40)),
    ]
    stats = domain.summarize(rows)
    assert stats.total == 4
    assert stats.by_category["delivery"] == 2
    assert stats.by_category["service_attitude"] == 1
    assert stats.by_category["refund"] == 0
    assert stats.by_level == {"agent": 2, "supervisor": 1, "manager": 1}
    assert stats.by_status["resolved"] == 2
    assert stats.by_status["closed"] == 1
    assert stats.resolved == 3
    assert stats.resolved_within_promise == 2
    assert stats.within_promise_share == round(2 / 3, 4)
    assert stats.first_response_avg_seconds == 1400.0  # (600 + 1200 + 2400) / 3
    assert stats.first_response_p90_seconds == 2400.0
    assert stats.resolution_avg_seconds == 43200.0  # (2 h + 4 h + 30 h) / 3 = 12 h
    assert stats.resolution_p90_seconds == 108000.0
    assert [(u.agent_id, u.upheld, u.penalties) for u in stats.upheld] == [("a1", 2, Decimal("150.00"))]


def test_empty_summary() -> None:
    stats = domain.summarize([])
    assert stats.total == 0
    assert stats.within_promise_share is None
    assert stats.first_response_avg_seconds is None
    assert stats.upheld == []
