"""The recruitment rules (团队组建) as plain functions: no Flask, no SQL, no pika.

Seed 004 (服务之团队组建): operations match people from the talent pool (人才库) to a requisition
(招聘需求) at **1:3** — three candidates per seat — and only candidates who **finished basic
customer-service training and passed its assessment** (经过客服基础培训、考核通过) qualify; matching takes
**1–3 working days**.
Training then admits at seats : admitted = **1:2**, so two of every three matched candidates are expected
to survive training.

``requisitions.py`` runs the same eligibility and ranking as SQL (a pool of a million is matched inside the
database, read in rank order from an index); the pure versions here are the specification, and tests check
that both agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

# --- vocabularies ----------------------------------------------------------------------------------------

SKILLS: tuple[str, ...] = ("presale", "aftersale")
SHIFTS: tuple[str, ...] = ("morning", "afternoon", "night")
SERVICE_TYPES: tuple[str, ...] = ("presale", "aftersale", "both")

#: Skills and shifts are also kept as bit masks so the database can test "covers" with one ``&``.
SKILL_BITS: dict[str, int] = {"presale": 1, "aftersale": 2}
SHIFT_BITS: dict[str, int] = {"morning": 1, "afternoon": 2, "night": 4}

#: The shift windows (start hour inclusive, end hour exclusive) used to decide which shifts a project's
#: service hours need. The seed splits the festival's 36 hours into three shifts (三班倒).
SHIFT_WINDOWS: dict[str, tuple[int, int]] = {"night": (0, 8), "morning": (8, 16), "afternoon": (16, 24)}

_SKILL_ALIASES: dict[str, str] = {
    "presale": "presale",
    "pre-sale": "presale",
    "pre_sale": "presale",
    "售前": "presale",
    "aftersale": "aftersale",
    "after-sale": "aftersale",
    "after_sale": "aftersale",
    "售后": "aftersale",
}
_SHIFT_ALIASES: dict[str, str] = {
    "morning": "morning",
    "早班": "morning",
    "白班": "morning",
    "afternoon": "afternoon",
    "中班": "afternoon",
    "晚班": "afternoon",
    "night": "night",
    "夜班": "night",
    "大夜班": "night",
}
#: Taobao and Tmall share one seller workbench (千牛), so experience on one counts for the other.
_PLATFORM_ALIASES: dict[str, str] = {
    "taobao": "taobao",
    "淘宝": "taobao",
    "tmall": "taobao",
    "天猫": "taobao",
    "taobao/tmall": "taobao",
    "淘宝/天猫": "taobao",
    "jd": "jd",
    "京东": "jd",
    "jingdong": "jd",
    "pinduoduo": "pinduoduo",
    "pdd": "pinduoduo",
    "拼多多": "pinduoduo",
    "douyin": "douyin",
    "抖音": "douyin",
    "tiktok": "douyin",
}
_FREE_TAG = re.compile(r"^[^|%_\x00-\x1f]{1,40}$")


class CandidateStatus(StrEnum):
    AVAILABLE = "available"
    MATCHED = "matched"  # reserved for one requisition, handed to training
    IN_TRAINING = "in_training"  # training reported on the candidate's cohort
    ASSIGNED = "assigned"  # admitted to a project (录取)
    INACTIVE = "inactive"  # taken out of the pool by operations


class RequisitionStatus(StrEnum):
    FILLED = "filled"
    SHORT = "short"
    OVERDUE = "overdue"  # short and past its due date
    CLOSED = "closed"  # the project closed


class MatchOutcome(StrEnum):
    MATCHED = "matched"
    IN_TRAINING = "in_training"
    ADMITTED = "admitted"
    NOT_ADMITTED = "not_admitted"
    RELEASED = "released"  # the project closed before training decided


class RequisitionReason(StrEnum):
    PROJECT_CONFIRMED = "project_confirmed"
    TRAINING_SHORTFALL = "training_shortfall"
    RESERVE_SHORTFALL = "reserve_shortfall"
    SURGE = "surge"
    #: a published staffing plan needs more agents than the pool has (scheduling's plan.published)
    PLAN = "plan"


#: Statuses that hold a candidate for one project (the project's close releases them).
RESERVED_STATUSES: frozenset[str] = frozenset({CandidateStatus.MATCHED, CandidateStatus.IN_TRAINING})
PENDING_OUTCOMES: frozenset[str] = frozenset({MatchOutcome.MATCHED, MatchOutcome.IN_TRAINING})
#: A whole-gap shortfall (all-hands) counts reserve-shortfall requisitions this recent as still on their way:
#: matching (1–3 working days) and a training cohort (about a week) fit in two weeks.
WHOLE_GAP_LOOKBACK_DAYS = 14
OPEN_REQUISITION_STATUSES: frozenset[str] = frozenset({RequisitionStatus.SHORT, RequisitionStatus.OVERDUE})

#: Candidate status changes operations may make by hand; the rest follow the funnel's events.
MANUAL_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (CandidateStatus.AVAILABLE, CandidateStatus.INACTIVE),
        (CandidateStatus.INACTIVE, CandidateStatus.AVAILABLE),
    }
)


# --- defaults (each one a setting; see docs/services/recruitment.md) ---------------------------------------

DEFAULT_MATCH_RATIO = Decimal(3)  # 匹配比例 1:3
DEFAULT_DUE_WORKDAYS = 3  # 匹配周期 1–3 个工作日: the far end is the deadline
DEFAULT_PRESALE_SHARE = Decimal("0.7")  # seed 002: pre-sales : after-sales = 7 : 3

# --- the ranking score -----------------------------------------------------------------------------------

PLATFORM_BONUS = Decimal(10)
CATEGORY_BONUS = Decimal(10)
EXPERIENCE_POINTS_PER_MONTH = Decimal("0.5")
EXPERIENCE_CAP_MONTHS = 24


class InvalidValue(ValueError):
    """A value that cannot be normalised; the message is written for the person who typed it."""


def normalize_phone(raw: str) -> str:
    """A Chinese mobile number as its 11 digits: ``+86 138-0013-8000`` → ``13800138000``."""
    digits = re.sub(r"[\s\-().]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if not re.fullmatch(r"1[3-9]\d{9}", digits):
        raise InvalidValue(
            f"{raw!r} is not a Chinese mobile number: expected 11 digits starting 13–19, "
            "optionally prefixed +86."
        )
    return digits


def normalize_skill(raw: str) -> str:
    value = _SKILL_ALIASES.get(raw.strip().lower())
    if value is None:
        raise InvalidValue(f"unknown skill {raw.strip()!r}; one of: presale (售前), aftersale (售后).")
    return value


def normalize_shift(raw: str) -> str:
    value = _SHIFT_ALIASES.get(raw.strip().lower())
    if value is None:
        raise InvalidValue(
            f"unknown shift {raw.strip()!r}; one of: morning (早班 8–16), afternoon (晚班 16–24), "
            "night (夜班 0–8)."
        )
    return value


def normalize_platform(raw: str) -> str:
    """Known platforms get one spelling (Tmall counts as Taobao); others are kept, lower-cased."""
    key = raw.strip().lower()
    return _PLATFORM_ALIASES.get(key) or _free_tag(key, "platform")


def normalize_category(raw: str) -> str:
    return _free_tag(raw.strip().lower(), "category")


def _free_tag(value: str, what: str) -> str:
    if not _FREE_TAG.match(value):
        raise InvalidValue(f"{what} {value!r} must be 1–40 characters without | % _ or control characters.")
    return value


def unique(values: Iterable[str]) -> list[str]:
    """Order-preserving de-duplication (a list typed twice is the same list)."""
    return list(dict.fromkeys(values))


def mask(values: Iterable[str], bits: Mapping[str, int]) -> int:
    out = 0
    for value in values:
        out |= bits[value]
    return out


def unmask(value: int, bits: Mapping[str, int]) -> list[str]:
    return [name for name, bit in bits.items() if value & bit]


# --- requisition arithmetic ------------------------------------------------------------------------------


def match_target(seats: int, ratio: Decimal) -> int:
    """``ceil(seats × ratio)``: 10 seats at 1:3 → 30 candidates."""
    if seats < 0 or ratio <= 0:
        raise ValueError("seats must be >= 0 and the ratio > 0")
    return int((Decimal(seats) * ratio).to_integral_value(rounding=ROUND_CEILING))


def due_date(
    confirmed_on: dt.date, workdays: int, add_workdays: Callable[[dt.date, int], dt.date]
) -> dt.date:
    """Confirmation day + ``workdays`` China working days (``shared.workdays.add_workdays``)."""
    return add_workdays(confirmed_on, workdays)


def skill_quotas(service_type: str | None, target: int, presale_share: Decimal) -> dict[str, int]:
    """How many of the target each skill slot takes.

    A ``both`` project splits by the seed's 7:3 pre-sales : after-sales: ``presale = round-half-up(target ×
    0.7)``, after-sales the rest (30 → 21 + 9; 10 → 7 + 3). An unknown service type (the project was never
    seen) has no slots: nothing can be matched until ``project.confirmed`` tells us what it needs.
    """
    if service_type in ("presale", "aftersale"):
        return {service_type: target}
    if service_type == "both":
        presale = int((Decimal(target) * presale_share).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        return {"presale": presale, "aftersale": target - presale}
    return {}


def project_shifts(start: str | None, end: str | None) -> list[str]:
    """The shifts a project's service hours overlap (``09:00–18:00`` → morning, afternoon).

    Hours that end at or before they start run past midnight (``20:00–02:00``); ``00:00–24:00`` or unknown
    hours need every shift.
    """
    if not start or not end:
        return list(SHIFTS)
    s, e = _minutes(start), _minutes(end)
    spans = [(s, e)] if e > s else [(s, 24 * 60), (0, e)]
    needed = []
    for shift in SHIFTS:
        lo, hi = (h * 60 for h in SHIFT_WINDOWS[shift])
        if any(a < hi and lo < b for a, b in spans if b > a):
            needed.append(shift)
    return needed or list(SHIFTS)


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes or 0)


def requisition_status(target: int, matched: int, due: dt.date, today: dt.date) -> RequisitionStatus:
    if matched >= target:
        return RequisitionStatus.FILLED
    return RequisitionStatus.OVERDUE if today > due else RequisitionStatus.SHORT


# --- eligibility and ranking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What matching needs to know of a candidate."""

    id: str
    phone: str
    skills: frozenset[str]
    shifts: frozenset[str]
    basic_training_passed: bool
    basic_score: Decimal
    status: str = CandidateStatus.AVAILABLE
    platforms: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    experience_months: int = 0
    #: projects whose training did not admit this person: never matched to those again
    not_admitted_for: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Requirement:
    """What a project asks of its candidates."""

    shifts: frozenset[str]
    platform: str | None = None
    categories: frozenset[str] = field(default_factory=frozenset)
    project_id: str | None = None


