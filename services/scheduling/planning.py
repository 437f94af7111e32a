"""Workforce planning use cases (人力规划): history in, campaigns, plans (forecast → agents per half-hour →
a roster that follows them), publishing (``plan.published`` → recruitment asks for the gap), site plans.

The rules are pure in ``forecasting``, ``erlang``, ``workforce`` and ``siteplan``; this module loads their
inputs, stores what they answer and announces it. A plan's roster is an ordinary roster version (reason
``plan``): publishing, attrition, surges, exports and the agents' own calendars work on it unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from services.scheduling import erlang, forecasting, siteplan, workforce
from services.scheduling.config import SchedulingSettings
from services.scheduling.models import (
    Campaign,
    DemandHistory,
    PlanCoverage,
    PlanInterval,
    PoolAgent,
    Project,
    Roster,
    StaffingPlan,
)
from services.scheduling.roster import (
    CONTEXT_DAYS,
    RosterDraft,
    SlotPlan,
    effective_assignments,
    get_project,
    hhmm,
    pool_members,
    publish_roster,
    require_schedulable,
    roster_agents,
    save_roster,
    solver_report,
    to_assignment,
)
from services.scheduling.rostering import (
    DAY_MINUTES,
    Gap,
    Quality,
    RosterProblem,
    assess,
    greedy,
    parse_hhmm,
    solve,
)
from shared.bulk import chunks
from shared.errors import BusinessRuleViolation, Conflict, NotFound, ValidationFailed
from shared.pagination import paginate_args
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

INTERVAL_MINUTES = 30
#: share of the planning time limit the shift counts get (the rest goes to the roster)
_COVER_SHARE = 0.25
#: extra share for the counts with an unlimited pool, solved only when the pool falls short
_NEED_SHARE = 0.1

DEFAULT_AHT = {forecasting.PRESALE: 180.0, forecasting.AFTERSALE: 300.0}


# --- history ---------------------------------------------------------------------------------------------


def import_history(
    uow: UnitOfWork, project_id: str, rows: Sequence[Mapping[str, Any]], profile: Sequence[float] | None
) -> dict[str, Any]:
    """Store consultations per half-hour (``time`` given) or per day (spread by ``profile``, else the seed's
    peak-hour shape). All or nothing; a (day, channel) imported again replaces what was there."""
    session = uow.session
    get_project(session, project_id)
    problems: dict[str, list[str]] = {}
    if profile is not None:
        issues = forecasting.profile_problems(profile, INTERVAL_MINUTES)
        if issues:
            problems["profile"] = issues
    shape = list(profile) if profile is not None and not problems else forecasting.default_profile()
    values: dict[tuple[dt.date, int, str], tuple[float, str]] = {}
    kinds: dict[tuple[dt.date, str], str] = {}
    for i, row in enumerate(rows):
        label = f"rows.{i}"
        day, channel, count = row["date"], row["channel"], float(row["consultations"])
        minute = row.get("minute")
        kind = "daily" if minute is None else "interval"
        if kinds.setdefault((day, channel), kind) != kind:
            problems.setdefault(label, []).append(
                f"{day.isoformat()} {channel} has both a daily total and half-hour rows; send one kind"
            )
            continue
        if minute is None:
            for m, value in forecasting.spread_day(count, shape, INTERVAL_MINUTES).items():
                values[(day, m, channel)] = (value, "daily")
            continue
        if (day, minute, channel) in values:
            problems.setdefault(label, []).append(
                f"{day.isoformat()} {hhmm(minute)} {channel} is listed twice"
            )
            continue
        values[(day, minute, channel)] = (count, "interval")
    if problems:
        raise ValidationFailed(problems, detail="The history has problems; nothing was imported.")
    pairs = sorted({(day, channel) for day, channel in kinds})
    for chunk in chunks(pairs, 500):
        session.execute(
            delete(DemandHistory).where(
                DemandHistory.project_id == project_id,
                tuple_(DemandHistory.date, DemandHistory.channel).in_(chunk),
            )
        )
    now = uow.now()
    records = [
        {
            "project_id": project_id,
            "date": day,
            "minute": minute,
            "channel": channel,
            "consultations": Decimal(str(round(value, 2))),
            "source": source,
            "imported_at": now,
        }
        for (day, minute, channel), (value, source) in sorted(values.items())
    ]
    for chunk in chunks(records, 2000):
        session.execute(insert(DemandHistory), chunk)
    days = sorted({day for day, _ in pairs})
    return {
        "project_id": project_id,
        "days": len(days),
        "intervals": len(records),
        "channels": sorted({channel for _, channel in pairs}),
        "from_": days[0] if days else None,
        "to": days[-1] if days else None,
    }


def history_daily(
    session: Session, project_id: str, start: dt.date, end: dt.date, channel: str | None
) -> list[dict[str, Any]]:
    """Consultations per day and channel between ``start`` and ``end`` (a plain SQL aggregate)."""
    stmt = (
        select(DemandHistory.date, DemandHistory.channel, func.sum(DemandHistory.consultations))
        .where(DemandHistory.project_id == project_id, DemandHistory.date.between(start, end))
        .group_by(DemandHistory.date, DemandHistory.channel)
        .order_by(DemandHistory.date, DemandHistory.channel)
    )
    if channel:
        stmt = stmt.where(DemandHistory.channel == channel)
    return [
        {"date": day, "channel": ch, "consultations": round(float(total or 0), 2)}
        for day, ch, total in session.execute(stmt)
    ]


def _history(
    session: Session, project_id: str, days: Sequence[dt.date]
) -> dict[tuple[dt.date, int, str], float]:
    if not days:
        return {}
    rows = session.execute(
        select(
            DemandHistory.date, DemandHistory.minute, DemandHistory.channel, DemandHistory.consultations
        ).where(DemandHistory.project_id == project_id, DemandHistory.date.between(min(days), max(days)))
    )
    return {(d, m, c): float(v) for d, m, c, v in rows}


# --- campaigns -------------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _phases_record(phases: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Phases as stored: ``from``/``to`` (the schema loads ``from`` as ``from_``), by start."""
    records = [{("from" if k == "from_" else k): v for k, v in p.items()} for p in phases]
    return [_json_safe(p) for p in sorted(records, key=lambda p: p["from"])]


