"""Benchmark (not a test): the workforce-planning chain (人力规划) of the scheduling service — forecast →
agents per half-hour → shift counts → roster — against a greedy chain and against pyworkforce's
``MinAbsDifference``, all on the same input in the same run.

The input (``--seed``): a 14-day Double-11 campaign at half-hour intervals, round the clock (00:00–24:00
every day): warm-up (9 days), festival day, after-sales (4 days), starting on a Monday so the weekly-hours
rule sees two whole ISO weeks. Last year's history is channel ``all`` daily totals spread by
``forecasting.default_profile`` with ±10 % noise per half-hour: ``--daily`` consultations on a normal day,
rising 30 % through the warm-up, ``--festival`` on the festival day and an after-sales tail; ×1.1 growth,
the bot takes 20 % of pre-sales. The service targets, shift lengths and hard rules are the service's
defaults (``SchedulingSettings``: 80 % in 20 s, 85 % occupancy, 30 % shrinkage, 3 chats at once, 8 h
full-time and 4 h part-time shifts starting on the hour, 11 h rest, 6 days in a row, 44 h a week); with
the default volumes the plan needs about 230–260 of the pool's 300 agents on the festival day (its
``headcount``; far fewer on the other days), so the pool binds there and the reserve is called up. The pool:
``--agents`` agents, a third of them reserve, about 15 % part-timers, skills pre-sales 50 %, after-sales
30 %, both 20 % (part-timers: pre-sales 70 %, after-sales 30 %), each available for one to three parts
of the day, about 2 % leaving mid-window (as in bench/roster.py).

Three chains, each measured on that input:

- **product**: what ``planning.plan_campaign`` computes, in its order, without its database work:
  ``forecast`` → ``requirements`` → ``skill_demand`` → ``split_open`` → ``cover`` (CP-SAT, 25 % of
  ``--time-limit``) → ``roster_problem`` → ``solve`` (what is left of ``--time-limit``) → ``repair`` →
  ``coverage`` → ``summarise`` → ``headcount`` (plus the pool-free ``cover`` when short) and the greedy
  comparison the plan stores. Its wall time is the timed figure (target ≤ 30 s on this machine's cores).
- **greedy**: the plan's own baseline on the same demand: ``workforce.greedy_cover`` (full-time shifts
  only, opened interval by interval where short) then ``rostering.greedy`` (fewest hours first, active
  before reserve), no repair.
- **pyworkforce**: ``pyworkforce.scheduling.MinAbsDifference`` chooses the shift counts instead of
  ``cover``, one skill at a time, on the same per-day, per-half-hour requirement (after the triage split),
  with the same full-time 8 h shifts starting every hour — within the day only (00:00–08:00 … 16:00–24:00):
  its shifts cannot run past midnight, which costs nothing here since the 00:00 start covers the small
  hours. It gets ``cover``'s time budget (split over the three skills) and the pool size as its
  concurrency caps; it knows nothing else of the pool. Its counts then go through the product's own
  stage 2 — ``roster_problem`` → ``rostering.solve`` with the same time budget the product's roster had →
  ``repair`` — so the comparison isolates the choice of shift counts. Its figures before ``repair``
  (pyworkforce's counts rostered as they are) are printed too. (Offering it the 4 h part-time shifts as
  well did worse at seed 7 — 99.3 % covered against 99.7 %, 67 % against 82 % before ``repair``: it
  cannot know how few part-timers there are — so it gets the full-time ones, like ``greedy_cover``.)

Figures per chain: coverage (agent-half-hours required and met, per skill), peak-hour shortfall,
over-staffing, and fairness — the hours spread (max − min hours of the active full-time agents who stay
through the window, ``rostering.assess``). Hard rules are checked independently on every roster
(``check_roster``); the exit status is non-zero only when the product's roster breaks one or the bench
itself fails (an exception, or pyworkforce finding no answer). Nothing uses a database, broker or folder,
so there is nothing to clean up.

    python bench/planning.py [--agents 300] [--days 14] [--daily 12000] [--festival 40000]
                             [--time-limit 20] [--workers N] [--seed 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyworkforce.scheduling import MinAbsDifference

from bench._support import Result, report
from services.scheduling import erlang, forecasting, workforce
from services.scheduling.config import SchedulingSettings
from services.scheduling.planning import _COVER_SHARE, _NEED_SHARE, DEFAULT_AHT, INTERVAL_MINUTES
from services.scheduling.rostering import (
    DAY_MINUTES,
    SHIFT_NAMES,
    Assignment,
    Quality,
    RosterAgent,
    RosterProblem,
    Rules,
    assess,
    check_roster,
    greedy,
    solve,
)

TARGET_SECONDS = 30.0
#: a Monday: two whole ISO weeks, so the 44 h weekly limit applies to whole weeks as in the service
START = dt.date(2026, 11, 2)
PERIODS = DAY_MINUTES // INTERVAL_MINUTES


@dataclass(frozen=True)
class Scenario:
    """Everything ``plan_campaign`` would load from the database, built in memory."""

    spec: forecasting.CampaignForecastSpec
    history: dict[tuple[dt.date, int, str], float]
    staffing: workforce.StaffingSpec
    shifts: workforce.ShiftRules
    hours: dict[dt.date, workforce.Hours]
    phases: dict[dt.date, str]
    agents: list[RosterAgent]
    labour: Rules


@dataclass(frozen=True)
class Outcome:
    """One chain's answer and its figures."""

    name: str
    seconds: float
    #: shifts the shift-count step asked for, and the share of demand those counts would meet if all staffed
    shifts: int
    counts_pct: float
    assignments: list[Assignment]
    summary: workforce.CoverageSummary
    quality: Quality
    note: str


