"""The weekly review of a project (质检周报): the order's targets against the week's actual figures, each
agent's week (figures, the machine check, reviews, complaints, the month's KPI), the QA findings (the
problems found most often and the good cases) and the complaints, as one answer and as an xlsx workbook.

Everything is read from this service's own tables: the imported figures and chats, the reviews, the KPI
scored for the month the week belongs to (the month of its Thursday, as ISO weeks are numbered), and the
copies of the complaints service's complaints. Nothing is stored: the report is computed when asked.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.quality import domain
from services.quality.config import QualitySettings
from services.quality.kpi import days_by_range
from services.quality.models import Complaint, Conversation, KpiScore, ProjectAgent, Review
from services.quality.projections import targets_of
from services.quality.reviews import known_project
from shared.tabular import Column
from shared.uow import UnitOfWork
from shared.workdays import today_shanghai

#: the problems listed in the report (the rest are counted in the agents' rows)
TOP_PROBLEMS = 10
#: good cases listed (newest first)
GOOD_CASES = 20


def last_full_week(today: dt.date) -> str:
    """The ISO week before the one ``today`` is in: the default week of the report."""
    return domain.week_of(today - dt.timedelta(days=7))


def month_of_week(monday: dt.date) -> str:
    """The month an ISO week belongs to: its Thursday's (the rule that numbers the week itself)."""
    thursday = monday + dt.timedelta(days=3)
    return f"{thursday.year:04d}-{thursday.month:02d}"


def _targets_view(data: domain.PeriodData, targets: domain.Targets) -> dict[str, Any]:
    return {
        "figures": {
            "agent_days": data.days,
            "receptions": data.receptions,
            "inquiries": data.inquiries,
            "orders": data.orders,
            "sales_amount": data.sales_amount,
        },
        "targets": [
            {"name": c.name, "actual": c.actual, "target": c.target, "met": c.met}
            for c in domain.target_checks(data, targets)
        ],
    }


def targets_against_actuals(
    uow: UnitOfWork, project_id: str, period: str | None = None, week: str | None = None
) -> dict[str, Any]:
    """The order's service targets against the project's figures of a month or an ISO week."""
    project = known_project(uow, project_id)
    first, last = domain.period_bounds(period) if period else domain.week_bounds(week or "")
    days = days_by_range(uow, project_id, first, last)
    everyone = domain.summarise([d for figures in days.values() for d in figures])
    return {
        "project_id": project.project_id,
        "date_from": first,
        "date_to": last,
        **_targets_view(everyone, targets_of(project)),
    }


