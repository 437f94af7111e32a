"""The rules of complaint handling (投诉处理), as plain functions: no Flask, no SQL, no pika.

Seed 004 (服务之投诉处理): every complaint, written or oral, is recorded and numbered (编号) and handled
until it is finished; what the agent (云客服) cannot solve goes up to the project supervisor (项目主管);
a complaint about an agent's attitude or service quality goes to the supervisor directly, who
investigates and, if the agent is at fault, assesses them (考核, which can cost pay); every complaint that
needs follow-up is finished within the time promised to the customer (对客户承诺的时间).

Time is always an aware UTC ``datetime`` passed in by the caller (an injectable clock), so the rules are
tested without sleeping through SLA windows.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from shared.workdays import SHANGHAI

# --- vocabularies ---------------------------------------------------------------------------------------

#: how the complaint came in: written (chat, email, platform ticket) or oral (phone, in person)
CHANNELS: tuple[str, ...] = ("chat", "phone", "email", "platform", "in_person")
CATEGORIES: tuple[str, ...] = (
    "service_attitude",  # 服务态度
    "service_quality",  # 服务质量
    "wrong_information",  # 错答/乱答
    "delivery",
    "refund",
    "product",
    "other",
)
#: categories about the agent (员工态度及服务质量): routed straight to the supervisor by default
STAFF_CATEGORIES: frozenset[str] = frozenset({"service_attitude", "service_quality"})
SEVERITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
#: agent (云客服) → supervisor (项目主管) → manager (the vendor's project manager)
LEVELS: tuple[str, ...] = ("agent", "supervisor", "manager")
VISIBILITIES: tuple[str, ...] = ("internal", "customer")

OPEN = "open"
IN_PROGRESS = "in_progress"
WAITING_CUSTOMER = "waiting_customer"
RESOLVED = "resolved"
CLOSED = "closed"
REOPENED = "reopened"
STATUSES: tuple[str, ...] = (OPEN, IN_PROGRESS, WAITING_CUSTOMER, RESOLVED, CLOSED, REOPENED)
#: not yet resolved: the promise to the customer is still running
ACTIVE_STATUSES: tuple[str, ...] = (OPEN, IN_PROGRESS, WAITING_CUSTOMER, REOPENED)

#: The state machine. ``open → in_progress → (waiting_customer) → resolved → closed``, plus ``reopened``
#: (a resolved complaint the customer did not accept). A complaint settled at first contact may be
#: resolved straight from ``open``; ``closed`` is final.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    OPEN: (IN_PROGRESS, WAITING_CUSTOMER, RESOLVED),
    IN_PROGRESS: (WAITING_CUSTOMER, RESOLVED),
    WAITING_CUSTOMER: (IN_PROGRESS, RESOLVED),
    RESOLVED: (CLOSED, REOPENED),
    REOPENED: (IN_PROGRESS, WAITING_CUSTOMER, RESOLVED),
    CLOSED: (),
}


class IllegalTransition(Exception):
    """A status change the state machine does not allow; carries what would have been allowed."""

    def __init__(self, current: str, target: str) -> None:
        self.current = current
        self.target = target
        self.allowed: tuple[str, ...] = TRANSITIONS.get(current, ())
        allowed = ", ".join(self.allowed) if self.allowed else "none (closed is final)"
        super().__init__(
            f"A complaint in status '{current}' cannot become '{target}'; from '{current}' it may only "
            f"become: {allowed}."
        )


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, ()):
        raise IllegalTransition(current, target)


def allowed_transitions(current: str) -> tuple[str, ...]:
    return TRANSITIONS.get(current, ())


# --- numbering (编号) -------------------------------------------------------------------------------------

NUMBER_PREFIX = "TS"
NUMBER_RE = re.compile(r"^TS(\d{8})-(\d{4,})$")


def business_day(at: dt.datetime) -> dt.date:
    """The Shanghai calendar day of an instant: a complaint at 23:30 UTC is numbered the next day."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business_day needs an aware datetime")
    return at.astimezone(SHANGHAI).date()