def _campaign_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    festival = data["festival_day"]
    last_year = data.get("last_year_festival_day") or _a_year_before(festival)
    parameters = {
        k: v for k, v in data.items() if k not in ("name", "festival_day", "last_year_festival_day", "phases")
    }
    return {
        "name": data["name"],
        "festival_day": festival,
        "last_year_festival_day": last_year,
        "phases": _phases_record(data["phases"]),
        "parameters": _json_safe(parameters),
    }


def _a_year_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def create_campaign(uow: UnitOfWork, project_id: str, data: Mapping[str, Any]) -> Campaign:
    session = uow.session
    project = get_project(session, project_id)
    require_schedulable(project, "planning a campaign")
    fields = _campaign_fields(data)
    _check_campaign(fields)
    now = uow.now()
    campaign = Campaign(
        id=str(uuid.uuid4()),
        project_id=project_id,
        created_by=uow.actor.label[:100],
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(uow: UnitOfWork, project_id: str, campaign_id: str, data: Mapping[str, Any]) -> Campaign:
    """Replace a campaign's phases and parameters; its plans stay as they were computed."""
    campaign = get_campaign(uow.session, project_id, campaign_id, for_update=True)
    fields = _campaign_fields(data)
    _check_campaign(fields)
    for key, value in fields.items():
        setattr(campaign, key, value)
    campaign.updated_at = uow.now()
    return campaign


def get_campaign(
    session: Session, project_id: str, campaign_id: str, *, for_update: bool = False
) -> Campaign:
    campaign = session.get(Campaign, campaign_id, with_for_update=for_update or None)
    if campaign is None or campaign.project_id != project_id:
        raise NotFound("There is no campaign with this id in this project.")
    return campaign


def _check_campaign(fields: Mapping[str, Any]) -> None:
    spec = _forecast_spec_from(fields)
    problems = spec.problems()
    days = spec.days()
    if days and fields["festival_day"] not in days:
        problems.append(f"the festival day {fields['festival_day']} is in none of the phases")
    if problems:
        raise ValidationFailed({"phases": problems})


def _forecast_spec_from(fields: Mapping[str, Any]) -> forecasting.CampaignForecastSpec:
    params = fields["parameters"]
    split = params.get("split") or {}
    phases = [
        forecasting.Phase(
            name=p["name"],
            start=_date(p["from"]),
            end=_date(p["to"]),
            expected_orders=p.get("expected_orders"),
            receptions_per_order=p.get("receptions_per_order"),
            uv=p.get("uv"),
            call_in_rate=p.get("call_in_rate"),
            refund_rate=p.get("refund_rate"),
        )
        for p in fields["phases"]
    ]
    return forecasting.CampaignForecastSpec(
        festival_day=_date(fields["festival_day"]),
        last_year_festival_day=_date(fields["last_year_festival_day"]),
        phases=phases,
        growth=float(params.get("growth", 1.0)),
        bot_share={k: float(v) for k, v in (params.get("bot_share") or {}).items()},
        split=forecasting.Split(
            presale=float(split.get("presale", 0.7)),
            flipped=float(split.get("flipped", 0.3)),
            flip_days=int(split.get("flip_days", 3)),
        ),
        interval_minutes=INTERVAL_MINUTES,
    )


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class PlanInputs:
    forecast: forecasting.CampaignForecastSpec
    staffing: workforce.StaffingSpec
    shifts: workforce.ShiftRules
    hours: dict[dt.date, workforce.Hours]
    phases: dict[dt.date, str]
    site: siteplan.SiteRatios


def plan_inputs(campaign: Campaign, project: Project, cfg: SchedulingSettings) -> PlanInputs:
    """The pure modules' inputs from a campaign's stored fields and the project's order."""
    fields = {
        "festival_day": campaign.festival_day,
        "last_year_festival_day": campaign.last_year_festival_day,
        "phases": campaign.phases,
        "parameters": campaign.parameters,
    }
    spec = _forecast_spec_from(fields)
    params = campaign.parameters
    service = params.get("service") or {}
    threshold = float(project.first_response_seconds or cfg.answer_seconds)
    targets = {}
    for channel in forecasting.CHANNELS:
        given = service.get(channel) or {}
        targets[channel] = erlang.ServiceTarget(
            level=float(given.get("level", cfg.service_level)),
            threshold_seconds=float(given.get("threshold_seconds", threshold)),
            aht_seconds=float(given.get("aht_seconds", DEFAULT_AHT[channel])),
            max_occupancy=float(given.get("max_occupancy", cfg.max_occupancy)),
            shrinkage=float(given.get("shrinkage", cfg.shrinkage)),
            concurrency=int(given.get("concurrency", cfg.chat_concurrency)),
        )
    staffing = workforce.StaffingSpec(
        targets=targets,
        method=params.get("method", "erlang"),
        per_hour=float(params.get("per_hour", cfg.receptions_per_hour)),
        own_agents={k: int(v) for k, v in (params.get("own_agents") or {}).items()},
        triage_share=float(params.get("triage_share", cfg.triage_share)),
        interval_minutes=INTERVAL_MINUTES,
    )
    shifts_given = params.get("shifts") or {}
    shifts = workforce.ShiftRules(
        full_minutes=tuple(round(h * 60) for h in shifts_given.get("full_hours", [cfg.max_shift_hours])),
        part_minutes=tuple(round(h * 60) for h in shifts_given.get("part_hours", [4])),
        start_step=int(shifts_given.get("start_step_minutes", 60)),
        interval_minutes=INTERVAL_MINUTES,
        peaks=cfg.peaks,
    )
    assert project.service_start and project.service_end
    default = (parse_hhmm(project.service_start) % DAY_MINUTES, parse_hhmm(project.service_end))
    by_phase = params.get("hours") or {}
    hours: dict[dt.date, workforce.Hours] = {}
    phases: dict[dt.date, str] = {}
    for phase in spec.phases:
        start, end = default
        if phase.name in by_phase:
            start, end = _hours_range(by_phase[phase.name])
        for day in phase.days():
            hours[day] = workforce.Hours(start, end)
            phases[day] = phase.name
    site = siteplan.SiteRatios(**(params.get("site") or {}))
    return PlanInputs(spec, staffing, shifts, hours, phases, site)


def _hours_range(text: str) -> tuple[int, int]:
    start, _, end = text.partition("-")
    return parse_hhmm(start) % DAY_MINUTES, parse_hhmm(end)


# --- plans -----------------------------------------------------------------------------------------------


def plan_campaign(
    uow: UnitOfWork, project_id: str, campaign_id: str, cfg: SchedulingSettings, *, publish: bool = False
) -> StaffingPlan:
    """Forecast → agents per half-hour → shifts → a roster draft; stored as the campaign's next plan."""
    started = time.perf_counter()
    session = uow.session
    project = get_project(session, project_id, for_update=True)
    require_schedulable(project, "a staffing plan")
    campaign = get_campaign(session, project_id, campaign_id)
    inputs = plan_inputs(campaign, project, cfg)
    problems = {
        "service": inputs.staffing.problems(),
        "shifts": inputs.shifts.problems(),
        "site": inputs.site.problems(),
    }
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        raise ValidationFailed(problems, detail="The campaign's parameters cannot make a plan.")
    days = inputs.forecast.days()
    today = today_shanghai(uow.now())
    if days[0] < today:
        raise BusinessRuleViolation(
            f"The campaign starts on {days[0].isoformat()}, before today ({today.isoformat()} in Shanghai): "
            "a plan rosters from today on; move the phases.",
            rule="plan-in-the-past",
            status=422,
        )
    if len(days) > cfg.max_roster_days:
        raise BusinessRuleViolation(
            f"The campaign covers {len(days)} days; a plan covers at most {cfg.max_roster_days} "
            "(SCHEDULING_MAX_ROSTER_DAYS). Split it into two campaigns.",
            rule="plan-too-long",
            status=422,
        )
    spec = inputs.forecast
    last_year_days = [d - spec.offset for d in days]
    history = _history(session, project_id, last_year_days)
    rows = forecasting.forecast(spec, history)
    needs = workforce.requirements(rows, inputs.staffing)
    demand, closed = workforce.split_open(
        workforce.skill_demand(needs, inputs.staffing.triage_share), inputs.hours, INTERVAL_MINUTES
    )

    members = pool_members(session, project, cfg)
    agents = roster_agents(members)
    limit = cfg.plan_time_limit
    cover_input = workforce.CoverInput(demand, inputs.hours, inputs.phases, inputs.shifts, agents, cfg.rules)
    chosen = workforce.cover(cover_input, time_limit=limit * _COVER_SHARE, workers=cfg.solver_workers)
    start, end = days[0], days[-1]
    context, _ = effective_assignments(
        session, project.id, start - dt.timedelta(days=CONTEXT_DAYS), end + dt.timedelta(days=CONTEXT_DAYS)
    )
    fixed = [to_assignment(r) for r in context if not start <= r.date <= end]
    problem = workforce.roster_problem(chosen, agents, inputs.phases, inputs.shifts, cfg.rules, fixed)
    left = max(1.0, limit - (time.perf_counter() - started))
    result = solve(problem, time_limit=left, workers=cfg.solver_workers)
    assignments, slots = workforce.repair(problem, result.assignments, demand, cover_input)
    product = _chain(
        "cp-sat",
        RosterProblem(problem.agents, slots, problem.fixed, problem.rules),
        assignments,
        demand,
        chosen,
        result.gaps,
        inputs,
    )
    # the greedy chain is the baseline the plan is compared with, and kept when it is better (it rarely
    # is: only when a busy machine cut both searches short), so a plan is never worse than the baseline
    baseline = _greedy_chain(demand, inputs, cover_input, fixed)
    kept = baseline if baseline.key() < product.key() else product
    problem, assignments, cover_rows, summary = kept.problem, kept.assignments, kept.rows, kept.summary

    required = workforce.headcount(chosen, cfg.rules)
    if summary.short:
        unlimited = workforce.cover(
            dataclasses.replace(cover_input, agents=None),
            time_limit=limit * _NEED_SHARE,
            workers=cfg.solver_workers,
        )
        required = max(required, workforce.headcount(unlimited, cfg.rules))
    available = len(members)
    gap = max(0, required - available) if summary.short else 0

    quality = kept.quality
    missing = quality.missing
    peak = _peak_on_floor(assignments, INTERVAL_MINUTES)
    has_pilot = "pilot" in {p.name for p in spec.phases} or _rostered_before(session, project_id, start)
    warnings = siteplan.lead_time_warnings(start, today, has_pilot=has_pilot)
    closed_hours = sum(closed.values()) * INTERVAL_MINUTES / 60
    if closed_hours:
        closed_days = sorted({day for (day, _, _), v in closed.items() if v})
        warnings.append(
            siteplan.PlanWarning(
                "outside-service-hours",
                "medium",
                f"{closed_hours:g} agent-hours of demand fall outside the service hours on "
                f"{len(closed_days)} day(s) (first {closed_days[0].isoformat()}); those consultations wait "
                "for the opening. Widen the phase's hours to staff them.",
            )
        )
    if not history:
        warnings.append(
            siteplan.PlanWarning(
                "no-history",
                "high",
                "No consultation history covers last year's matching days: only phases with expected "
                "orders or UV have a forecast. Import last year's figures first.",
            )
        )

    roster_row = save_roster(
        uow,
        RosterDraft(
            project_id=project.id,
            start=start,
            end=end,
            slots=[SlotPlan(s.day, s.shift, s.needed) for s in problem.slots],
            assignments=assignments,
            roles={m.agent.agent_id: m.role for m in members},
            reason="plan",
            method=result.method if kept is product else "greedy",
            solver_status=result.status,
            solve_seconds=result.solve_seconds,
            gaps={(g.day, g.shift): g for g in kept.gaps},
            solver_report=solver_report(result, cfg),
            demand={"campaign_id": campaign.id, "interval_minutes": INTERVAL_MINUTES},
        ),
        publish=False,
    )
    version = (
        session.scalar(select(func.max(StaffingPlan.version)).where(StaffingPlan.campaign_id == campaign.id))
        or 0
    ) + 1
    plan = StaffingPlan(
        id=str(uuid.uuid4()),
        campaign_id=campaign.id,
        project_id=project.id,
        version=version,
        status="draft",
        date_from=start,
        date_to=end,
        method=inputs.staffing.method,
        roster_id=roster_row.id,
        required_agents=required,
        available_agents=available,
        gap=gap,
        peak_agents=peak,
        summary={
            "coverage": summary.as_dict(),
            "outside_hours_agent_hours": closed_hours,
            "cover_status": chosen.status,
            "cover_seconds": round(chosen.seconds, 3),
            "kept": kept.method,
            "roster": {
                "method": result.method if kept is product else "greedy",
                "status": result.status,
                "hours_spread": quality.hours_spread,
                "night_spread": quality.night_spread,
                "shifts": len(assignments),
                "added_by_repair": len(product.assignments) - len(result.assignments),
                "missing": missing,
            },
            "compared": {"cp-sat": product.figures(), "greedy": baseline.figures()},
            "days": _day_summary(cover_rows, assignments),
            "seconds": round(time.perf_counter() - started, 3),
        },
        warnings=[{"rule": w.rule, "severity": w.severity, "message": w.message} for w in warnings],
        created_by=uow.actor.label[:100],
        created_at=uow.now(),
    )
    session.add(plan)
    session.flush()
    _store_rows(session, plan.id, rows, needs, cover_rows)
    if publish:
        publish_plan(uow, project_id, plan.id)
    return plan


@dataclass(frozen=True)
class Chain:
    """One way from the demand to a roster, and how well it covers it."""

    method: str
    problem: RosterProblem
    assignments: list[Any]
    rows: list[workforce.IntervalCoverage]
    summary: workforce.CoverageSummary
    quality: Quality
    gaps: list[Gap]

    def key(self) -> tuple[int, int, int, float]:
        """Lower is better: missing agents at peaks, then missing at all, over-staffing, unfairness."""
        s = self.summary
        return (s.peak_short, s.short, s.over, self.quality.hours_spread)

    def figures(self) -> dict[str, Any]:
        return {
            **self.summary.as_dict(),
            "hours_spread": self.quality.hours_spread,
            "night_spread": self.quality.night_spread,
        }


def _chain(
    method: str,
    problem: RosterProblem,
    assignments: list[Any],
    demand: Mapping[workforce.Key, int],
    stage_one: workforce.Cover,
    gaps: list[Gap],
    inputs: PlanInputs,
) -> Chain:
    rows = workforce.coverage(
        demand,
        assignments,
        interval_minutes=INTERVAL_MINUTES,
        stage_one=stage_one,
        gaps=gaps,
        slots=problem.slots,
    )
    summary = workforce.summarise(rows, inputs.shifts.peaks)
    return Chain(method, problem, assignments, rows, summary, assess(problem, assignments), gaps)


def _greedy_chain(
    demand: Mapping[workforce.Key, int],
    inputs: PlanInputs,
    cover_input: workforce.CoverInput,
    fixed: Sequence[Any],
) -> Chain:
    """The baseline: the greedy shift counts (the latest start covering each unmet half-hour), then the
    greedy roster (the eligible agent with the fewest hours)."""
    cover = workforce.greedy_cover(cover_input)
    agents = cover_input.agents or ()
    problem = workforce.roster_problem(cover, agents, inputs.phases, inputs.shifts, cover_input.labour, fixed)
    result = greedy(problem)
    return _chain("greedy", problem, result.assignments, demand, cover, result.gaps, inputs)


def _peak_on_floor(assignments: Iterable[Any], step: int) -> int:
    """The most agents rostered at once (all skills), the site plan's basis."""
    counts: dict[int, int] = defaultdict(int)
    for item in assignments:
        for m in range(item.start_minute, item.start_minute + item.minutes, step):
            counts[item.day.toordinal() * DAY_MINUTES + m] += 1
    return max(counts.values(), default=0)


def _rostered_before(session: Session, project_id: str, start: dt.date) -> bool:
    return (
        session.scalar(
            select(Roster.id)
            .where(Roster.project_id == project_id, Roster.status == "published", Roster.date_from < start)
            .limit(1)
        )
        is not None
    )


def _day_summary(
    rows: Iterable[workforce.IntervalCoverage], assignments: Iterable[Any]
) -> list[dict[str, Any]]:
    """Per day: agent-hours required and rostered, the short ones, and agents per skill (the 7:3 flip)."""
    per_day: dict[dt.date, dict[str, Any]] = {}
    for row in rows:
        entry = per_day.setdefault(
            row.day, {"date": row.day, "required_hours": 0.0, "scheduled_hours": 0.0, "short_hours": 0.0}
        )
        entry["required_hours"] += row.required * INTERVAL_MINUTES / 60
        entry["scheduled_hours"] += row.scheduled * INTERVAL_MINUTES / 60
        entry["short_hours"] += row.short * INTERVAL_MINUTES / 60
    agents: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(workforce.SKILLS, 0))
    for item in assignments:
        if item.skill:
            agents[item.day][item.skill] += 1
    out = []
    for day in sorted(per_day):
        entry = per_day[day]
        out.append(
            {
                "date": day.isoformat(),
                "required_hours": round(entry["required_hours"], 1),
                "scheduled_hours": round(entry["scheduled_hours"], 1),
                "short_hours": round(entry["short_hours"], 1),
                "agents": agents.get(day, dict.fromkeys(workforce.SKILLS, 0)),
            }
        )
    return out