def weekly_review(
    uow: UnitOfWork, project_id: str, week: str | None, settings: QualitySettings
) -> dict[str, Any]:
    """The review of one ISO week (the last full week by default)."""
    project = known_project(uow, project_id)
    week = week or last_full_week(today_shanghai(uow.now()))
    first, last = domain.week_bounds(week)
    period = month_of_week(first)
    session = uow.session
    targets = targets_of(project)

    days = days_by_range(uow, project_id, first, last)
    everyone = domain.summarise([d for figures in days.values() for d in figures])

    conversations: dict[str, dict[str, int]] = defaultdict(lambda: {"total": 0, "flagged": 0, "reviewed": 0})
    flag_counts: dict[str, int] = {}
    for agent_id, flags, needs_review, reviewed in session.execute(
        select(
            Conversation.agent_id, Conversation.flags, Conversation.needs_review, Conversation.reviewed
        ).where(Conversation.project_id == project_id, Conversation.date.between(first, last))
    ):
        counts = conversations[agent_id]
        counts["total"] += 1
        counts["flagged"] += 1 if needs_review or flags else 0
        counts["reviewed"] += 1 if reviewed else 0
        for flag in flags or ():
            flag_counts[flag] = flag_counts.get(flag, 0) + 1

    reviews = list(
        session.scalars(
            select(Review)
            .where(Review.project_id == project_id, Review.date.between(first, last))
            .order_by(Review.created_at.desc(), Review.id.desc())
        )
    )
    percents: dict[str, list[Decimal]] = defaultdict(list)
    problems_by_agent: dict[str, int] = defaultdict(int)
    for review in reviews:
        percents[review.agent_id].append(Decimal(review.percent))
        problems_by_agent[review.agent_id] += len(review.problems or [])

    complaints = list(
        session.scalars(
            select(Complaint)
            .where(Complaint.project_id == project_id, Complaint.opened_on.between(first, last))
            .order_by(Complaint.opened_on, Complaint.number)
        )
    )
    complaints_by_agent: dict[str, list[Complaint]] = defaultdict(list)
    for complaint in complaints:
        if complaint.agent_id:
            complaints_by_agent[complaint.agent_id].append(complaint)

    kpis = {
        row.agent_id: row
        for row in session.scalars(
            select(KpiScore).where(KpiScore.project_id == project_id, KpiScore.period == period)
        )
    }
    names = dict(
        session.execute(
            select(ProjectAgent.agent_id, ProjectAgent.name).where(ProjectAgent.project_id == project_id)
        ).all()
    )
    agent_ids = sorted(set(days) | set(conversations) | set(percents) | set(complaints_by_agent) | set(kpis))
    agents = []
    for agent_id in agent_ids:
        week_data = domain.summarise(days.get(agent_id, []))
        kpi = kpis.get(agent_id)
        own = complaints_by_agent.get(agent_id, [])
        counts = conversations.get(agent_id, {"total": 0, "flagged": 0, "reviewed": 0})
        agent_percents = percents.get(agent_id, [])
        agents.append(
            {
                "agent_id": agent_id,
                "name": names.get(agent_id),
                "days": week_data.days,
                "receptions": week_data.receptions,
                "conversion_rate": week_data.conversion_rate,
                "avg_response_seconds": week_data.avg_response_seconds,
                "sales_amount": week_data.sales_amount,
                "satisfaction_rate": week_data.satisfaction_rate,
                "conversations": counts["total"],
                "flagged": counts["flagged"],
                "reviews": len(agent_percents),
                "review_percent": domain.performance_score(agent_percents),
                "problems": problems_by_agent.get(agent_id, 0),
                "complaints": len(own),
                "complaints_upheld": sum(1 for c in own if c.upheld),
                "kpi_score": kpi.score if kpi is not None else None,
                "kpi_warning": kpi is not None and kpi.below_threshold_streak >= settings.warning_periods,
            }
        )

    all_percents = [p for values in percents.values() for p in values]
    good_cases = [
        {"agent_id": r.agent_id, "name": names.get(r.agent_id), "date": r.date, "text": text}
        for r in reviews
        for text in (r.good_cases or [])
    ][:GOOD_CASES]
    scored = [k.score for k in kpis.values()]
    return {
        "project_id": project.project_id,
        "company_name": project.company_name,
        "week": week,
        "date_from": first,
        "date_to": last,
        **_targets_view(everyone, targets),
        "machine_qa": {
            "conversations": sum(c["total"] for c in conversations.values()),
            "flagged": sum(c["flagged"] for c in conversations.values()),
            "reviewed": sum(c["reviewed"] for c in conversations.values()),
            "flags": [
                {"flag": f, "count": flag_counts[f]}
                for f in sorted(flag_counts, key=lambda f: -flag_counts[f])
            ],
        },
        "reviews": {
            "count": len(reviews),
            "average_percent": domain.performance_score(all_percents),
            "top_problems": [
                {"problem": text, "count": n}
                for text, n in domain.tally((r.problems or [] for r in reviews), TOP_PROBLEMS)
            ],
            "good_cases": good_cases,
        },
        "complaints": {
            "opened": len(complaints),
            "upheld": sum(1 for c in complaints if c.upheld),
            "penalties": sum((c.penalty or Decimal(0) for c in complaints if c.upheld), Decimal(0)),
            "items": [
                {
                    "number": c.number,
                    "agent_id": c.agent_id,
                    "name": names.get(c.agent_id) if c.agent_id else None,
                    "level": c.level,
                    "status": c.status,
                    "opened_on": c.opened_on,
                    "upheld": c.upheld,
                    "penalty": c.penalty,
                    "reason": c.reason,
                }
                for c in complaints
            ],
        },
        "kpi": {
            "period": period,
            "scored": len(scored),
            "average": domain.round2(sum(scored, Decimal(0)) / len(scored)) if scored else None,
            "warnings": sum(1 for a in agents if a["kpi_warning"]),
            "warning_threshold": settings.warning_threshold,
        },
        "agents": agents,
    }


# --- the workbook ---------------------------------------------------------------------------------------

TARGET_NAMES_ZH = {
    "first_response_seconds": "首响 (秒)",
    "avg_response_seconds": "平响 (秒)",
    "conversion_rate": "询单转化率 (%)",
    "avg_order_value": "客单价 (元)",
    "satisfaction_rate": "旺旺满意度 (%)",
}