def build(agents: int, days: int, daily: float, festival: float, seed: int) -> Scenario:
    """The campaign, last year's history, the service's default targets and rules, and the pool."""
    rng = random.Random(seed)
    cfg = SchedulingSettings()
    dates = [START + dt.timedelta(days=d) for d in range(days)]
    # the festival day where Double 11 falls in the default 14 days (day 10); a shorter run keeps the shape
    fest_index = min(days - 1, days * 9 // 14)
    fest = dates[fest_index]
    warmup, after = dates[:fest_index], dates[fest_index + 1 :]
    phases = [
        forecasting.Phase(name, group[0], group[-1])
        for name, group in (("warmup", warmup), ("festival", [fest]), ("aftersales", after))
        if group
    ]
    spec = forecasting.CampaignForecastSpec(
        festival_day=fest,
        last_year_festival_day=fest.replace(year=fest.year - 1),
        phases=phases,
        growth=1.1,
        bot_share={forecasting.PRESALE: 0.2},
        interval_minutes=INTERVAL_MINUTES,
    )
    profile = forecasting.default_profile(INTERVAL_MINUTES)
    history: dict[tuple[dt.date, int, str], float] = {}
    for day in dates:
        offset = (day - fest).days
        if offset < 0:  # warm-up: pre-orders and deposits build up towards the eve (+30 %)
            total = daily * (1 + 0.3 * (len(warmup) + offset + 1) / len(warmup))
        elif offset == 0:
            total = festival
        else:  # after-sales: refunds and delivery questions, fading back to a normal day
            total = daily * max(1.0, 1.5 - 0.1 * offset)
        total *= rng.uniform(0.95, 1.05)
        for minute, value in forecasting.spread_day(total, profile, INTERVAL_MINUTES).items():
            # per-half-hour noise: a real day is not the profile exactly, which gives the solver ragged edges
            history[(day - spec.offset, minute, forecasting.ALL)] = value * rng.uniform(0.9, 1.1)

    # the service's defaults (plan_inputs with a campaign that names no service target or shifts)
    targets = {
        channel: erlang.ServiceTarget(
            level=cfg.service_level,
            threshold_seconds=cfg.answer_seconds,
            aht_seconds=DEFAULT_AHT[channel],
            max_occupancy=cfg.max_occupancy,
            shrinkage=cfg.shrinkage,
            concurrency=cfg.chat_concurrency,
        )
        for channel in forecasting.CHANNELS
    }
    staffing = workforce.StaffingSpec(
        targets=targets,
        per_hour=float(cfg.receptions_per_hour),
        triage_share=cfg.triage_share,
        interval_minutes=INTERVAL_MINUTES,
    )
    shifts = workforce.ShiftRules(
        full_minutes=(round(cfg.max_shift_hours * 60),),
        part_minutes=(240,),
        start_step=60,
        interval_minutes=INTERVAL_MINUTES,
        peaks=cfg.peaks,
    )
    hours = {day: workforce.Hours(0, 0) for day in dates}  # round the clock through the campaign
    phase_of = {day: phase.name for phase in phases for day in phase.days()}

    pool: list[RosterAgent] = []
    for i in range(agents):
        part_time = rng.random() < 0.15
        pick = rng.random()
        if part_time:  # part-timers do pre-sales reception or after-sales triage (either skill may triage)
            skills = {forecasting.PRESALE} if pick < 0.7 else {forecasting.AFTERSALE}
        elif pick < 0.5:
            skills = {forecasting.PRESALE}
        elif pick < 0.8:
            skills = {forecasting.AFTERSALE}
        else:
            skills = {forecasting.PRESALE, forecasting.AFTERSALE}
        count = rng.choices([1, 2, 3], weights=[0.15, 0.35, 0.5])[0]
        leaves = None
        if rng.random() < 0.02:  # min(): a short --days run still has a valid range
            leaves = START + dt.timedelta(days=rng.randint(min(3, days - 1), days - 1))
        pool.append(
            RosterAgent(
                f"agent-{i:03d}",
                frozenset(rng.sample(SHIFT_NAMES, count)),
                reserve=i >= agents * 2 // 3,
                departs_on=leaves,
                order=i,
                skills=frozenset(skills),
                part_time=part_time,
            )
        )
    return Scenario(spec, history, staffing, shifts, hours, phase_of, pool, cfg.rules)


def counts_pct(chosen: workforce.Cover, demand: Mapping[workforce.Key, int]) -> float:
    """The share of the demand the shift counts alone meet (every shift staffed): stage 1's own ceiling."""
    have: dict[workforce.Key, int] = defaultdict(int)
    for (day, pattern, skill), count in chosen.shifts.items():
        for minute in pattern.covers(INTERVAL_MINUTES):
            # a night shift's minutes past 1440 fall on the next day
            key = (day + dt.timedelta(days=minute // DAY_MINUTES), minute % DAY_MINUTES, skill)
            have[key] += count
    required = sum(demand.values())
    short = sum(max(0, need - have[key]) for key, need in demand.items())
    return 100.0 * (required - short) / required if required else 100.0


def outcome(
    name: str,
    started: float,
    chosen: workforce.Cover,
    demand: Mapping[workforce.Key, int],
    problem: RosterProblem,
    assignments: list[Assignment],
    sc: Scenario,
    rows: Sequence[workforce.IntervalCoverage],
    note: str,
) -> Outcome:
    summary = workforce.summarise(rows, sc.shifts.peaks)
    quality = assess(problem, assignments)  # plan_campaign assesses its roster too: inside the timing
    seconds = time.perf_counter() - started
    return Outcome(
        name,
        seconds,
        sum(chosen.shifts.values()),
        counts_pct(chosen, demand),
        assignments,
        summary,
        quality,
        note,
    )


def broken_rules(sc: Scenario, result: Outcome) -> int:
    """Hard-rule violations, found independently of the solver's bookkeeping (``check_roster``).

    Not ``Quality.violations``: that also counts a slot staffed beyond its need, which ``repair``'s restated
    slots can show when it adds an agent to a shift that stays short elsewhere: over-staffing, not a
    broken rule (reported as such)."""
    return len(check_roster(sc.agents, result.assignments, sc.labour))


def greedy_chain(sc: Scenario, demand: Mapping[workforce.Key, int]) -> Outcome:
    """``planning._greedy_chain``: greedy shift counts, then the greedy roster, on the plan's demand."""
    started = time.perf_counter()
    data = workforce.CoverInput(demand, sc.hours, sc.phases, sc.shifts, sc.agents, sc.labour)
    chosen = workforce.greedy_cover(data)
    problem = workforce.roster_problem(chosen, sc.agents, sc.phases, sc.shifts, sc.labour)
    result = greedy(problem)
    rows = workforce.coverage(demand, result.assignments, interval_minutes=INTERVAL_MINUTES)
    return outcome("greedy", started, chosen, demand, problem, result.assignments, sc, rows, "greedy")


@dataclass(frozen=True)
class Product:
    """The product chain's answer, the greedy comparison it ran, and what the pyworkforce chain reuses."""

    outcome: Outcome
    greedy: Outcome
    demand: dict[workforce.Key, int]
    cover_input: workforce.CoverInput
    #: the time limits the product's two solver steps had, given to pyworkforce's chain as well
    cover_budget: float
    roster_budget: float
    required: int


def product_chain(sc: Scenario, limit: float, workers: int, seed: int) -> Product:
    """``planning.plan_campaign`` between loading its inputs and storing its answer, call for call."""
    started = time.perf_counter()
    rows = forecasting.forecast(sc.spec, sc.history)
    needs = workforce.requirements(rows, sc.staffing)
    demand, _closed = workforce.split_open(
        workforce.skill_demand(needs, sc.staffing.triage_share), sc.hours, INTERVAL_MINUTES
    )
    cover_input = workforce.CoverInput(demand, sc.hours, sc.phases, sc.shifts, sc.agents, sc.labour)
    chosen = workforce.cover(cover_input, time_limit=limit * _COVER_SHARE, workers=workers)
    problem = workforce.roster_problem(chosen, sc.agents, sc.phases, sc.shifts, sc.labour)
    # as plan_campaign: the roster gets whatever the whole limit has left, at least a second
    left = max(1.0, limit - (time.perf_counter() - started))
    # --seed fixes CP-SAT's search too (the service leaves it at 0), so a run can be repeated
    result = solve(problem, time_limit=left, workers=workers, seed=seed)
    assignments, slots = workforce.repair(problem, result.assignments, demand, cover_input)
    problem = RosterProblem(problem.agents, slots, problem.fixed, problem.rules)
    cover_rows = workforce.coverage(
        demand,
        assignments,
        interval_minutes=INTERVAL_MINUTES,
        stage_one=chosen,
        gaps=result.gaps,
        slots=problem.slots,
    )
    short = workforce.summarise(cover_rows, sc.shifts.peaks).short
    required = workforce.headcount(chosen, sc.labour)
    if short:  # the plan states what the pool would need: the pool-free counts, only when it falls short
        unlimited = workforce.cover(
            workforce.CoverInput(demand, sc.hours, sc.phases, sc.shifts, None, sc.labour),
            time_limit=limit * _NEED_SHARE,
            workers=workers,
        )
        required = max(required, workforce.headcount(unlimited, sc.labour))
    baseline = greedy_chain(sc, demand)  # the plan stores this comparison, so its time is the plan's too
    detail = (
        f"cover {chosen.status} {chosen.seconds:.1f} s; roster kept {result.method} (CP-SAT {result.status}, "
        f"{result.solve_seconds:.1f} s of {left:.1f} s, {result.missing} left open); repair added "
        f"{len(assignments) - len(result.assignments)} shifts"
    )
    product = outcome("product", started, chosen, demand, problem, assignments, sc, cover_rows, detail)
    return Product(product, baseline, demand, cover_input, limit * _COVER_SHARE, left, required)


def pyworkforce_counts(
    sc: Scenario, demand: Mapping[workforce.Key, int], budget: float, workers: int
) -> workforce.Cover:
    """MinAbsDifference's shift counts per skill and day, as a ``Cover`` the roster step takes."""
    started = time.perf_counter()
    days = sorted(sc.hours)
    # full-time shifts on the hour that end by midnight: MinAbsDifference has no shift crossing the day
    patterns = {
        f"{start // 60:02d}:00+{minutes // 60}h": workforce.Pattern(start, minutes, False)
        for minutes in sc.shifts.full_minutes
        for start in range(0, DAY_MINUTES - minutes + 1, sc.shifts.start_step)
    }
    coverage_rows = {
        name: [
            int(p.start_minute <= i * INTERVAL_MINUTES < p.start_minute + p.minutes) for i in range(PERIODS)
        ]
        for name, p in patterns.items()
    }
    shifts: dict[tuple[dt.date, workforce.Pattern, str], int] = {}
    statuses: list[str] = []
    for skill in workforce.SKILLS:
        required = [
            [demand.get((day, i * INTERVAL_MINUTES, skill), 0) for i in range(PERIODS)] for day in days
        ]
        if not any(map(any, required)):
            continue
        scheduler = MinAbsDifference(
            num_days=len(days),
            periods=PERIODS,
            shifts_coverage=coverage_rows,
            required_resources=required,
            # the only pool figure it takes: no more agents on duty, or on one shift, than the pool has
            max_period_concurrency=len(sc.agents),
            max_shift_concurrency=len(sc.agents),
            max_search_time=budget / len(workforce.SKILLS),
            num_search_workers=workers,
        )
        # pyworkforce 0.5 stores num_search_workers on the solver object, not in its parameters, so CP-SAT
        # would use every core: set it where CP-SAT reads it, for the same workers as the product
        scheduler.solver.parameters.num_workers = workers
        answer = scheduler.solve()
        if answer["status"] not in ("OPTIMAL", "FEASIBLE"):
            raise RuntimeError(f"pyworkforce found no shift counts for {skill}: {answer['status']}")
        statuses.append(f"{skill} {answer['status']} cost {answer['cost']:g}")
        for item in answer["resources_shifts"]:
            if item["resources"] > 0:
                shifts[(days[item["day"]], patterns[item["shift"]], skill)] = item["resources"]
    return workforce.Cover(shifts, {}, "; ".join(statuses), time.perf_counter() - started)


def pyworkforce_chain(
    sc: Scenario, product: Product, workers: int, seed: int
) -> tuple[Outcome, workforce.CoverageSummary]:
    """MinAbsDifference's counts through the product's stage 2; also the figures before ``repair``."""
    started = time.perf_counter()
    demand = product.demand
    chosen = pyworkforce_counts(sc, demand, product.cover_budget, workers)
    problem = workforce.roster_problem(chosen, sc.agents, sc.phases, sc.shifts, sc.labour)
    result = solve(problem, time_limit=product.roster_budget, workers=workers, seed=seed)
    as_is = workforce.summarise(
        workforce.coverage(demand, result.assignments, interval_minutes=INTERVAL_MINUTES), sc.shifts.peaks
    )
    assignments, slots = workforce.repair(problem, result.assignments, demand, product.cover_input)
    problem = RosterProblem(problem.agents, slots, problem.fixed, problem.rules)
    rows = workforce.coverage(demand, assignments, interval_minutes=INTERVAL_MINUTES)
    note = (
        f"MinAbsDifference {chosen.seconds:.1f} s ({chosen.status}); roster kept {result.method} "
        f"(CP-SAT {result.status}, {result.solve_seconds:.1f} s); repair added "
        f"{len(assignments) - len(result.assignments)} shifts"
    )
    return outcome("pyworkforce", started, chosen, demand, problem, assignments, sc, rows, note), as_is


def show(result: Outcome, broken: int) -> None:
    """One chain's figures on two lines."""
    s, q = result.summary, result.quality
    print(
        f"{result.name:<11} {result.seconds:>6.2f} s  shifts {result.shifts:>5} (counts meet "
        f"{result.counts_pct:6.2f} %)  coverage {s.coverage_pct:6.2f} %  short {s.short:>5}  peak short "
        f"{s.peak_short:>5}  over {s.over:>5}  hours spread {q.hours_spread:5.1f} h  night spread "
        f"{q.night_spread:>2}  reserve shifts {q.reserve_shifts:>4}  violations {broken}"
    )
    print(f"{'':<13}{result.note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--daily", type=float, default=12_000, help="last year's consultations, normal day")
    parser.add_argument("--festival", type=float, default=40_000, help="last year's festival-day total")
    parser.add_argument(
        "--time-limit", type=float, default=20.0, help="the plan's solver time: 25 %% counts, the rest roster"
    )
    parser.add_argument("--workers", type=int, default=SchedulingSettings.solver_workers)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.days < 1 or args.agents < 1:
        parser.error("--days and --agents must be at least 1")

    sc = build(args.agents, args.days, args.daily, args.festival, args.seed)
    load = "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    reserve = sum(1 for a in sc.agents if a.reserve)
    part = sum(1 for a in sc.agents if a.part_time)
    leaving = sum(1 for a in sc.agents if a.departs_on)
    print(
        f"planning benchmark: {args.agents} agents ({reserve} reserve, {part} part-time, {leaving} leaving)"
        f" × {args.days} days × {PERIODS} half-hours, phases "
        + ", ".join(f"{p.name} {p.start:%m-%d}..{p.end:%m-%d}" for p in sc.spec.phases)
        + f"; time limit {args.time_limit:g} s, {args.workers} workers, {os.cpu_count()} cores, {load}"
    )

    product = product_chain(sc, args.time_limit, args.workers, args.seed)
    mine, base = product.outcome, product.greedy
    need = max(product.demand.values(), default=0)
    print(
        f"demand: {mine.summary.required:,} agent-half-hours, at most {need} agents of one skill at once; "
        f"the plan needs {product.required} agents on its busiest day (headcount)"
    )
    pwf, as_is = pyworkforce_chain(sc, product, args.workers, args.seed)
    broken = {o.name: broken_rules(sc, o) for o in (mine, base, pwf)}
    for result in (mine, base, pwf):
        show(result, broken[result.name])
    print(
        f"{'':<13}pyworkforce's counts rostered as they are (before repair): coverage "
        f"{as_is.coverage_pct:.2f} %, peak short {as_is.peak_short}, over {as_is.over}"
    )

    ok_rules = broken["product"] == 0
    size = f"{args.agents}×{args.days}d×{PERIODS}"
    report(
        Result(
            bench="planning",
            measure=f"planning chain forecast → roster {size}",
            product=mine.seconds,
            unit="s",
            baseline=base.seconds,
            target=f"≤ {TARGET_SECONDS:g} s, 0 violations",
            met=mine.seconds <= TARGET_SECONDS and ok_rules,
            higher_is_better=False,
            detail=(
                f"baseline = greedy_cover + greedy roster on the same demand (inside the plan's time too); "
                f"violations {broken['product']}; {mine.note}; {args.workers} workers on {os.cpu_count()} "
                f"cores; {load}"
            ),
        )
    )
    for other, label in ((base, "greedy chain"), (pwf, "pyworkforce MinAbsDifference")):
        report(
            Result(
                bench="planning",
                measure=f"planning coverage vs {label}",
                product=mine.summary.coverage_pct,
                unit="%",
                baseline=other.summary.coverage_pct,
                target=f"≥ {label}",
                met=mine.summary.coverage_pct >= other.summary.coverage_pct,
                detail=(
                    f"agent-half-hours short {mine.summary.short} vs {other.summary.short}, over-staffed "
                    f"{mine.summary.over} vs {other.summary.over}; baseline violations {broken[other.name]}"
                ),
            )
        )
        report(
            Result(
                bench="planning",
                measure=f"planning peak-hour short vs {label}",
                product=float(mine.summary.peak_short),
                unit="agent-½h",
                baseline=float(other.summary.peak_short),
                target=f"≤ {label}",
                met=mine.summary.peak_short <= other.summary.peak_short,
                higher_is_better=False,
                detail=f"short intervals {mine.summary.short_intervals} vs {other.summary.short_intervals}",
            )
        )
        report(
            Result(
                bench="planning",
                measure=f"planning hours spread vs {label}",
                product=mine.quality.hours_spread,
                unit="h",
                baseline=other.quality.hours_spread,
                target=f"≤ {label} at coverage ≥ it",
                # coverage first: a fuller roster may be less even; at equal coverage it must be as even
                met=mine.summary.coverage_pct > other.summary.coverage_pct
                or (
                    mine.summary.coverage_pct == other.summary.coverage_pct
                    and mine.quality.hours_spread <= other.quality.hours_spread
                ),
                higher_is_better=False,
                detail=(
                    f"night-shift spread {mine.quality.night_spread} vs {other.quality.night_spread}; "
                    f"reserve shifts {mine.quality.reserve_shifts} vs {other.quality.reserve_shifts}"
                ),
            )
        )
    sys.exit(0 if ok_rules else 1)


if __name__ == "__main__":
    main()