def _store_rows(
    session: Session,
    plan_id: str,
    rows: Sequence[forecasting.IntervalForecast],
    needs: Sequence[workforce.IntervalRequirement],
    cover_rows: Sequence[workforce.IntervalCoverage],
) -> None:
    intervals = [
        {
            "plan_id": plan_id,
            "date": row.day,
            "minute": row.minute,
            "channel": row.channel,
            "phase": row.phase,
            "last_year": round(row.last_year, 2),
            "forecast": round(row.forecast, 2),
            "bot": round(row.bot, 2),
            "traffic": round(need.erlang.traffic, 3),
            "erlang_agents": need.erlang.agents,
            "simple_agents": need.simple,
            "own_agents": need.own,
            "required": need.required,
            "service_level": round(need.erlang.service_level, 4),
            "occupancy": round(need.erlang.occupancy, 4),
        }
        for row, need in zip(rows, needs, strict=True)
    ]
    for chunk in chunks(intervals, 2000):
        session.execute(insert(PlanInterval), chunk)
    coverage = [
        {
            "plan_id": plan_id,
            "date": row.day,
            "minute": row.minute,
            "skill": row.skill,
            "required": row.required,
            "scheduled": row.scheduled,
            "short": row.short,
            "reasons": list(row.reasons),
            "detail": row.detail,
        }
        for row in cover_rows
    ]
    for chunk in chunks(coverage, 2000):
        session.execute(insert(PlanCoverage), chunk)