def complaint_number(day: dt.date, seq: int) -> str:
    """``TS`` + ``YYYYMMDD`` + ``-`` + a daily counter of at least four digits: ``TS20261111-0001``."""
    if seq < 1:
        raise ValueError("the daily counter starts at 1")
    return f"{NUMBER_PREFIX}{day:%Y%m%d}-{seq:04d}"


def parse_number(text: str) -> tuple[dt.date, int] | None:
    """The day and counter of a complaint number, or None when ``text`` is not one."""
    match = NUMBER_RE.match(text.strip())
    if match is None:
        return None
    try:
        day = dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None
    return day, int(match.group(2))


# --- routing (分派) ---------------------------------------------------------------------------------------


def default_about_staff(category: str) -> bool:
    """Attitude and service-quality complaints are about the agent unless the caller says otherwise."""
    return category in STAFF_CATEGORIES


def initial_level(about_staff: bool) -> str:
    """Complaints about staff go to the project supervisor directly; the rest start with the agent."""
    return "supervisor" if about_staff else "agent"


def next_level(level: str) -> str | None:
    index = LEVELS.index(level)
    return LEVELS[index + 1] if index + 1 < len(LEVELS) else None


def pick_least_loaded(candidates: Sequence[str], open_load: Mapping[str, int]) -> str | None:
    """The listed person with the fewest active complaints; ties go to whoever is listed first."""
    if not candidates:
        return None
    return min(enumerate(candidates), key=lambda pair: (open_load.get(pair[1], 0), pair[0]))[1]


# --- policy --------------------------------------------------------------------------------------------


DEFAULT_DUE_HOURS: Mapping[str, float] = {"urgent": 2, "high": 8, "normal": 24, "low": 72}


@dataclass(frozen=True)
class Policy:
    """The vendor's complaint policy; every number is a setting (``COMPLAINTS_*``, read by ``config``) with
    the brief's default.

    Times are wall clock: a supervisor is on shift at all hours (seed 004, 项目主管全时段轮班).
    """

    due_hours: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DUE_HOURS))
    first_response_minutes: float = 30
    #: a resolved complaint closes itself this many days after resolution; reopening is allowed until then
    auto_close_days: float = 7
    #: the largest penalty (考核扣款) a supervisor or manager may set, in CNY
    penalty_cap: Decimal = Decimal("500.00")
    #: who takes a supervisor/manager-level complaint when the project has nobody listed
    default_supervisor: str | None = None
    default_manager: str | None = None

    def promised_due_at(self, opened_at: dt.datetime, severity: str) -> dt.datetime:
        """The time promised to the customer when none was given: opened + the severity's hours."""
        return opened_at + dt.timedelta(hours=self.due_hours[severity])

    def first_response_due_at(self, opened_at: dt.datetime) -> dt.datetime:
        return opened_at + dt.timedelta(minutes=self.first_response_minutes)

    def auto_close_at(self, resolved_at: dt.datetime) -> dt.datetime:
        return resolved_at + dt.timedelta(days=self.auto_close_days)

    def may_reopen(self, resolved_at: dt.datetime, now: dt.datetime) -> bool:
        return now <= self.auto_close_at(resolved_at)

    def should_auto_close(self, resolved_at: dt.datetime, now: dt.datetime) -> bool:
        return now >= self.auto_close_at(resolved_at)