def is_eligible(candidate: Profile, skill: str, requirement: Requirement) -> bool:
    """Eligible for a ``skill`` slot: passed basic training, available, has the skill, is available for at
    least one of the shifts the project's hours need, and was not already turned down by this project's
    training."""
    return (
        candidate.basic_training_passed
        and candidate.status == CandidateStatus.AVAILABLE
        and skill in candidate.skills
        and bool(candidate.shifts & requirement.shifts)
        and requirement.project_id not in candidate.not_admitted_for
    )


def score(candidate: Profile, requirement: Requirement) -> Decimal:
    """``basic_score`` (0–100) + 10 if the candidate has worked on the merchant's platform + 10 if on any of
    its product categories + 0.5 per month of customer-service experience, counted up to 24 months (12)."""
    points = candidate.basic_score
    if requirement.platform and requirement.platform in candidate.platforms:
        points += PLATFORM_BONUS
    if candidate.categories & requirement.categories:
        points += CATEGORY_BONUS
    points += EXPERIENCE_POINTS_PER_MONTH * min(max(candidate.experience_months, 0), EXPERIENCE_CAP_MONTHS)
    return points


def rank_key(candidate: Profile, requirement: Requirement) -> tuple[Decimal, Decimal, int, str]:
    """Highest score first; ties by basic_score, then experience, then phone (unique: a total order)."""
    return (
        -score(candidate, requirement),
        -candidate.basic_score,
        -candidate.experience_months,
        candidate.phone,
    )