SUMMARY_COLUMNS = (Column("item", "项目", "item"), Column("value", "数值", "value"))
TARGET_COLUMNS = (
    Column("name", "指标", "target"),
    Column("target", "目标", "target value", "number"),
    Column("actual", "实际", "actual", "number"),
    Column("met", "达成", "met", "bool"),
)
AGENT_COLUMNS = (
    Column("agent_id", "客服ID", "agent_id"),
    Column("name", "姓名", "name"),
    Column("days", "天数", "days", "integer"),
    Column("receptions", "接待人数", "receptions", "integer"),
    Column("conversion_rate", "询单转化率(%)", "conversion_rate", "number"),
    Column("avg_response_seconds", "平响(秒)", "avg_response_seconds", "number"),
    Column("sales_amount", "销售额", "sales_amount", "money"),
    Column("satisfaction_rate", "满意度(%)", "satisfaction_rate", "number"),
    Column("conversations", "会话数", "conversations", "integer"),
    Column("flagged", "机检标记", "flagged", "integer"),
    Column("reviews", "人工质检", "reviews", "integer"),
    Column("review_percent", "质检得分(%)", "review_percent", "number"),
    Column("problems", "问题数", "problems", "integer"),
    Column("complaints", "投诉", "complaints", "integer"),
    Column("complaints_upheld", "投诉成立", "complaints_upheld", "integer"),
    Column("kpi_score", "月KPI", "kpi_score", "number"),
    Column("kpi_warning", "预警", "kpi_warning", "bool"),
)
PROBLEM_COLUMNS = (Column("problem", "问题", "problem"), Column("count", "次数", "count", "integer"))
GOOD_CASE_COLUMNS = (
    Column("date", "日期", "date", "date"),
    Column("name", "客服", "agent"),
    Column("text", "优秀案例", "good case"),
)
COMPLAINT_COLUMNS = (
    Column("number", "投诉编号", "number"),
    Column("opened_on", "日期", "opened_on", "date"),
    Column("name", "客服", "agent"),
    Column("level", "级别", "level"),
    Column("status", "状态", "status"),
    Column("upheld", "成立", "upheld", "bool"),
    Column("penalty", "扣款", "penalty", "money"),
    Column("reason", "原因", "reason"),
)


def _rows(columns: Sequence[Column], items: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    return [[item.get(c.key) for c in columns] for item in items]


def workbook_sheets(
    report: Mapping[str, Any], lang: str
) -> list[tuple[str, Sequence[Column], list[list[Any]]]]:
    """The report as the sheets of one workbook: summary, targets, agents, problems, good cases and
    complaints."""
    zh = lang != "en"
    kpi, qa, reviews, complaints = (
        report["kpi"],
        report["machine_qa"],
        report["reviews"],
        report["complaints"],
    )
    summary = [
        ("店铺" if zh else "store", report["company_name"] or report["project_id"]),
        ("周" if zh else "week", f"{report['week']} ({report['date_from']} – {report['date_to']})"),
        ("会话数" if zh else "conversations", qa["conversations"]),
        ("机检标记" if zh else "flagged by the machine check", qa["flagged"]),
        ("人工质检" if zh else "reviews", reviews["count"]),
        ("质检平均得分(%)" if zh else "average review (%)", reviews["average_percent"]),
        ("投诉" if zh else "complaints", complaints["opened"]),
        ("投诉成立" if zh else "complaints upheld", complaints["upheld"]),
        ("扣款合计" if zh else "penalties", complaints["penalties"]),
        (f"{kpi['period']} KPI 平均" if zh else f"{kpi['period']} KPI average", kpi["average"]),
        ("KPI 预警人数" if zh else "KPI warnings", kpi["warnings"]),
    ]
    targets = [
        {**t, "name": TARGET_NAMES_ZH.get(t["name"], t["name"]) if zh else t["name"]}
        for t in report["targets"]
    ]
    return [
        (
            "概要" if zh else "summary",
            SUMMARY_COLUMNS,
            [[k, "" if v is None else str(v)] for k, v in summary],
        ),
        ("目标对比" if zh else "targets", TARGET_COLUMNS, _rows(TARGET_COLUMNS, targets)),
        ("客服" if zh else "agents", AGENT_COLUMNS, _rows(AGENT_COLUMNS, report["agents"])),
        ("问题" if zh else "problems", PROBLEM_COLUMNS, _rows(PROBLEM_COLUMNS, reviews["top_problems"])),
        (
            "优秀案例" if zh else "good cases",
            GOOD_CASE_COLUMNS,
            _rows(GOOD_CASE_COLUMNS, reviews["good_cases"]),
        ),
        ("投诉" if zh else "complaints", COMPLAINT_COLUMNS, _rows(COMPLAINT_COLUMNS, complaints["items"])),
    ]