# --- the SLA clock (承诺时限) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaClock:
    """The clock of one promise: it runs from ``started_at`` to ``due_at`` and stops while the complaint
    waits for the customer.

    ``paused_seconds`` is the waiting time already finished; ``paused_since`` is set while waiting. The
    promised ``due_at`` itself never moves with a pause (only a note telling the customer moves it); the
    pause moves the *effective* deadline the vendor is held to, ``effective_due_at``.
    """

    started_at: dt.datetime
    due_at: dt.datetime
    paused_seconds: float = 0.0
    paused_since: dt.datetime | None = None

    @property
    def window(self) -> dt.timedelta:
        return self.due_at - self.started_at

    def paused(self, now: dt.datetime) -> dt.timedelta:
        """Total waiting time up to ``now`` (the current pause counts up to ``now``)."""
        current = (
            max(now - self.paused_since, dt.timedelta(0))
            if self.paused_since is not None
            else dt.timedelta(0)
        )
        return dt.timedelta(seconds=self.paused_seconds) + current

    def active_elapsed(self, now: dt.datetime) -> dt.timedelta:
        """Time the vendor has been working on the promise: wall clock minus the waiting."""
        return max(now - self.started_at - self.paused(now), dt.timedelta(0))

    def effective_due_at(self, now: dt.datetime) -> dt.datetime:
        return self.due_at + self.paused(now)

    def half_time_passed(self, now: dt.datetime) -> bool:
        return self.active_elapsed(now) * 2 >= self.window

    def overdue(self, now: dt.datetime) -> bool:
        return self.active_elapsed(now) > self.window

    def pause(self, now: dt.datetime) -> SlaClock:
        if self.paused_since is not None:
            return self
        return SlaClock(self.started_at, self.due_at, self.paused_seconds, now)

    def resume(self, now: dt.datetime) -> SlaClock:
        if self.paused_since is None:
            return self
        waited = max((now - self.paused_since).total_seconds(), 0.0)
        return SlaClock(self.started_at, self.due_at, self.paused_seconds + waited, None)


@dataclass(frozen=True)
class AutoStep:
    """One thing the periodic job does to a complaint: escalate a level and/or flag the breach."""

    kind: str  # "escalate" or "breach"
    from_level: str
    to_level: str
    reason: str


def auto_steps(level: str, status: str, clock: SlaClock, breached: bool, now: dt.datetime) -> list[AutoStep]:
    """What the periodic job must do now, in order.

    - at the agent level, once half the time to the promise has passed unresolved → supervisor;
    - at the supervisor level, once the promise has passed → manager;
    - whenever the promise has passed, the complaint is flagged ``breached`` (once).

    A job that ran late may take an agent-level complaint that is already overdue up two levels at once.
    """
    if status not in ACTIVE_STATUSES:
        return []
    steps: list[AutoStep] = []
    current = level
    if current == "agent" and clock.half_time_passed(now):
        steps.append(
            AutoStep(
                "escalate",
                "agent",
                "supervisor",
                "automatic: half of the time promised to the customer has passed without a resolution",
            )
        )
        current = "supervisor"
    if clock.overdue(now):
        if current == "supervisor":
            steps.append(
                AutoStep(
                    "escalate",
                    "supervisor",
                    "manager",
                    "automatic: the time promised to the customer has passed without a resolution",
                )
            )
            current = "manager"
        if not breached:
            steps.append(AutoStep("breach", current, current, "the time promised to the customer has passed"))
    return steps


# --- resolution and penalty (考核) ------------------------------------------------------------------------

#: token roles that rule on fault and set a penalty: the supervisor (项目主管) and the vendor's managers
RULING_ROLES: frozenset[str] = frozenset({"supervisor", "vendor", "admin"})


class RuleViolation(Exception):
    """A business rule refused; ``rule`` is a stable slug, ``field`` the input at fault if any."""

    def __init__(self, rule: str, message: str, *, field: str | None = None, forbidden: bool = False) -> None:
        super().__init__(message)
        self.rule = rule
        self.field = field
        self.forbidden = forbidden