def get_plan(session: Session, project_id: str, plan_id: str, *, for_update: bool = False) -> StaffingPlan:
    plan = session.get(StaffingPlan, plan_id, with_for_update=for_update or None)
    if plan is None or plan.project_id != project_id:
        raise NotFound("There is no staffing plan with this id in this project.")
    return plan


def publish_plan(uow: UnitOfWork, project_id: str, plan_id: str) -> StaffingPlan:
    """Publish the plan and its roster; ``plan.published`` asks recruitment for the gap."""
    session = uow.session
    get_project(session, project_id, for_update=True)
    plan = get_plan(session, project_id, plan_id, for_update=True)
    if plan.status == "published":
        raise Conflict(
            f"Plan version {plan.version} is already published.", extra={"rule": "already-published"}
        )
    roster_row = session.get(Roster, plan.roster_id) if plan.roster_id else None
    if roster_row is not None and roster_row.status != "published":
        publish_roster(uow, project_id, roster_row.id)
    plan.status = "published"
    plan.published_at = uow.now()
    coverage = plan.summary.get("coverage", {})
    uow.emit(
        "plan.published",
        {
            "project_id": plan.project_id,
            "plan_id": plan.id,
            "campaign_id": plan.campaign_id,
            "version": plan.version,
            "date_from": plan.date_from,
            "date_to": plan.date_to,
            "intervals": ((plan.date_to - plan.date_from).days + 1) * (DAY_MINUTES // INTERVAL_MINUTES),
            "short_intervals": int(coverage.get("short_intervals", 0)),
            "required": plan.required_agents,
            "available": plan.available_agents,
            "gap": plan.gap,
            "roster_id": plan.roster_id,
        },
    )
    return plan


# --- reads -----------------------------------------------------------------------------------------------


def campaigns_page(session: Session, project_id: str, args: Mapping[str, Any]) -> Any:
    stmt = select(Campaign).where(Campaign.project_id == project_id)
    return paginate_args(session, stmt, args, order_by=[Campaign.created_at.desc(), Campaign.id.desc()])


def plans_page(session: Session, project_id: str, campaign_id: str, args: Mapping[str, Any]) -> Any:
    get_campaign(session, project_id, campaign_id)
    stmt = select(StaffingPlan).where(StaffingPlan.campaign_id == campaign_id)
    return paginate_args(session, stmt, args, order_by=[StaffingPlan.version.desc(), StaffingPlan.id.desc()])


def intervals_page(session: Session, project_id: str, plan_id: str, args: Mapping[str, Any]) -> Any:
    get_plan(session, project_id, plan_id)
    stmt = select(PlanInterval).where(PlanInterval.plan_id == plan_id)
    if args.get("date"):
        stmt = stmt.where(PlanInterval.date == args["date"])
    if args.get("channel"):
        stmt = stmt.where(PlanInterval.channel == args["channel"])
    page = paginate_args(
        session, stmt, args, order_by=[PlanInterval.date, PlanInterval.minute, PlanInterval.channel]
    )
    return page.with_items([_with_time(row, _columns(row, _INTERVAL_FIELDS)) for row in page.items])


def coverage_page(session: Session, project_id: str, plan_id: str, args: Mapping[str, Any]) -> Any:
    get_plan(session, project_id, plan_id)
    stmt = select(PlanCoverage).where(PlanCoverage.plan_id == plan_id)
    if args.get("date"):
        stmt = stmt.where(PlanCoverage.date == args["date"])
    if args.get("skill"):
        stmt = stmt.where(PlanCoverage.skill == args["skill"])
    if args.get("short") is True:
        stmt = stmt.where(PlanCoverage.short > 0)
    elif args.get("short") is False:
        stmt = stmt.where(PlanCoverage.short == 0)
    page = paginate_args(
        session, stmt, args, order_by=[PlanCoverage.date, PlanCoverage.minute, PlanCoverage.skill]
    )
    return page.with_items([_with_time(row, _columns(row, _COVERAGE_FIELDS)) for row in page.items])


_INTERVAL_FIELDS = (
    "date", "channel", "phase", "last_year", "forecast", "bot", "traffic", "erlang_agents", "simple_agents",
    "own_agents", "required", "service_level", "occupancy",
)  # fmt: skip
_COVERAGE_FIELDS = ("date", "skill", "required", "scheduled", "short", "reasons", "detail")


def _columns(row: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def _with_time(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    values["time"] = hhmm(row.minute)
    return values


def site_plan_view(
    session: Session, project: Project, plan: StaffingPlan, cfg: SchedulingSettings
) -> dict[str, Any]:
    campaign = get_campaign(session, project.id, plan.campaign_id)
    lines = siteplan.site_plan(plan.peak_agents, plan_inputs(campaign, project, cfg).site)
    return {
        "plan_id": plan.id,
        "peak_agents": plan.peak_agents,
        "lines": [{"item": x.item, "quantity": x.quantity, "unit": x.unit, "basis": x.basis} for x in lines],
    }


def set_part_time(uow: UnitOfWork, project_id: str, agent_id: str, part_time: bool) -> PoolAgent:
    """Mark an agent of the pool as working part-time (兼职) on this project, or full-time again."""
    row = uow.session.scalars(
        select(PoolAgent).where(PoolAgent.project_id == project_id, PoolAgent.agent_id == agent_id)
    ).first()
    if row is None:
        raise NotFound("This agent is not in the project's pool.")
    row.part_time = part_time
    return row
