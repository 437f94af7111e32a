"""Rosters (排班) as a pure problem: shift templates, hard rules, a CP-SAT solver, a greedy baseline.

No Flask, no SQL: the service loads agents and the surrounding rostered days, calls :func:`solve`, and
stores what comes back. Every rule the solver enforces is also checked independently by
:func:`check_roster`, which the property tests and the benchmark run on the solver's own output.

Time model: a shift belongs to the date it starts on; its start is minutes after that date's 00:00
(Asia/Shanghai) and it may run past midnight. Weeks are ISO weeks (Monday to Sunday).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.scheduling.dayrules import Availability

#: The seed's peak hours (seed 000 §4.3): 0–2, 8–10, 12–16 and 20–22 o'clock.
DEFAULT_PEAKS: tuple[tuple[int, int], ...] = ((0, 2), (8, 10), (12, 16), (20, 22))
SHIFT_NAMES: tuple[str, ...] = ("morning", "afternoon", "night")
DAY_MINUTES = 24 * 60

# Objective weights. A missing agent on a shift outweighs everything else (the peak bonus only orders gaps
# of equal size); a reserve agent on duty where an active one could be outweighs one shift's worth of
# unfairness; fairness is counted in minutes.
_SHORT_WEIGHT = 100_000
_PEAK_WEIGHT = 10_000
_RESERVE_WEIGHT = 1_000
_NIGHT_WEIGHT = 60
_FAIR_WEIGHT = 1
#: beyond this many shifts a day the rest rule is written as linear rows, not clauses per pair
_PAIRWISE_REST_MAX = 6
#: how many minutes ahead a reserve agent is ranked in the balanced starting rosters (0, 2, 3, 4 shifts)
_BALANCED_PENALTIES = (0, 16 * 60, 24 * 60, 32 * 60)


@dataclass(frozen=True)
class ShiftTemplate:
    """One of the day's shifts (班次): ``night`` is the one around midnight.

    A demand-driven roster (workforce planning) has many shifts a day, each for one skill: ``skill`` is
    the work done on it, ``accepts`` the agent skills that may take it (None: anyone) and ``part_time``
    whether it is for part-timers (True), full-timers (False) or either (None).
    """

    name: str
    start_minute: int
    minutes: int
    peak_minutes: int = 0
    skill: str | None = None
    accepts: frozenset[str] | None = None
    part_time: bool | None = None

    @property
    def part(self) -> str:
        """The part of the day agents declare availability for: morning, afternoon or night."""
        return shift_part(self.name, self.start_minute, self.minutes)

    @property
    def end_minute(self) -> int:
        return self.start_minute + self.minutes

    @property
    def starts(self) -> str:
        return _hhmm(self.start_minute % DAY_MINUTES)

    @property
    def ends(self) -> str:
        return _hhmm(self.end_minute % DAY_MINUTES) if self.end_minute % DAY_MINUTES else "24:00"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def shift_part(name: str, start_minute: int, minutes: int) -> str:
    """A named shift is its own part of the day; any other is placed by its middle."""
    return name if name in SHIFT_NAMES else _name_for(start_minute, minutes)


def parse_hhmm(value: str) -> int:
    hours, _, minutes = value.partition(":")
    total = int(hours) * 60 + int(minutes)
    if not 0 <= total <= DAY_MINUTES or not 0 <= int(minutes) < 60:
        raise ValueError(f"{value!r} is not a time of day HH:MM")
    return total


def parse_peaks(spec: str) -> tuple[tuple[int, int], ...]:
    """``"0-2,8-10,12-16,20-22"`` → ((0, 2), (8, 10), …): whole hours of the day."""
    peaks: list[tuple[int, int]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        start, _, end = part.partition("-")
        lo, hi = int(start), int(end)
        if not 0 <= lo < hi <= 24:
            raise ValueError(f"peak {part!r} must be 'from-to' whole hours with 0 <= from < to <= 24")
        peaks.append((lo, hi))
    return tuple(peaks)


def _peak_overlap(start: int, minutes: int, peaks: Sequence[tuple[int, int]]) -> int:
    total = 0
    for day_offset in (0, DAY_MINUTES):
        for lo, hi in peaks:
            a, b = lo * 60 + day_offset, hi * 60 + day_offset
            total += max(0, min(start + minutes, b) - max(start, a))
    return total


def _name_for(start: int, minutes: int) -> str:
    mid = (start + minutes // 2) % DAY_MINUTES
    if 6 * 60 <= mid < 14 * 60:
        return "morning"
    if 14 * 60 <= mid < 22 * 60:
        return "afternoon"
    return "night"


def split_service_hours(
    start: str,
    end: str,
    *,
    max_shift_hours: float = 8,
    peaks: Sequence[tuple[int, int]] = DEFAULT_PEAKS,
) -> list[ShiftTemplate]:
    """The project's service hours cut into at most three equal shifts of at most ``max_shift_hours``.

    Hours no longer than one shift give a single day shift; ``end <= start`` means the service runs past
    midnight (``08:00``–``02:00`` covers the seed's 0–2 peak), and equal times mean round the clock.
    Shift boundaries fall on whole quarter hours; the last shift absorbs the rounding.
    """
    s, e = parse_hhmm(start) % DAY_MINUTES, parse_hhmm(end)
    length = (e - s) % DAY_MINUTES or DAY_MINUTES
    limit = int(max_shift_hours * 60)
    count = min(3, max(1, math.ceil(length / limit)))
    base = (length // count) // 15 * 15
    shifts: list[ShiftTemplate] = []
    used: set[str] = set()
    cursor = s
    for i in range(count):
        minutes = base if i < count - 1 else length - base * (count - 1)
        name = _name_for(cursor, minutes)
        while name in used:  # two shifts whose middles fall in the same part of the day
            name = SHIFT_NAMES[(SHIFT_NAMES.index(name) + 1) % len(SHIFT_NAMES)]
        used.add(name)
        shifts.append(
            ShiftTemplate(name, cursor % DAY_MINUTES, minutes, _peak_overlap(cursor, minutes, peaks))
        )
        cursor += minutes
    return shifts


@dataclass(frozen=True)
class Rules:
    """The hard rules (settings): one shift a day is not configurable."""

    min_rest_minutes: int = 11 * 60
    max_consecutive_days: int = 6
    max_weekly_minutes: int = 44 * 60


@dataclass(frozen=True)
class RosterAgent:
    agent_id: str
    shifts_available: frozenset[str]
    reserve: bool = False
    #: no shift on or after this date (离职日期)
    departs_on: dt.date | None = None
    #: lower is better (the pool order): breaks ties when choosing among equals
    order: int = 0
    #: presale / aftersale (售前/售后); None: not considered (shifts without a skill)
    skills: frozenset[str] | None = None
    #: a part-timer (兼职): only part-time shifts, and only pre-sales reception or after-sales triage
    part_time: bool = False
    #: the declared weekly pattern, exceptions and approved leave (None: always available)
    availability: Availability | None = None

    def can_work(self, day: dt.date, shift: ShiftTemplate) -> bool:
        if shift.part not in self.shifts_available:
            return False
        if self.departs_on is not None and day >= self.departs_on:
            return False
        if self.availability is not None and not self.availability.allows(
            day, shift.start_minute, shift.minutes
        ):
            return False
        if shift.part_time is not None and shift.part_time != self.part_time:
            return False
        return shift.accepts is None or bool(self.skills and self.skills & shift.accepts)


@dataclass(frozen=True)
class Assignment:
    agent_id: str
    day: dt.date
    shift: str
    start_minute: int
    minutes: int
    skill: str | None = None

    @property
    def part(self) -> str:
        return shift_part(self.shift, self.start_minute, self.minutes)

    @property
    def start_abs(self) -> int:
        return self.day.toordinal() * DAY_MINUTES + self.start_minute

    @property
    def end_abs(self) -> int:
        return self.start_abs + self.minutes

    @staticmethod
    def of(agent_id: str, day: dt.date, shift: ShiftTemplate) -> Assignment:
        return Assignment(agent_id, day, shift.name, shift.start_minute, shift.minutes, shift.skill)


@dataclass(frozen=True)
class Slot:
    """A shift on a date and how many agents it needs (seats, plus surge seats)."""

    day: dt.date
    shift: ShiftTemplate
    needed: int


@dataclass(frozen=True)
class Demand:
    """How many agents each shift needs, from the project's seats (人数需求按班次).

    By default every shift needs the seats (``needed(…) == seats``). ``multipliers`` scales one shift
    (``{"afternoon": 1.3, "night": 0.5}``); ``peak_multiplier`` scales each shift by the share of it that
    falls in the peak hours (a shift entirely in peak hours needs seats × peak_multiplier, one with a
    quarter of peak hours seats × (1 + (peak_multiplier − 1) / 4)); both multiply, and the result is
    rounded up. ``explicit`` sets a headcount outright, for one shift on one date (``(date, shift)``) or
    on every date (``(None, shift)``); the dated one wins. A surge's extra seats come on top of all this.
    """

    multipliers: Mapping[str, Decimal] = field(default_factory=dict)
    peak_multiplier: Decimal = Decimal(1)
    explicit: Mapping[tuple[dt.date | None, str], int] = field(default_factory=dict)

    def needed(self, day: dt.date, shift: ShiftTemplate, seats: int) -> int:
        for key in ((day, shift.name), (None, shift.name)):
            if key in self.explicit:
                return self.explicit[key]
        factor = Decimal(self.multipliers.get(shift.name, Decimal(1)))
        if self.peak_multiplier != 1 and shift.minutes:
            factor *= 1 + (Decimal(self.peak_multiplier) - 1) * Decimal(shift.peak_minutes) / shift.minutes
        return math.ceil(Decimal(seats) * factor)

    def unknown_shifts(self, templates: Iterable[ShiftTemplate]) -> list[str]:
        """Shift names the demand mentions that the project's service hours do not have."""
        names = {t.name for t in templates}
        mentioned = {*self.multipliers, *(name for _, name in self.explicit)}
        return sorted(mentioned - names)


def demand_slots(
    days: Iterable[dt.date],
    templates: Sequence[ShiftTemplate],
    seats: int,
    extra: Mapping[dt.date, int],
    demand: Demand | None = None,
) -> list[Slot]:
    """One slot per date and shift: ``demand`` applied to the seats, plus the date's surge seats."""
    demand = demand or Demand()
    return [Slot(day, t, demand.needed(day, t, seats) + extra.get(day, 0)) for day in days for t in templates]


@dataclass(frozen=True)
class Violation:
    rule: str
    agent_id: str
    day: dt.date
    detail: str


@dataclass
class RosterProblem:
    agents: Sequence[RosterAgent]
    slots: Sequence[Slot]
    #: already-rostered shifts just outside the window: they count for rest, streaks and weekly hours
    fixed: Sequence[Assignment] = ()
    rules: Rules = field(default_factory=Rules)


@dataclass(frozen=True)
class Gap:
    """An uncovered shift (缺口) and the rule that keeps it open."""

    day: dt.date
    shift: str
    needed: int
    missing: int
    rule: str
    detail: str


@dataclass
class RosterResult:
    assignments: list[Assignment]
    gaps: list[Gap]
    method: str
    status: str
    solve_seconds: float
    quality: Quality | None = None
    #: CP-SAT's objective value and best bound, and the relative gap between them (0 when proved optimal)
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    #: both candidates' figures (``Quality.as_dict``), by method
    compared: dict[str, dict[str, float | int]] = field(default_factory=dict)
    #: the roster CP-SAT's search started from: ``greedy`` or ``greedy-balanced+<N>h``
    hint: str | None = None

    @property
    def missing(self) -> int:
        return sum(g.missing for g in self.gaps)


# --- checking ---------------------------------------------------------------------------------------------


def check_roster(
    agents: Iterable[RosterAgent], assignments: Iterable[Assignment], rules: Rules
) -> list[Violation]:
    """Every hard-rule violation in a set of assignments (the window plus any fixed context)."""
    by_id = {a.agent_id: a for a in agents}
    per_agent: dict[str, list[Assignment]] = defaultdict(list)
    for item in assignments:
        per_agent[item.agent_id].append(item)
    out: list[Violation] = []
    for agent_id, items in per_agent.items():
        agent = by_id.get(agent_id)
        if agent is None:
            out.append(Violation("unknown-agent", agent_id, items[0].day, "not in the pool"))
            continue
        out.extend(agent_violations(agent, items, rules))
    return out


def agent_violations(agent: RosterAgent, items: Iterable[Assignment], rules: Rules) -> list[Violation]:
    items = sorted(items, key=lambda a: a.start_abs)
    out: list[Violation] = []
    aid = agent.agent_id
    for item in items:
        if item.part not in agent.shifts_available:
            out.append(Violation("availability", aid, item.day, f"not available for {item.part} shifts"))
        if agent.departs_on is not None and item.day >= agent.departs_on:
            out.append(Violation("departed", aid, item.day, f"left on {agent.departs_on.isoformat()}"))
        refusal = (
            agent.availability.refusal(item.day, item.start_minute, item.minutes)
            if agent.availability
            else None
        )
        if refusal is not None:
            rule = "on-leave" if refusal.startswith("on approved leave") else "declared-availability"
            out.append(Violation(rule, aid, item.day, refusal))
    days = [item.day for item in items]
    for prev, nxt in itertools.pairwise(items):
        if prev.day == nxt.day:
            out.append(Violation("one-shift-per-day", aid, nxt.day, "two shifts on one day"))
        elif nxt.start_abs - prev.end_abs < rules.min_rest_minutes:
            rest = (nxt.start_abs - prev.end_abs) / 60
            out.append(Violation("min-rest", aid, nxt.day, f"only {rest:g} h rest before this shift"))
    run = 0
    previous: dt.date | None = None
    for day in sorted(set(days)):
        run = run + 1 if previous is not None and (day - previous).days == 1 else 1
        if run == rules.max_consecutive_days + 1:
            out.append(Violation("max-consecutive-days", aid, day, f"day {run} in a row"))
        previous = day
    weekly: dict[tuple[int, int], int] = defaultdict(int)
    for item in items:
        weekly[item.day.isocalendar()[:2]] += item.minutes
    for (year, week), minutes in weekly.items():
        if minutes > rules.max_weekly_minutes:
            monday = dt.date.fromisocalendar(year, week, 1)
            out.append(Violation("max-weekly-hours", aid, monday, f"{minutes / 60:g} h in the week"))
    return out


def hours_by_agent(assignments: Iterable[Assignment]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for item in assignments:
        out[item.agent_id] += item.minutes / 60
    return dict(out)


def fairness_spread(agents: Iterable[RosterAgent], assignments: Iterable[Assignment]) -> float:
    """max − min hours across the active agents who stay through the window (0 with fewer than two)."""
    hours = hours_by_agent(assignments)
    group = [hours.get(a.agent_id, 0.0) for a in _fair_group(agents)]
    return max(group) - min(group) if len(group) > 1 else 0.0


# --- the greedy baseline (and the solver's starting hint) -------------------------------------------------


def greedy(problem: RosterProblem, *, reserve_penalty: int | None = None) -> RosterResult:
    """Day by day, shift by shift: the eligible agent with the fewest hours so far, active before reserve.

    That is the baseline. With ``reserve_penalty`` (minutes) a reserve agent instead ranks as if it had
    worked that much more than it has (``greedy-balanced``): it spends reserve agents earlier, so it is no
    baseline, but when demand nears the pool's capacity it leaves far fewer shifts open (the active agents
    are not all stopped by the weekly and streak limits at once), a good starting point for the solver.
    """
    started = time.perf_counter()
    rules = problem.rules
    schedule: dict[str, list[Assignment]] = defaultdict(list)
    for item in problem.fixed:
        schedule[item.agent_id].append(item)
    minutes: dict[str, int] = defaultdict(int)
    chosen: list[Assignment] = []
    counts: dict[tuple[dt.date, str], int] = {}
    for slot in sorted(problem.slots, key=lambda s: (s.day, s.shift.start_minute)):
        candidates = sorted(
            (a for a in problem.agents if a.can_work(slot.day, slot.shift)),
            key=(
                (lambda a: (a.reserve, minutes[a.agent_id], a.order, a.agent_id))
                if reserve_penalty is None
                else (
                    lambda a: (
                        minutes[a.agent_id] + (reserve_penalty if a.reserve else 0),
                        a.reserve,
                        a.order,
                        a.agent_id,
                    )
                )
            ),
        )
        taken = 0
        for agent in candidates:
            if taken >= slot.needed:
                break
            new = Assignment.of(agent.agent_id, slot.day, slot.shift)
            if agent_violations(agent, [*schedule[agent.agent_id], new], rules):
                continue
            schedule[agent.agent_id].append(new)
            minutes[agent.agent_id] += new.minutes
            chosen.append(new)
            taken += 1
        counts[(slot.day, slot.shift.name)] = taken
    gaps = diagnose(problem, counts)
    method = "greedy" if reserve_penalty is None else f"greedy-balanced+{reserve_penalty // 60}h"
    result = RosterResult(chosen, gaps, method, "FEASIBLE", time.perf_counter() - started)
    result.quality = assess(problem, chosen)
    return result


# --- how good a roster is ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quality:
    """A roster's figures, in the order two rosters are compared: hard rules, coverage, then fairness."""

    violations: int
    needed: int
    missing: int
    hours_spread: float
    night_spread: int
    reserve_shifts: int

    @property
    def coverage_pct(self) -> float:
        return 100.0 * (self.needed - self.missing) / self.needed if self.needed else 100.0

    def key(self) -> tuple[int, int, float, int, int]:
        """Lower is better: a broken rule disqualifies, a missing agent outweighs any unfairness."""
        return (self.violations, self.missing, self.hours_spread, self.night_spread, self.reserve_shifts)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "violations": self.violations,
            "needed": self.needed,
            "missing": self.missing,
            "coverage_pct": round(self.coverage_pct, 2),
            "hours_spread": self.hours_spread,
            "night_spread": self.night_spread,
            "reserve_shifts": self.reserve_shifts,
        }


def _fair_group(agents: Iterable[RosterAgent]) -> list[RosterAgent]:
    # reserve agents are on call, leavers work part of the window and part-timers work short shifts by
    # arrangement: comparing their hours with the full-timers' means nothing
    return [a for a in agents if not a.reserve and a.departs_on is None and not a.part_time]


def night_spread(agents: Iterable[RosterAgent], assignments: Iterable[Assignment]) -> int:
    """max − min night shifts across the agents :func:`fairness_spread` compares who may work nights
    (an agent unavailable for nights is not spared them, and would pin the minimum at 0)."""
    nights: dict[str, int] = defaultdict(int)
    for item in assignments:
        if item.part == "night":
            nights[item.agent_id] += 1
    group = [nights.get(a.agent_id, 0) for a in _fair_group(agents) if "night" in a.shifts_available]
    return max(group) - min(group) if len(group) > 1 else 0


def assess(problem: RosterProblem, assignments: Sequence[Assignment]) -> Quality:
    """The figures of ``assignments`` as an answer to ``problem`` (violations counted against ``fixed``)."""
    counts: dict[tuple[dt.date, str], int] = defaultdict(int)
    for item in assignments:
        counts[(item.day, item.shift)] += 1
    needed = sum(s.needed for s in problem.slots)
    missing = sum(max(0, s.needed - counts[(s.day, s.shift.name)]) for s in problem.slots)
    over = sum(max(0, counts[(s.day, s.shift.name)] - s.needed) for s in problem.slots)
    # the context outside the window may already break a rule (an older version): only new breaks count
    before = len(check_roster(problem.agents, problem.fixed, problem.rules)) if problem.fixed else 0
    after = len(check_roster(problem.agents, [*problem.fixed, *assignments], problem.rules))
    reserve = {a.agent_id for a in problem.agents if a.reserve}
    return Quality(
        violations=max(0, after - before) + over,
        needed=needed,
        missing=missing,
        hours_spread=round(fairness_spread(problem.agents, assignments), 2),
        night_spread=night_spread(problem.agents, assignments),
        reserve_shifts=sum(1 for a in assignments if a.agent_id in reserve),
    )


# --- CP-SAT -----------------------------------------------------------------------------------------------


def solve(
    problem: RosterProblem, *, time_limit: float = 5.0, workers: int = 8, seed: int = 0
) -> RosterResult:
    """The better of CP-SAT's roster and the greedy baseline, within ``time_limit`` seconds of wall time.

    ``time_limit`` is the whole budget (importing the solver, the baseline, building the model, the
    search): the search gets what is left, at least a second (a quarter of the limit if less). Every
    hard rule is a constraint; a shift that cannot be fully staffed gets a shortfall variable instead of
    making the model infeasible, so there is always an answer and every gap is listed with the rule that
    binds.

    The greedy baseline (and, when it leaves gaps, variants that spend reserve agents earlier) are
    computed first and the best by the objective is handed to CP-SAT as a complete hint, so the search
    starts from it (``hint``); the answer is then
    whichever of CP-SAT's roster and the baseline is better by :meth:`Quality.key` (coverage first, then
    the hours spread, then the night-shift spread), CP-SAT on a tie. ``method`` says which was kept,
    ``status``/``objective``/``bound``/``gap`` what the solver reached, ``compared`` both rosters' figures.
    """
    started = time.perf_counter()
    from ortools.sat.python import cp_model

    baseline = greedy(problem)
    if not problem.slots:
        return RosterResult([], [], "cp-sat", "OPTIMAL", time.perf_counter() - started)
    # The search starts from the best cheap roster by the solver's own objective; only the baseline
    # competes with the answer. When the baseline covers every shift no balanced one beats it (they only
    # add reserve shifts), so they are tried only when it leaves gaps.
    starts = [baseline]
    if baseline.missing:
        starts += [greedy(problem, reserve_penalty=p) for p in _BALANCED_PENALTIES]
    start = min(starts, key=lambda r: objective_value(problem, r.assignments))
    model = _Model(problem, cp_model)
    model.hint(start.assignments)

    solver = cp_model.CpSolver()
    left = float(time_limit) - (time.perf_counter() - started)
    # a floor, so that a slow first import of the solver on a busy machine cannot leave it no time to
    # even load the hint (it would answer UNKNOWN and the greedy roster would stand alone)
    solver.parameters.max_time_in_seconds = max(min(1.0, 0.25 * float(time_limit)), left)
    solver.parameters.num_workers = max(1, int(workers))
    solver.parameters.random_seed = seed
    # A light presolve: on 300 agents × 14 days full probing and symmetry detection took 1–3 s of a busy
    # 2-core machine's 8 s; given to the search instead, they left fewer shifts open (bench/roster.py).
    solver.parameters.symmetry_level = 0
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.max_presolve_iterations = 1
    status = solver.solve(model.model)
    status_name = solver.status_name(status)
    quality_greedy = baseline.quality or assess(problem, baseline.assignments)
    compared: dict[str, dict[str, float | int]] = {"greedy": quality_greedy.as_dict()}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        baseline.status = status_name
        baseline.hint = start.method
        baseline.compared = compared
        baseline.solve_seconds = time.perf_counter() - started
        return baseline
    chosen = model.assignments(solver)
    quality = assess(problem, chosen)
    compared["cp-sat"] = quality.as_dict()
    objective, bound = solver.objective_value, solver.best_objective_bound
    gap = (objective - bound) / max(1.0, abs(objective))
    if quality_greedy.key() < quality.key():
        kept = baseline
    else:
        counts: dict[tuple[dt.date, str], int] = defaultdict(int)
        for item in chosen:
            counts[(item.day, item.shift)] += 1
        kept = RosterResult(chosen, diagnose(problem, counts), "cp-sat", status_name, 0.0, quality=quality)
    kept.status = status_name
    kept.hint = start.method
    kept.objective, kept.bound, kept.gap = objective, bound, round(gap, 6)
    kept.compared = compared
    kept.solve_seconds = time.perf_counter() - started
    return kept


def _short_weight(shift: ShiftTemplate) -> int:
    # a little heavier on peak hours: of two equal gaps, the quiet shift's is left open
    return _SHORT_WEIGHT + (_PEAK_WEIGHT * shift.peak_minutes) // max(1, shift.minutes)


def objective_value(problem: RosterProblem, assignments: Sequence[Assignment]) -> int:
    """What CP-SAT's objective says of a roster: missing agents, reserve shifts, hours and night spreads."""
    counts: dict[tuple[dt.date, str], int] = defaultdict(int)
    for item in assignments:
        counts[(item.day, item.shift)] += 1
    short = sum(
        _short_weight(s.shift) * max(0, s.needed - counts[(s.day, s.shift.name)]) for s in problem.slots
    )
    reserve = {a.agent_id for a in problem.agents if a.reserve}
    reserved = sum(1 for a in assignments if a.agent_id in reserve)
    return (
        short
        + _RESERVE_WEIGHT * reserved
        + round(_FAIR_WEIGHT * 60 * fairness_spread(problem.agents, assignments))
        + _NIGHT_WEIGHT * night_spread(problem.agents, assignments)
    )


class _Model:
    """The CP-SAT model of a roster problem: one boolean per (agent, day, shift) the agent may take."""

    def __init__(self, problem: RosterProblem, cp_model: Any) -> None:
        self.problem = problem
        rules = problem.rules
        model = self.model = cp_model.CpModel()
        days = sorted({s.day for s in problem.slots})
        window = set(days)
        shifts_by_day: dict[dt.date, list[Slot]] = defaultdict(list)
        for slot in problem.slots:
            shifts_by_day[slot.day].append(slot)
        fixed_by_agent_day: dict[tuple[str, dt.date], Assignment] = {}
        for item in problem.fixed:
            fixed_by_agent_day[(item.agent_id, item.day)] = item

        x: dict[tuple[str, dt.date, str], Any] = {}
        per_agent_day: dict[tuple[str, dt.date], list[tuple[Slot, Any]]] = defaultdict(list)
        per_agent: dict[str, list[tuple[Slot, Any]]] = defaultdict(list)
        per_slot: dict[tuple[dt.date, str], list[Any]] = defaultdict(list)
        for agent in problem.agents:
            aid = agent.agent_id
            for day in days:
                if (aid, day) in fixed_by_agent_day:
                    continue
                for slot in shifts_by_day[day]:
                    if agent.can_work(day, slot.shift) and not _clashes_with_fixed(
                        aid, day, slot.shift, fixed_by_agent_day, rules
                    ):
                        var = model.new_bool_var("")
                        x[(aid, day, slot.shift.name)] = var
                        per_agent_day[(aid, day)].append((slot, var))
                        per_agent[aid].append((slot, var))
                        per_slot[(day, slot.shift.name)].append(var)
        self.x = x
        self.slot_of: dict[tuple[dt.date, str], Slot] = {(s.day, s.shift.name): s for s in problem.slots}

        # one shift a day
        for items in per_agent_day.values():
            if len(items) > 1:
                model.add_at_most_one(var for _, var in items)

        # rest between shifts on nearby days (both inside the window): one clause per clashing pair of the
        # few named shifts; a demand-driven roster has dozens of shifts a day and would need hundreds of
        # thousands of clauses, so there the rule is one linear inequality per agent and day (_rest_rows)
        pairwise = max((len(v) for v in shifts_by_day.values()), default=0) <= _PAIRWISE_REST_MAX
        if not pairwise:
            self._rest_rows(per_agent_day, rules)
        for (aid, day), items in per_agent_day.items() if pairwise else ():
            for offset in (1, 2):
                later = per_agent_day.get((aid, day + dt.timedelta(days=offset)))
                if not later:
                    continue
                for slot_a, var_a in items:
                    end = slot_a.shift.end_minute
                    for slot_b, var_b in later:
                        if offset * DAY_MINUTES + slot_b.shift.start_minute - end < rules.min_rest_minutes:
                            model.add_bool_or([var_a.Not(), var_b.Not()])

        first, last = days[0], days[-1]
        span = rules.max_consecutive_days + 1
        ext_days = [first + dt.timedelta(days=i) for i in range(-span + 1, (last - first).days + span)]
        fixed_minutes: dict[tuple[str, tuple[int, int]], int] = defaultdict(int)
        for (fid, fday), item in fixed_by_agent_day.items():
            fixed_minutes[(fid, fday.isocalendar()[:2])] += item.minutes
        active_capacity: dict[str, int] = defaultdict(int)
        for agent in problem.agents:
            aid = agent.agent_id
            works: dict[dt.date, Any] = {}
            for day in ext_days:
                if (aid, day) in fixed_by_agent_day:
                    works[day] = 1
                elif day in window:
                    items = per_agent_day.get((aid, day))
                    if items:
                        works[day] = sum(var for _, var in items)
            # at most N consecutive working days: every run of N+1 days touching the window has a day off
            for i in range(len(ext_days) - span + 1):
                run = ext_days[i : i + span]
                if not any(d in window for d in run):
                    continue
                terms = [works[d] for d in run if d in works]
                variables = [t for t in terms if not isinstance(t, int)]
                constant = sum(t for t in terms if isinstance(t, int))
                if len(terms) == span and variables:
                    model.add(sum(variables) <= max(0, rules.max_consecutive_days - constant))
            # at most N hours a calendar week
            weeks: dict[tuple[int, int], list[tuple[int, Any]]] = defaultdict(list)
            week_days: dict[tuple[int, int], set[dt.date]] = defaultdict(set)
            for slot, var in per_agent.get(aid, []):
                weeks[slot.day.isocalendar()[:2]].append((slot.shift.minutes, var))
                week_days[slot.day.isocalendar()[:2]].add(slot.day)
            for week, terms in weeks.items():
                already = fixed_minutes[(aid, week)]
                room = max(0, rules.max_weekly_minutes - already)
                if not agent.reserve:
                    active_capacity[aid] += min(len(week_days[week]), room // min(m for m, _ in terms))
                if sum(m for m, _ in terms) > room:
                    model.add(sum(m * v for m, v in terms) <= room)
                    # the same limit as a count of shifts: redundant, but its LP relaxation is integral
                    # (5 shifts of 8 h, not 5.5), which is what gives the solver a real lower bound
                    most = room // min(m for m, _ in terms)
                    if most < len(week_days[week]):
                        model.add(sum(v for _, v in terms) <= most)

        # coverage, with a shortfall where the rules leave no one
        objective: list[Any] = []
        shorts: list[tuple[int, Any]] = []
        self.shortfalls: dict[tuple[dt.date, str], Any] = {}
        for key, slot in self.slot_of.items():
            short = model.new_int_var(0, slot.needed, "")
            self.shortfalls[key] = short
            model.add(sum(per_slot.get(key, [])) + short == slot.needed)
            shorts.append((_short_weight(slot.shift), short))

        # What the active agents cannot cover falls to reserve agents or stays open. Counting their
        # capacity here (shifts a week by the weekly hours, days they may work) and stating it as the
        # domain of one variable gives the solver a real lower bound from the start; the LP relaxation
        # alone finds none on a model this size within seconds.
        reserve_ids = {a.agent_id for a in problem.agents if a.reserve}
        demand = sum(s.needed for s in problem.slots)
        capacity = sum(active_capacity.values())
        reserve_total = model.new_int_var(0, demand, "")
        model.add(reserve_total == sum(v for (aid, _, _), v in x.items() if aid in reserve_ids))
        short_total = model.new_int_var(0, demand, "")
        model.add(short_total == sum(self.shortfalls.values()))
        overflow = model.new_int_var(max(0, demand - capacity), demand, "")
        model.add(overflow == reserve_total + short_total)
        self.totals = (reserve_total, short_total, overflow)
        self.reserve_ids = reserve_ids
        # Σ weight × short + _RESERVE_WEIGHT × reserve, written over the bounded variable with every
        # coefficient positive, so that the bound on ``overflow`` is a bound on the objective
        objective.extend((weight - _RESERVE_WEIGHT) * short for weight, short in shorts)
        objective.append(_RESERVE_WEIGHT * overflow)

        self.loads: dict[str, Any] = {}
        self.nights: dict[str, Any] = {}
        self.spreads: list[tuple[Any, Any, dict[str, Any]]] = []
        fair_group = _fair_group(problem.agents)
        if len(fair_group) > 1:
            horizon = sum(s.shift.minutes for s in problem.slots)
            has_nights = any(s.shift.part == "night" for s in problem.slots)
            for agent in fair_group:
                aid = agent.agent_id
                items = per_agent.get(aid, [])
                load = model.new_int_var(0, horizon, "")
                model.add(load == sum(s.shift.minutes * v for s, v in items))
                self.loads[aid] = load
                if has_nights and "night" in agent.shifts_available:
                    count = model.new_int_var(0, len(days), "")
                    model.add(count == sum(v for s, v in items if s.shift.part == "night"))
                    self.nights[aid] = count
            hi, lo = model.new_int_var(0, horizon, ""), model.new_int_var(0, horizon, "")
            model.add_max_equality(hi, list(self.loads.values()))
            model.add_min_equality(lo, list(self.loads.values()))
            self.spreads.append((hi, lo, self.loads))
            objective.append(_FAIR_WEIGHT * (hi - lo))
            if len(self.nights) > 1:
                nhi, nlo = model.new_int_var(0, len(days), ""), model.new_int_var(0, len(days), "")
                model.add_max_equality(nhi, list(self.nights.values()))
                model.add_min_equality(nlo, list(self.nights.values()))
                self.spreads.append((nhi, nlo, self.nights))
                objective.append(_NIGHT_WEIGHT * (nhi - nlo))
        model.minimize(sum(objective))

    def _rest_rows(
        self, per_agent_day: Mapping[tuple[str, dt.date], list[tuple[Slot, Any]]], rules: Rules
    ) -> None:
        """``start(next day) + 24 h − end(day) ≥ rest`` for each agent, with a day off counting as an end at
        the day's start and a start past the horizon. Shifts are under a day and one a day, so only
        consecutive days can clash (two days apart the gap is already at least 24 h − a shift's overrun)."""
        model = self.model
        for (aid, day), items in per_agent_day.items():
            later = per_agent_day.get((aid, day + dt.timedelta(days=1)))
            if not later:
                continue
            latest_end = max(slot.shift.end_minute for slot, _ in items)
            earliest_start = min(slot.shift.start_minute for slot, _ in later)
            if DAY_MINUTES + earliest_start - latest_end >= rules.min_rest_minutes:
                continue
            big = rules.min_rest_minutes + DAY_MINUTES
            end = sum(slot.shift.end_minute * var for slot, var in items)
            start = sum(slot.shift.start_minute * var for slot, var in later)
            off_next = 1 - sum(var for _, var in later)
            model.add(DAY_MINUTES + start + big * off_next - end >= rules.min_rest_minutes)

    def hint(self, assignments: Iterable[Assignment]) -> None:
        """Hint every variable from a feasible roster, so that the search starts from it at once."""
        chosen = {(a.agent_id, a.day, a.shift) for a in assignments if (a.agent_id, a.day, a.shift) in self.x}
        for key, var in self.x.items():
            self.model.add_hint(var, key in chosen)
        filled: dict[tuple[dt.date, str], int] = defaultdict(int)
        minutes: dict[str, int] = defaultdict(int)
        nights: dict[str, int] = defaultdict(int)
        for aid, day, name in chosen:
            filled[(day, name)] += 1
            minutes[aid] += self.slot_of[(day, name)].shift.minutes
            nights[aid] += self.slot_of[(day, name)].shift.part == "night"
        for key, short in self.shortfalls.items():
            self.model.add_hint(short, max(0, self.slot_of[key].needed - filled[key]))
        reserve_total, short_total, overflow = self.totals
        reserved = sum(1 for aid, _, _ in chosen if aid in self.reserve_ids)
        short = sum(max(0, self.slot_of[k].needed - filled[k]) for k in self.shortfalls)
        self.model.add_hint(reserve_total, reserved)
        self.model.add_hint(short_total, short)
        self.model.add_hint(overflow, reserved + short)
        for aid, var in self.loads.items():
            self.model.add_hint(var, minutes[aid])
        for aid, var in self.nights.items():
            self.model.add_hint(var, nights[aid])
        for hi, lo, group in self.spreads:
            source = minutes if group is self.loads else nights
            figures = [source[aid] for aid in group]
            self.model.add_hint(hi, max(figures))
            self.model.add_hint(lo, min(figures))

    def assignments(self, solver: Any) -> list[Assignment]:
        chosen = [
            Assignment.of(aid, day, self.slot_of[(day, name)].shift)
            for (aid, day, name), var in self.x.items()
            if solver.boolean_value(var)
        ]
        chosen.sort(key=lambda a: (a.day, a.start_minute, a.agent_id))
        return chosen


def _clashes_with_fixed(
    agent_id: str,
    day: dt.date,
    shift: ShiftTemplate,
    fixed: Mapping[tuple[str, dt.date], Assignment],
    rules: Rules,
) -> bool:
    """A shift that would break the rest rule against an already-rostered shift outside the window."""
    start = day.toordinal() * DAY_MINUTES + shift.start_minute
    end = start + shift.minutes
    for offset in (-2, -1, 1, 2):
        other = fixed.get((agent_id, day + dt.timedelta(days=offset)))
        if other is None:
            continue
        if offset < 0 and start - other.end_abs < rules.min_rest_minutes:
            return True
        if offset > 0 and other.start_abs - end < rules.min_rest_minutes:
            return True
    return False


# --- which rule binds -------------------------------------------------------------------------------------


def diagnose(problem: RosterProblem, counts: Mapping[tuple[dt.date, str], int]) -> list[Gap]:
    """Each shift left short, with the first rule (by simple counting) that explains the gap."""
    rules = problem.rules
    gaps: list[Gap] = []
    day_demand: dict[dt.date, int] = defaultdict(int)
    week_demand: dict[tuple[int, int], int] = defaultdict(int)
    for slot in problem.slots:
        day_demand[slot.day] += slot.needed
        week_demand[slot.day.isocalendar()[:2]] += slot.needed * slot.shift.minutes
    for slot in sorted(problem.slots, key=lambda s: (s.day, s.shift.start_minute)):
        assigned = counts.get((slot.day, slot.shift.name), 0)
        missing = slot.needed - assigned
        if missing <= 0:
            continue
        name = slot.shift.name
        present = [a for a in problem.agents if a.departs_on is None or slot.day < a.departs_on]
        eligible = [a for a in present if a.can_work(slot.day, slot.shift)]
        week = slot.day.isocalendar()[:2]
        week_capacity = len(present) * rules.max_weekly_minutes
        if not problem.agents:
            rule, detail = "pool-empty", "the project has no admitted agents in its pool"
        elif len(eligible) < slot.needed:
            departed = sum(1 for a in problem.agents if a.departs_on is not None and slot.day >= a.departs_on)
            rule = "availability"
            detail = (
                f"only {len(eligible)} agents in the pool can work {name} shifts on {slot.day.isoformat()}"
                f" ({slot.needed} needed"
                + (f"; {departed} departed" if departed else "")
                + "): admit more agents available for this shift"
            )
        elif day_demand[slot.day] > len(present):
            rule = "one-shift-per-day"
            detail = (
                f"{slot.day.isoformat()} needs {day_demand[slot.day]} agent-shifts but the pool has "
                f"{len(present)} agents and each works one shift a day"
            )
        elif week_demand[week] > week_capacity:
            rule = "max-weekly-hours"
            detail = (
                f"the week of {dt.date.fromisocalendar(*week, 1).isoformat()} needs "
                f"{week_demand[week] / 60:g} agent-hours; {len(present)} agents × "
                f"{rules.max_weekly_minutes / 60:g} h = {week_capacity / 60:g} h at most"
            )
        else:
            rule, detail = _finer_rule(problem, slot, len(eligible))
        gaps.append(Gap(slot.day, name, slot.needed, missing, rule, detail))
    return gaps


def _finer_rule(problem: RosterProblem, slot: Slot, eligible: int) -> tuple[str, str]:
    """Counting within the slot's week and shift: weekly hours, then consecutive days, then rest."""
    rules = problem.rules
    week = slot.day.isocalendar()[:2]
    same = [s for s in problem.slots if s.day.isocalendar()[:2] == week and s.shift.name == slot.shift.name]
    demand = sum(s.needed for s in same)
    per_week = rules.max_weekly_minutes // max(1, slot.shift.minutes)
    per_run = min(len({s.day for s in same}), rules.max_consecutive_days)
    name = slot.shift.name
    if demand > eligible * per_week:
        return "max-weekly-hours", (
            f"{demand} {name} shifts in the week of {dt.date.fromisocalendar(*week, 1).isoformat()}; "
            f"{eligible} eligible agents × {per_week} shifts ({rules.max_weekly_minutes / 60:g} h a week) "
            "cannot cover them"
        )
    if demand > eligible * per_run:
        return "max-consecutive-days", (
            f"{demand} {name} shifts in the week; {eligible} eligible agents may work at most "
            f"{rules.max_consecutive_days} days in a row"
        )
    day_shifts = [s.shift for s in problem.slots if s.day == slot.day]
    if len(day_shifts) > 1 and any(
        DAY_MINUTES + b.start_minute - a.end_minute < rules.min_rest_minutes
        for a in day_shifts
        for b in day_shifts
    ):
        return "min-rest", (
            f"{rules.min_rest_minutes / 60:g} h rest forbids some shift sequences (late then early) "
            f"and the {eligible} agents available for {name} shifts are used up"
        )
    return "max-weekly-hours", (
        f"the {eligible} agents available for {name} shifts are used up by the weekly hours, "
        "consecutive-day and rest limits together"
    )


def binding_rules(gaps: Iterable[Gap]) -> list[dict[str, object]]:
    """The rules that leave shifts open, with how many shifts and agents each explains."""
    summary: dict[str, dict[str, object]] = {}
    for gap in gaps:
        entry = summary.setdefault(
            gap.rule, {"rule": gap.rule, "shifts": 0, "missing": 0, "example": gap.detail}
        )
        entry["shifts"] = int(entry["shifts"]) + 1  # type: ignore[call-overload]
        entry["missing"] = int(entry["missing"]) + gap.missing  # type: ignore[call-overload]
    return sorted(summary.values(), key=lambda e: -int(e["missing"]))  # type: ignore[call-overload]


def reassign(
    agents: Sequence[RosterAgent],
    assignments: Sequence[Assignment],
    leaving: Iterable[str],
    candidates: Sequence[str],
    rules: Rules,
) -> tuple[list[Assignment], dict[str, list[Assignment]], list[Assignment]]:
    """Hand the shifts of ``leaving`` agents to ``candidates`` (best first) without breaking a hard rule.

    Returns (the new assignments, what each candidate took over, the shifts nobody could take). The best
    candidate takes every shift it can before the next one is asked, so one reserve usually replaces one
    departed agent.
    """
    by_id = {a.agent_id: a for a in agents}
    gone = set(leaving)
    kept = [a for a in assignments if a.agent_id not in gone]
    orphaned = sorted((a for a in assignments if a.agent_id in gone), key=lambda a: a.start_abs)
    schedule: dict[str, list[Assignment]] = defaultdict(list)
    for item in kept:
        schedule[item.agent_id].append(item)
    taken: dict[str, list[Assignment]] = {}
    remaining = orphaned
    for cid in candidates:
        agent = by_id.get(cid)
        if agent is None or cid in gone or not remaining:
            continue
        left: list[Assignment] = []
        for shift in remaining:
            new = Assignment(cid, shift.day, shift.shift, shift.start_minute, shift.minutes, shift.skill)
            if agent_violations(agent, [*schedule[cid], new], rules):
                left.append(shift)
                continue
            schedule[cid].append(new)
            kept.append(new)
            taken.setdefault(cid, []).append(new)
        remaining = left
    return kept, taken, remaining