def check_ruling(
    role: str, agent_at_fault: bool, penalty: Decimal, cap: Decimal, agent_id: str | None
) -> None:
    """Who may rule on fault and how large the penalty may be; raises RuleViolation."""
    if penalty < 0:
        raise RuleViolation("penalty-negative", "The penalty must be 0.00 or more.", field="penalty")
    if (agent_at_fault or penalty > 0) and role not in RULING_ROLES:
        what = "set a penalty" if penalty > 0 else "find the agent at fault"
        raise RuleViolation(
            "ruling-role",
            f"Only a supervisor or a manager may {what}; a {role} token may resolve without a ruling "
            "(agent_at_fault false, no penalty).",
            forbidden=True,
        )
    if penalty > cap:
        raise RuleViolation(
            "penalty-cap",
            f"The penalty may be at most {cap:.2f} CNY (COMPLAINTS_PENALTY_CAP); got {penalty:.2f}.",
            field="penalty",
        )
    if penalty > 0 and not agent_at_fault:
        raise RuleViolation(
            "penalty-without-fault",
            "A penalty is only set on an agent found at fault: send agent_at_fault true, or penalty 0.00.",
            field="penalty",
        )
    if agent_at_fault and not agent_id:
        raise RuleViolation(
            "fault-needs-agent",
            "agent_at_fault needs the agent: the complaint names none, so send agent_id in the resolution.",
            field="agent_id",
        )


# --- statistics ------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in (0, 100]); None for no values. p90 of 1..10 is 9."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class StatRow:
    """What the stats need of one complaint."""

    category: str
    level: str
    status: str
    created_at: dt.datetime
    first_responded_at: dt.datetime | None
    resolved_at: dt.datetime | None
    breached: bool
    agent_id: str | None
    agent_at_fault: bool
    penalty: Decimal | None


@dataclass
class AgentUpheld:
    """Upheld complaints (投诉成立) against one agent and the penalties they carried."""

    agent_id: str
    upheld: int = 0
    penalties: Decimal = Decimal("0.00")


@dataclass
class Stats:
    total: int
    by_category: dict[str, int]
    by_level: dict[str, int]
    by_status: dict[str, int]
    resolved: int
    resolved_within_promise: int
    within_promise_share: float | None
    first_response_avg_seconds: float | None
    first_response_p90_seconds: float | None
    resolution_avg_seconds: float | None
    resolution_p90_seconds: float | None
    upheld: list[AgentUpheld]


def summarize(rows: Iterable[StatRow]) -> Stats:
    """Counts by category, level and status; the share resolved within the promise; average and p90 time
    to first response and to resolution (seconds, wall clock from intake); upheld count and penalties per
    agent (most penalised first)."""
    items = list(rows)
    by_category = {c: 0 for c in CATEGORIES}
    by_level = {lv: 0 for lv in LEVELS}
    by_status = {s: 0 for s in STATUSES}
    first: list[float] = []
    resolution: list[float] = []
    resolved = within = 0
    upheld: dict[str, AgentUpheld] = {}
    for row in items:
        by_category[row.category] = by_category.get(row.category, 0) + 1
        by_level[row.level] = by_level.get(row.level, 0) + 1
        by_status[row.status] = by_status.get(row.status, 0) + 1
        if row.first_responded_at is not None:
            first.append((row.first_responded_at - row.created_at).total_seconds())
        if row.resolved_at is not None and row.status in (RESOLVED, CLOSED):
            resolved += 1
            within += 0 if row.breached else 1
            resolution.append((row.resolved_at - row.created_at).total_seconds())
        if row.agent_at_fault and row.agent_id:
            entry = upheld.setdefault(row.agent_id, AgentUpheld(row.agent_id))
            entry.upheld += 1
            entry.penalties += row.penalty or Decimal("0.00")
    per_agent = sorted(upheld.values(), key=lambda e: (-e.penalties, -e.upheld, e.agent_id))
    return Stats(
        total=len(items),
        by_category=by_category,
        by_level=by_level,
        by_status=by_status,
        resolved=resolved,
        resolved_within_promise=within,
        within_promise_share=round(within / resolved, 4) if resolved else None,
        first_response_avg_seconds=_round(mean(first)),
        first_response_p90_seconds=_round(percentile(first, 90)),
        resolution_avg_seconds=_round(mean(resolution)),
        resolution_p90_seconds=_round(percentile(resolution, 90)),
        upheld=per_agent,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