@dataclass(frozen=True)
class Pick:
    candidate: Profile
    skill: str
    score: Decimal


def select_matches(
    pool: Iterable[Profile], quotas: Mapping[str, int], requirement: Requirement
) -> list[Pick]:
    """Fill each skill slot with the best eligible candidates, one candidate at most once.

    Slots are filled in the order after-sales, pre-sales: after-sales is the smaller share of a ``both``
    project (3 of 10), so people who can do both are not all used up by the larger pre-sales slot first.
    """
    taken: set[str] = set()
    picks: list[Pick] = []
    candidates = list(pool)
    for skill in sorted(quotas, key=lambda s: SKILLS.index(s), reverse=True):
        wanted = quotas[skill]
        if wanted <= 0:
            continue
        eligible = [c for c in candidates if c.id not in taken and is_eligible(c, skill, requirement)]
        eligible.sort(key=lambda c: rank_key(c, requirement))
        for candidate in eligible[:wanted]:
            taken.add(candidate.id)
            picks.append(Pick(candidate, skill, score(candidate, requirement)))
    return picks


def remaining_quotas(quotas: Mapping[str, int], matched_by_skill: Mapping[str, int]) -> dict[str, int]:
    return {skill: max(0, n - matched_by_skill.get(skill, 0)) for skill, n in quotas.items()}


# --- the funnel ------------------------------------------------------------------------------------------


def can_change_status_by_hand(current: str, wanted: str) -> bool:
    return current == wanted or (current, wanted) in MANUAL_TRANSITIONS


def summarize_counts(picks: Sequence[Pick]) -> dict[str, int]:
    out: dict[str, int] = {}
    for pick in picks:
        out[pick.skill] = out.get(pick.skill, 0) + 1
    return out
