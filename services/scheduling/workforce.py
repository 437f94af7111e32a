"""Workforce planning (人力规划) as pure functions: forecast → agents per interval → shifts → a roster.

1. :func:`requirements` turns each interval's net consultations into agents, by Erlang C, by the seed's
   100-an-hour rule, or the larger of the two, less the shop's own agents on duty. After-sales splits into
   triage (前端分流, which part-timers may do) and handling.
2. :func:`cover` chooses how many shifts of each allowed start and length work each skill each day, so
   that the shifts follow the demand: CP-SAT minimises under-staffing (peak intervals weigh double), then
   over-staffing, within what the pool can give (agents present, their skills and part of day, the weekly
   hours and consecutive-day limits counted for the whole pool).
3. :func:`roster_problem` hands those shifts to the roster solver (``rostering.solve``) as slots: every hard
   rule is enforced agent by agent there, and fairness is what it minimises after coverage.
4. :func:`coverage` compares required and scheduled per interval and says why an interval stays short.

Skill rules (seed 000): part-timers take pre-sales reception or after-sales triage only; on the festival
day after-sales agents move to pre-sales; in the after-sales phase pre-sales agents support after-sales.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.scheduling import erlang
from services.scheduling.forecasting import AFTERSALE, PRESALE, IntervalForecast
from services.scheduling.rostering import (
    DAY_MINUTES,
    Assignment,
    Gap,
    RosterAgent,
    RosterProblem,
    Rules,
    ShiftTemplate,
    Slot,
    _hhmm,
    _peak_overlap,
    agent_violations,
    shift_part,
)

TRIAGE = "triage"
SKILLS: tuple[str, ...] = (PRESALE, AFTERSALE, TRIAGE)
METHODS: tuple[str, ...] = ("erlang", "simple", "max")

#: a missing agent in an interval outweighs any over-staffing a shift covering it causes
_UNDER_WEIGHT = 1_000
_OVER_WEIGHT = 10

Key = tuple[dt.date, int, str]  # (day, minute of day, skill)


# --- 1. agents per interval -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffingSpec:
    """How agents follow from consultations: the order's service target per channel, the method."""

    targets: Mapping[str, erlang.ServiceTarget]
    method: str = "erlang"
    per_hour: float = erlang.SIMPLE_PER_HOUR
    own_agents: Mapping[str, int] = field(default_factory=dict)
    triage_share: float = 0.3
    interval_minutes: int = 30

    def problems(self) -> list[str]:
        out = []
        if self.method not in METHODS:
            out.append(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        for channel, target in self.targets.items():
            out.extend(f"{channel}: {p}" for p in target.problems())
        if not 0 <= self.triage_share <= 1:
            out.append(f"the triage share must be between 0 and 1, got {self.triage_share}")
        if self.per_hour <= 0:
            out.append(f"consultations per agent-hour must be positive, got {self.per_hour}")
        return out


@dataclass(frozen=True)
class IntervalRequirement:
    """One interval and channel: the figures behind its requirement."""

    day: dt.date
    minute: int
    channel: str
    contacts: float
    erlang: erlang.Staffing
    simple: int
    own: int
    required: int


def requirements(rows: Iterable[IntervalForecast], spec: StaffingSpec) -> list[IntervalRequirement]:
    """Each interval's agents: Erlang C, the simple rule or the larger, less the shop's own agents."""
    seconds = spec.interval_minutes * 60
    out = []
    for row in rows:
        target = spec.targets.get(row.channel) or erlang.ServiceTarget()
        queue = erlang.required(row.net, seconds, target)
        simple = erlang.simple_required(row.net, seconds, spec.per_hour, target.shrinkage)
        chosen = {"erlang": queue.agents, "simple": simple, "max": max(queue.agents, simple)}[spec.method]
        own = spec.own_agents.get(row.channel, 0) if chosen else 0
        out.append(
            IntervalRequirement(
                row.day, row.minute, row.channel, row.net, queue, simple, own, max(0, chosen - own)
            )
        )
    return out


def skill_demand(rows: Iterable[IntervalRequirement], triage_share: float) -> dict[Key, int]:
    """Agents needed per (day, minute, skill): after-sales split into triage and handling."""
    out: dict[Key, int] = {}
    for row in rows:
        if row.channel == PRESALE:
            out[(row.day, row.minute, PRESALE)] = row.required
        else:
            triage = math.floor(row.required * triage_share + 1e-9)
            out[(row.day, row.minute, TRIAGE)] = triage
            out[(row.day, row.minute, AFTERSALE)] = row.required - triage
    return out


# --- 2. shifts that follow the demand ---------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftRules:
    """Which shifts may be worked: lengths for full- and part-timers, starts on a grid, service hours."""

    full_minutes: tuple[int, ...] = (480,)
    part_minutes: tuple[int, ...] = (240,)
    start_step: int = 60
    interval_minutes: int = 30
    peaks: tuple[tuple[int, int], ...] = ((0, 2), (8, 10), (12, 16), (20, 22))

    def problems(self) -> list[str]:
        out = []
        if not self.full_minutes:
            out.append("at least one full-time shift length is needed")
        for minutes in (*self.full_minutes, *self.part_minutes):
            if not 0 < minutes <= 12 * 60 or minutes % self.interval_minutes:
                out.append(
                    f"a shift of {minutes} min must be whole {self.interval_minutes}-min intervals, "
                    "at most 12 h"
                )
        if self.start_step <= 0 or self.start_step % self.interval_minutes:
            out.append(
                f"shift starts step by a multiple of {self.interval_minutes} min, got {self.start_step}"
            )
        return out


@dataclass(frozen=True)
class Pattern:
    start_minute: int
    minutes: int
    part_time: bool

    def name(self, skill: str) -> str:
        end = (self.start_minute + self.minutes) % DAY_MINUTES
        tail = "/pt" if self.part_time else ""
        return f"{_hhmm(self.start_minute)}-{_hhmm(end) if end else '24:00'} {skill}{tail}"

    def covers(self, interval_minutes: int) -> range:
        """Minutes (from the shift's day's 00:00) of the intervals it covers; past 1440 is the next day."""
        return range(self.start_minute, self.start_minute + self.minutes, interval_minutes)


def accepts(skill: str, phase: str | None, part_time: bool) -> frozenset[str]:
    """The agent skills that may take a shift of ``skill`` on a day of ``phase``."""
    if skill == TRIAGE:
        return frozenset({PRESALE, AFTERSALE})
    if skill == PRESALE:
        # 双十一当日将售后人员分配到售前: after-sales agents take pre-sales on the festival day
        return (
            frozenset({PRESALE, AFTERSALE}) if phase == "festival" and not part_time else frozenset({PRESALE})
        )
    # 大促后…售前、售中部分客服转入支持售后: pre-sales agents support after-sales after the promotion
    return frozenset({AFTERSALE, PRESALE}) if phase == "aftersales" else frozenset({AFTERSALE})


def skills_for(part_time: bool) -> tuple[str, ...]:
    """Part-timers only do pre-sales reception and after-sales triage (seed 000)."""
    return (PRESALE, TRIAGE) if part_time else SKILLS


@dataclass(frozen=True)
class Hours:
    """The minutes of a day the service is open, ``start``–``end`` (end ≤ start runs past midnight)."""

    start: int
    end: int

    def open_minutes(self) -> range:
        length = (self.end - self.start) % DAY_MINUTES or DAY_MINUTES
        return range(self.start, self.start + length)


def open_minutes(hours: Mapping[dt.date, Hours], interval_minutes: int) -> frozenset[int]:
    """Absolute interval starts (minutes since day 1's 00:00) when the service is open; hours running past
    midnight open the next morning's intervals too."""
    out: set[int] = set()
    for day, day_hours in hours.items():
        window = day_hours.open_minutes()
        first = window.start - window.start % interval_minutes
        out.update(_abs(day, m) for m in range(first, window.stop, interval_minutes))
    return frozenset(out)


def patterns_for(day: dt.date, opened: frozenset[int], rules: ShiftRules) -> list[Pattern]:
    """The shifts starting on ``day`` (on the start grid) that lie wholly within open service hours; on a
    round-the-clock campaign a night shift runs on into the next day."""
    out = []
    for part_time, lengths in ((False, rules.full_minutes), (True, rules.part_minutes)):
        for minutes in lengths:
            for start in range(0, DAY_MINUTES, rules.start_step):
                pattern = Pattern(start, minutes, part_time)
                if all(_abs(day, m) in opened for m in pattern.covers(rules.interval_minutes)):
                    out.append(pattern)
    return out


@dataclass
class Cover:
    """How many shifts of each (day, pattern, skill), what stays uncovered, and why (stage 1)."""

    shifts: dict[tuple[dt.date, Pattern, str], int]
    under: dict[Key, int]
    status: str
    seconds: float
    binding: dict[dt.date, list[tuple[str, str]]] = field(default_factory=dict)


def _abs(day: dt.date, minute: int) -> int:
    return day.toordinal() * DAY_MINUTES + minute


def _key_of(absolute: int, skill: str) -> Key:
    return (dt.date.fromordinal(absolute // DAY_MINUTES), absolute % DAY_MINUTES, skill)


@dataclass(frozen=True)
class CoverInput:
    demand: Mapping[Key, int]
    hours: Mapping[dt.date, Hours]
    phases: Mapping[dt.date, str]
    rules: ShiftRules
    #: None: the pool is not a limit (what the plan would need)
    agents: Sequence[RosterAgent] | None
    labour: Rules = field(default_factory=Rules)


def _peak(minute: int, peaks: Sequence[tuple[int, int]]) -> bool:
    hour = (minute % DAY_MINUTES) / 60
    return any(lo <= hour < hi for lo, hi in peaks)


def template_for(
    day: dt.date, pattern: Pattern, skill: str, phase: str | None, rules: ShiftRules
) -> ShiftTemplate:
    return ShiftTemplate(
        pattern.name(skill),
        pattern.start_minute,
        pattern.minutes,
        _peak_overlap(pattern.start_minute, pattern.minutes, rules.peaks),
        skill=skill,
        accepts=accepts(skill, phase, pattern.part_time),
        part_time=pattern.part_time,
    )


def cover(data: CoverInput, *, time_limit: float = 5.0, workers: int = 2) -> Cover:
    """Stage 1: shifts per day, pattern and skill, minimising peak-weighted under-, then over-staffing."""
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    rules = data.rules
    step = rules.interval_minutes
    model = cp_model.CpModel()
    days = sorted(data.hours)
    n: dict[tuple[dt.date, Pattern, str], Any] = {}
    covering: dict[tuple[int, str], list[Any]] = defaultdict(list)
    demanded: dict[tuple[int, str], int] = {
        (_abs(d, m), s): v for (d, m, s), v in data.demand.items() if v > 0
    }
    peak_need = max(demanded.values(), default=0)
    opened = open_minutes(data.hours, step)
    # eligible agents per (day, pattern part, employment, skill), for the variables' bounds
    eligible_count: dict[tuple[dt.date, str, bool, str], int] = {}
    for day in days:
        phase = data.phases.get(day)
        for pattern in patterns_for(day, opened, rules):
            for skill in skills_for(pattern.part_time):
                if not any((_abs(day, m), skill) in demanded for m in pattern.covers(step)):
                    continue
                if data.agents is None:
                    bound = peak_need
                else:
                    part = shift_part("", pattern.start_minute, pattern.minutes)
                    key = (day, part, pattern.part_time, skill)
                    if key not in eligible_count:
                        template = template_for(day, pattern, skill, phase, rules)
                        eligible_count[key] = sum(1 for a in data.agents if a.can_work(day, template))
                    bound = min(eligible_count[key], peak_need)
                if bound <= 0:
                    continue
                var = model.new_int_var(0, bound, "")
                n[(day, pattern, skill)] = var
                for m in pattern.covers(step):
                    covering[(_abs(day, m), skill)].append(var)

    # Over-staffing is cov − need + short wherever short is as small as it can be, which the objective sees
    # to; written so, the objective is linear in the shift counts with no variable per over-staffed
    # interval, and CP-SAT proves the optimum of a 14-day, half-hourly campaign in about a second.
    under: dict[tuple[int, str], Any] = {}
    objective: list[Any] = []
    for key in set(demanded) | set(covering):
        need = demanded.get(key, 0)
        weight = 2 if _peak(key[0], rules.peaks) else 1
        if key in covering:
            objective.append(_OVER_WEIGHT * weight * sum(covering[key]))
        if need:
            short = model.new_int_var(0, need, "")
            model.add(sum(covering.get(key, [])) + short >= need)
            under[key] = short
            objective.append((_UNDER_WEIGHT + _OVER_WEIGHT) * weight * short)

    limits: dict[dt.date, list[tuple[str, str, Any, int]]] = defaultdict(list)
    if data.agents is not None:
        _pool_limits(model, data, days, n, limits)
    model.minimize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.5, time_limit)
    solver.parameters.num_workers = max(1, workers)
    status = solver.solve(model)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Cover(
            {}, {_key_of(a, s): v for (a, s), v in demanded.items()}, name, time.perf_counter() - started
        )
    shifts = {key: solver.value(var) for key, var in n.items() if solver.value(var) > 0}
    short = {_key_of(a, s): solver.value(v) for (a, s), v in under.items() if solver.value(v) > 0}
    binding: dict[dt.date, list[tuple[str, str]]] = {}
    for day, items in limits.items():
        tight = [(rule, detail) for rule, detail, expr, cap in items if solver.value(expr) >= cap]
        if tight:
            binding[day] = tight
    return Cover(shifts, short, name, time.perf_counter() - started, binding)


def _pool_limits(
    model: Any,
    data: CoverInput,
    days: Sequence[dt.date],
    n: Mapping[tuple[dt.date, Pattern, str], Any],
    limits: dict[dt.date, list[tuple[str, str, Any, int]]],
) -> None:
    """What the whole pool can give, counted (individual rules are the roster solver's)."""
    assert data.agents is not None
    labour = data.labour

    def present(agent: RosterAgent, day: dt.date) -> bool:
        return agent.departs_on is None or day < agent.departs_on

    by_day: dict[dt.date, list[tuple[Pattern, str, Any]]] = defaultdict(list)
    for (day, pattern, skill), var in n.items():
        by_day[day].append((pattern, skill, var))
    for day in days:
        items = by_day.get(day, [])
        if not items:
            continue
        phase = data.phases.get(day)
        for part_time in (False, True):
            group = [v for p, _, v in items if p.part_time == part_time]
            people = sum(1 for a in data.agents if a.part_time == part_time and present(a, day))
            if group:
                expr = sum(group)
                model.add(expr <= people)
                kind = "part-time" if part_time else "full-time"
                limits[day].append(
                    (
                        "pool-too-small",
                        f"all {people} {kind} agents present on {day.isoformat()} are rostered",
                        expr,
                        people,
                    )
                )
        for skill in SKILLS:
            group = [v for _, s, v in items if s == skill]
            if not group:
                continue
            who = accepts(skill, phase, False)
            able = sum(1 for a in data.agents if present(a, day) and a.skills and a.skills & who)
            expr = sum(group)
            model.add(expr <= able)
            limits[day].append(
                ("skills", f"only {able} agents present on {day.isoformat()} can do {skill}", expr, able)
            )
        for part in ("morning", "afternoon", "night"):
            group = [v for p, _, v in items if shift_part("", p.start_minute, p.minutes) == part]
            if not group:
                continue
            able = sum(1 for a in data.agents if present(a, day) and part in a.shifts_available)
            expr = sum(group)
            model.add(expr <= able)
            limits[day].append(
                ("availability", f"only {able} agents work {part} shifts on {day.isoformat()}", expr, able)
            )
    # weekly hours and consecutive days, over the whole pool
    weeks: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for (day, pattern, _), var in n.items():
        weeks[day.isocalendar()[:2]].append(pattern.minutes * var)
    for week, terms in weeks.items():
        week_days = [d for d in days if d.isocalendar()[:2] == week]
        cap = sum(
            min(labour.max_weekly_minutes, sum(1 for d in week_days if present(a, d)) * 12 * 60)
            for a in data.agents
        )
        expr = sum(terms)
        model.add(expr <= cap)
        detail = f"the pool's {labour.max_weekly_minutes / 60:g} h a week each are used up in the week of "
        for day in week_days:
            limits[day].append(("max-weekly-hours", detail + week_days[0].isoformat(), expr, cap))
    span = labour.max_consecutive_days + 1
    for i in range(max(0, len(days) - span + 1)):
        run = days[i : i + span]
        if (run[-1] - run[0]).days != span - 1:
            continue
        terms = [v for (d, _, _), v in n.items() if d in run]
        if terms:
            model.add(sum(terms) <= labour.max_consecutive_days * len(data.agents))


def split_open(
    demand: Mapping[Key, int], hours: Mapping[dt.date, Hours], interval_minutes: int
) -> tuple[dict[Key, int], dict[Key, int]]:
    """(within the service hours, outside them): consultations outside wait for the opening, so only
    the first are staffed; the second are reported, to widen a phase's hours if they matter."""
    opened = open_minutes(hours, interval_minutes)
    inside: dict[Key, int] = {}
    outside: dict[Key, int] = {}
    for key, value in demand.items():
        (inside if _abs(key[0], key[1]) in opened else outside)[key] = value
    return inside, outside


def greedy_cover(data: CoverInput) -> Cover:
    """The baseline: walk each day's intervals in time order and, where the demand is not met, open the
    longest full-time shift that starts there (or the latest that still covers it) until it is."""
    started = time.perf_counter()
    rules = data.rules
    step = rules.interval_minutes
    shifts: dict[tuple[dt.date, Pattern, str], int] = defaultdict(int)
    covered: dict[tuple[int, str], int] = defaultdict(int)
    opened = open_minutes(data.hours, step)
    for day in sorted(data.hours):
        full = [p for p in patterns_for(day, opened, rules) if not p.part_time]
        for skill in SKILLS:
            for minute in range(0, DAY_MINUTES, step):
                key = (_abs(day, minute), skill)
                need = data.demand.get((day, minute, skill), 0)
                options = [p for p in full if p.start_minute <= minute < p.start_minute + p.minutes]
                if not options:
                    continue
                best = max(options, key=lambda p: (p.start_minute, p.minutes))
                while covered[key] < need:
                    shifts[(day, best, skill)] += 1
                    for m in best.covers(step):
                        covered[(_abs(day, m), skill)] += 1
    under = {
        k: v - covered[(_abs(k[0], k[1]), k[2])]
        for k, v in data.demand.items()
        if v > covered[(_abs(k[0], k[1]), k[2])]
    }
    return Cover(dict(shifts), under, "GREEDY", time.perf_counter() - started)


# --- 3. the roster --------------------------------------------------------------------------------------


def roster_problem(
    chosen: Cover,
    agents: Sequence[RosterAgent],
    phases: Mapping[dt.date, str],
    rules: ShiftRules,
    labour: Rules,
    fixed: Sequence[Assignment] = (),
) -> RosterProblem:
    """The chosen shifts as the roster solver's slots: one per (day, pattern, skill), needing the count."""
    slots = [
        Slot(day, template_for(day, pattern, skill, phases.get(day), rules), count)
        for (day, pattern, skill), count in sorted(
            chosen.shifts.items(),
            key=lambda kv: (kv[0][0], kv[0][1].start_minute, kv[0][1].minutes, kv[0][2]),
        )
    ]
    return RosterProblem(agents, slots, fixed, labour)


def repair(
    problem: RosterProblem,
    assignments: Sequence[Assignment],
    demand: Mapping[Key, int],
    data: CoverInput,
) -> tuple[list[Assignment], list[Slot]]:
    """Fill what the roster left short with agents still free that day, shift by shift.

    The shift counts are chosen for the pool as a whole; an agent's rest or streak can leave one of them
    unstaffed while a free agent could work a neighbouring start. Peak intervals first, each gap takes the
    allowed shift covering most of the short half-hours that an eligible agent can work within every
    hard rule (fewest hours first). Returns the assignments and the slots restated to match: a slot
    whose half-hours are now covered needs what it has, a new shift gets a slot of its own.
    """
    step = data.rules.interval_minutes
    labour = problem.rules
    chosen = list(assignments)
    schedule: dict[str, list[Assignment]] = defaultdict(list)
    for item in (*problem.fixed, *chosen):
        schedule[item.agent_id].append(item)
    minutes: dict[str, int] = defaultdict(int)
    for item in chosen:
        minutes[item.agent_id] += item.minutes
    have: dict[tuple[int, str], int] = defaultdict(int)
    for item in chosen:
        for m in range(item.start_minute, item.start_minute + item.minutes, step):
            have[(_abs(item.day, m), item.skill or "")] += 1

    def short_at(key: tuple[int, str]) -> int:
        day, minute, skill = _key_of(*key)
        return max(0, demand.get((day, minute, skill), 0) - have[key])

    opened = open_minutes(data.hours, step)
    gaps = sorted(
        {(_abs(d, m), s) for (d, m, s), v in demand.items() if v and short_at((_abs(d, m), s))},
        key=lambda k: (not _peak(k[0], data.rules.peaks), k[0]),
    )
    tried: set[tuple[int, str]] = set()
    #: the shifts repair opened that the chosen counts did not have, for their slots
    opened_shifts: dict[tuple[dt.date, str], ShiftTemplate] = {}
    for key in gaps:
        while short_at(key) and key not in tried:
            day, _, skill = _key_of(*key)
            best: tuple[int, Assignment, ShiftTemplate] | None = None
            # fewest hours first; hours change only when a shift is added, so rank once per added shift
            ranked = sorted(problem.agents, key=lambda a: (a.reserve, minutes[a.agent_id], a.order))
            for start_day in (day, day - dt.timedelta(days=1)):
                if start_day not in data.hours:
                    continue
                phase = data.phases.get(start_day)
                for pattern in patterns_for(start_day, opened, data.rules):
                    if skill not in skills_for(pattern.part_time):
                        continue
                    covered = [_abs(start_day, m) for m in pattern.covers(step)]
                    if key[0] not in covered:
                        continue
                    gain = sum(1 for a in covered if short_at((a, skill)))
                    template = template_for(start_day, pattern, skill, phase, data.rules)
                    for agent in ranked:
                        if not agent.can_work(start_day, template):
                            continue
                        new = Assignment.of(agent.agent_id, start_day, template)
                        if any(a.day == start_day for a in schedule[agent.agent_id]):
                            continue
                        if agent_violations(agent, [*schedule[agent.agent_id], new], labour):
                            continue
                        if best is None or gain > best[0]:
                            best = (gain, new, template)
                        break
            if best is None:
                tried.add(key)
                break
            _, new, template = best
            opened_shifts.setdefault((new.day, new.shift), template)
            chosen.append(new)
            schedule[new.agent_id].append(new)
            minutes[new.agent_id] += new.minutes
            for m in range(new.start_minute, new.start_minute + new.minutes, step):
                have[(_abs(new.day, m), skill)] += 1
    return chosen, _restated_slots(problem, chosen, demand, have, opened_shifts, step)


def _restated_slots(
    problem: RosterProblem,
    chosen: Sequence[Assignment],
    demand: Mapping[Key, int],
    have: Mapping[tuple[int, str], int],
    opened_shifts: Mapping[tuple[dt.date, str], ShiftTemplate],
    step: int,
) -> list[Slot]:
    count: dict[tuple[dt.date, str], int] = defaultdict(int)
    for item in chosen:
        count[(item.day, item.shift)] += 1
    slots = []
    for slot in problem.slots:
        key = (slot.day, slot.shift.name)
        still_short = any(
            demand.get(_key_of(_abs(slot.day, m), slot.shift.skill or ""), 0)
            > have.get((_abs(slot.day, m), slot.shift.skill or ""), 0)
            for m in range(slot.shift.start_minute, slot.shift.end_minute, step)
        )
        # a shift whose half-hours are still short keeps its headcount (or what repair put on it, if more)
        slots.append(Slot(slot.day, slot.shift, max(slot.needed, count[key]) if still_short else count[key]))
    known = {(slot.day, slot.shift.name) for slot in problem.slots}
    for (day, name), template in opened_shifts.items():
        if (day, name) not in known:
            slots.append(Slot(day, template, count[(day, name)]))
    return slots


def headcount(chosen: Cover, labour: Rules) -> int:
    """Agents the chosen shifts need at least: one shift a day each, and the weekly hours."""
    per_day: dict[dt.date, int] = defaultdict(int)
    per_week: dict[tuple[int, int], int] = defaultdict(int)
    for (day, pattern, _), count in chosen.shifts.items():
        per_day[day] += count
        per_week[day.isocalendar()[:2]] += count * pattern.minutes
    by_days = max(per_day.values(), default=0)
    by_weeks = max((math.ceil(m / labour.max_weekly_minutes) for m in per_week.values()), default=0)
    return max(by_days, by_weeks)


# --- 4. coverage and the reasons for gaps ---------------------------------------------------------------


@dataclass(frozen=True)
class IntervalCoverage:
    day: dt.date
    minute: int
    skill: str
    required: int
    scheduled: int
    reasons: tuple[str, ...] = ()
    detail: str | None = None

    @property
    def short(self) -> int:
        return max(0, self.required - self.scheduled)

    @property
    def over(self) -> int:
        return max(0, self.scheduled - self.required)


def coverage(
    demand: Mapping[Key, int],
    assignments: Iterable[Assignment],
    *,
    interval_minutes: int,
    stage_one: Cover | None = None,
    gaps: Iterable[Gap] = (),
    slots: Iterable[Slot] = (),
) -> list[IntervalCoverage]:
    """Required vs scheduled per interval and skill; a short interval says which rule keeps it short."""
    scheduled: dict[tuple[int, str], int] = defaultdict(int)
    for item in assignments:
        if item.skill is None:
            continue
        for m in range(item.start_minute, item.start_minute + item.minutes, interval_minutes):
            scheduled[(_abs(item.day, m), item.skill)] += 1
    slot_of = {(s.day, s.shift.name): s for s in slots}
    gap_reasons: dict[tuple[int, str], list[Gap]] = defaultdict(list)
    for gap in gaps:
        slot = slot_of.get((gap.day, gap.shift))
        if slot is None or slot.shift.skill is None:
            continue
        for m in range(slot.shift.start_minute, slot.shift.end_minute, interval_minutes):
            gap_reasons[(_abs(gap.day, m), slot.shift.skill)].append(gap)
    out = []
    for (day, minute, skill), need in sorted(demand.items()):
        key = (_abs(day, minute), skill)
        have = scheduled.get(key, 0)
        reasons: list[str] = []
        detail: str | None = None
        if need > have:
            if stage_one is not None and stage_one.under.get((day, minute, skill)):
                for rule, text in stage_one.binding.get(day, []):
                    if rule not in reasons:
                        reasons.append(rule)
                        detail = detail or text
                if not reasons:
                    reasons.append("shift-patterns")
                    detail = "no allowed shift start and length reaches this interval"
            for gap in gap_reasons.get(key, []):
                if gap.rule not in reasons:
                    reasons.append(gap.rule)
                    detail = detail or gap.detail
        out.append(IntervalCoverage(day, minute, skill, need, have, tuple(reasons), detail))
    # scheduled where nothing was required (over-staffing outside the demand)
    for (absolute, skill), have in scheduled.items():
        key = _key_of(absolute, skill)
        if key not in demand:
            out.append(IntervalCoverage(key[0], key[1], skill, 0, have))
    out.sort(key=lambda c: (c.day, c.minute, c.skill))
    return out


@dataclass(frozen=True)
class CoverageSummary:
    required: int
    scheduled: int
    short: int
    over: int
    short_intervals: int
    peak_short: int

    @property
    def coverage_pct(self) -> float:
        return 100.0 * (self.required - self.short) / self.required if self.required else 100.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "required_agent_intervals": self.required,
            "scheduled_agent_intervals": self.scheduled,
            "short": self.short,
            "over": self.over,
            "short_intervals": self.short_intervals,
            "peak_short": self.peak_short,
            "coverage_pct": round(self.coverage_pct, 2),
        }


def summarise(rows: Iterable[IntervalCoverage], peaks: Sequence[tuple[int, int]]) -> CoverageSummary:
    rows = list(rows)
    return CoverageSummary(
        required=sum(r.required for r in rows),
        scheduled=sum(r.scheduled for r in rows),
        short=sum(r.short for r in rows),
        over=sum(r.over for r in rows),
        short_intervals=sum(1 for r in rows if r.short),
        peak_short=sum(r.short for r in rows if _peak(r.minute, peaks)),
    )
