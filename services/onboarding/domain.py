"""The onboarding rules (服务之订单确认 / 服务之资料提交, seed 004) as plain functions: no Flask, no SQL.

- the project's life cycle and who may move it where;
- the seven-section confirmation checklist (确认信息), computed from the project every time it is asked
  for, never stored as flags that could drift from the data;
- the go-live rule: at least N working days (default 3, "一般在3-7个工作日") after the confirmation day,
  counted in Asia/Shanghai with China's holidays and make-up working days (调休);
- the standard FAQ sheet (常见问题咨询&话术, seed 004) plus the festival scripts of seed 003;
- the input rules that are not mere types (Chinese phone numbers, service hours across midnight).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from shared.workdays import Calendar

# --- life cycle ------------------------------------------------------------------------------------------


class Status(StrEnum):
    DRAFT = "draft"  # 草稿: the merchant is filling it in
    SUBMITTED = "submitted"  # 已提交: waiting for the vendor's review
    RETURNED = "returned"  # 已退回: the vendor sent it back with reasons
    CONFIRMED = "confirmed"  # 已确认: the vendor accepted the order (订单确认)
    LIVE = "live"  # 已上线: agents are serving
    CLOSED = "closed"  # 已结束
    CANCELLED = "cancelled"  # 已取消: withdrawn before confirmation


class Action(StrEnum):
    SUBMIT = "submit"
    RETURN = "return"
    CONFIRM = "confirm"
    GO_LIVE = "go-live"
    CLOSE = "close"
    CANCEL = "cancel"


TRANSITIONS: Mapping[tuple[Status, Action], Status] = {
    (Status.DRAFT, Action.SUBMIT): Status.SUBMITTED,
    (Status.DRAFT, Action.CANCEL): Status.CANCELLED,
    (Status.RETURNED, Action.SUBMIT): Status.SUBMITTED,
    (Status.RETURNED, Action.CANCEL): Status.CANCELLED,
    (Status.SUBMITTED, Action.RETURN): Status.RETURNED,
    (Status.SUBMITTED, Action.CONFIRM): Status.CONFIRMED,
    (Status.CONFIRMED, Action.GO_LIVE): Status.LIVE,
    (Status.CONFIRMED, Action.CLOSE): Status.CLOSED,
    (Status.LIVE, Action.CLOSE): Status.CLOSED,
}

#: Which side may take each action (admin may take all of them).
ACTION_ROLES: Mapping[Action, tuple[str, ...]] = {
    Action.SUBMIT: ("merchant", "vendor"),
    Action.RETURN: ("vendor",),
    Action.CONFIRM: ("vendor",),
    Action.GO_LIVE: ("vendor",),
    Action.CLOSE: ("vendor",),
    Action.CANCEL: ("merchant", "vendor"),
}

#: Statuses before the vendor's confirmation: the order is still being settled.
OPEN_STATUSES = frozenset({Status.DRAFT, Status.SUBMITTED, Status.RETURNED})
#: Statuses where nothing changes any more.
FINAL_STATUSES = frozenset({Status.CLOSED, Status.CANCELLED})


class IllegalTransition(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        self.status = status
        self.action = action
        self.allowed = allowed_actions(status)
        allowed = ", ".join(self.allowed) if self.allowed else "none (the project is finished)"
        super().__init__(
            f"A {status.value} project cannot be sent to '{action.value}'; "
            f"from {status.value} the allowed actions are: {allowed}."
        )


def allowed_actions(status: Status) -> list[str]:
    return [a.value for (s, a) in TRANSITIONS if s == status]


def next_status(status: Status, action: Action) -> Status:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None


# --- editing rules ---------------------------------------------------------------------------------------

#: After confirmation the order is settled; only what really moves (seats, hours, go-live, contacts) may
#: change, and only by the vendor, who tells the other services (project.updated).
EDITABLE_AFTER_CONFIRMATION: tuple[str, ...] = (
    "service.seats",
    "service.hours",
    "service.type",
    "go_live_date",
    "merchant.contact_name",
    "merchant.contact_phone",
    "merchant.liaison",
    "notes",
)
#: Changes of a confirmed project that the other services' read models depend on.
ANNOUNCED_FIELDS: Mapping[str, str] = {
    "service.seats": "seats",
    "service.hours": "service_hours",
    "service.type": "service_type",
    "go_live_date": "go_live_date",
}


class EditRefused(Exception):
    def __init__(self, message: str, editable: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.editable = list(editable)


def check_edit(status: Status, vendor_side: bool, fields: Iterable[str]) -> None:
    """Raise EditRefused unless this side may change these (dotted) fields of a project in ``status``."""
    fields = sorted(set(fields))
    if status in FINAL_STATUSES:
        raise EditRefused(f"A {status.value} project can no longer be changed.")
    if status in (Status.DRAFT, Status.RETURNED):
        return
    if status == Status.SUBMITTED:
        if vendor_side:
            return
        raise EditRefused(
            "A submitted project is under the vendor's review and cannot be edited by the merchant; "
            "ask the vendor to return it (then edit and submit again)."
        )
    # confirmed / live
    editable = [f for f in EDITABLE_AFTER_CONFIRMATION if not (status == Status.LIVE and f == "go_live_date")]
    if not vendor_side:
        raise EditRefused(
            f"A {status.value} project is changed by the vendor only; ask the vendor for the change.",
            editable,
        )
    refused = [f for f in fields if f not in editable]
    if refused:
        raise EditRefused(
            f"Of a {status.value} project only these fields may change: {', '.join(editable)}; "
            f"refused: {', '.join(refused)}.",
            editable,
        )


# --- go-live rule (上线时间) -------------------------------------------------------------------------------

DEFAULT_MIN_GO_LIVE_WORKDAYS = 3
#: What the vendor tells the merchant is normal (seed 004: 3-7个工作日); later dates are fine too.
TYPICAL_MAX_GO_LIVE_WORKDAYS = 7


def earliest_go_live(confirmation_day: date, calendar: Calendar, min_workdays: int) -> date:
    """The first acceptable go-live date: ``min_workdays`` China working days after the confirmation day.

    Confirmed on Friday 2025-09-26 → 2025-09-30 (Sunday 09-28 is a make-up working day before 国庆);
    confirmed on Tuesday 2025-09-30 → 2025-10-11 (Oct 1-8 off, Saturday 10-11 worked).
    """
    return calendar.add_workdays(confirmation_day, min_workdays)


def go_live_problem(
    go_live: date, confirmation_day: date, calendar: Calendar, min_workdays: int
) -> str | None:
    """None when ``go_live`` satisfies the rule; otherwise what is wrong and the earliest acceptable date."""
    earliest = earliest_go_live(confirmation_day, calendar, min_workdays)
    if go_live >= earliest:
        return None
    gap = calendar.workdays_between(confirmation_day, go_live)
    return (
        f"The go-live date {go_live.isoformat()} is {max(gap, 0)} working day{'s' if gap != 1 else ''} "
        f"after {confirmation_day.isoformat()}; it must be at least {min_workdays} working days after the "
        f"confirmation day (China's calendar). "
        f"The earliest acceptable go-live date is {earliest.isoformat()}."
    )


# --- the FAQ sheet (常见问题咨询&话术) ------------------------------------------------------------------


@dataclass(frozen=True)
class StandardQuestion:
    key: str
    question: str  # the seed's own wording
    label: str  # English, for the API reader
    group: str  # "faq" (seed 004) or "script" (festival scripts, seed 003)
    hint: str = ""  # what the answer must contain (话术要包含)


STANDARD_QUESTIONS: tuple[StandardQuestion, ...] = (
    StandardQuestion("stock", "能拍的都有货吗?", "Is everything orderable in stock?", "faq"),
    StandardQuestion("max_bargain", "最大议价空间是多少?", "Largest bargaining room", "faq"),
    StandardQuestion(
        "exchange_shipping",
        "非质量问题的换货,可以考虑承担一程的运费吗?",
        "Non-quality exchange: does the shop pay one leg of shipping?",
        "faq",
    ),
    StandardQuestion(
        "quality_discount",
        "质量问题可以先给顾客优惠处理吗?最多能优惠多少?",
        "Quality problem: settle with a discount first? How much at most?",
        "faq",
    ),
    StandardQuestion(
        "invoice",
        "发票(发票类别、发票寄出时间、补寄发票运费承担人)",
        "Invoices: type, when sent, who pays re-sending",
        "faq",
    ),
    StandardQuestion(
        "receipt",
        "收据(是否有收据、收据和发票能否同时寄出)",
        "Receipts: is there one, sent with the invoice?",
        "faq",
    ),
    StandardQuestion("packing_list", "发货清单(是否有发货清单)", "Packing list", "faq"),
    StandardQuestion("promises", "承诺", "Promises to customers", "faq"),
    StandardQuestion("courier_change", "发货后换快递", "Changing courier after dispatch", "faq"),
    # the seed writes 好评发现, a slip for 好评返现 (cash back for a good review)
    StandardQuestion(
        "review_cashback",
        "好评返现(是否有好评返现,好评返现的方式:红包、减免等)",
        "Cash back for good reviews: red packet, discount …",
        "faq",
    ),
    StandardQuestion("gifts", "赠品(是否有赠品、赠品可否多送)", "Gifts: any? can more be given?", "faq"),
    StandardQuestion("welcome", "欢迎语", "Welcome script", "script", "话术要包含:欢迎语 活动 引导自助购物"),
    StandardQuestion("waiting", "等候语", "Waiting apology", "script", "话术要包含:等候致歉 具体问题解答"),
    StandardQuestion(
        "closing", "结束语", "Closing script", "script", "话术要包含:发货说明 注意事项/使用说明"
    ),
    StandardQuestion(
        "emergency",
        "突发情况,客户购物出现障碍",
        "System trouble: the customer cannot shop",
        "script",
        "话术要包含:问题是如何产生的 建议解决方法",
    ),
    StandardQuestion(
        "arrival_time",
        "敏感问题:什么时候能收到货?",
        "Sensitive question: when will it arrive?",
        "script",
        "话术要包含:发货说明 快递情况说明",
    ),
)
STANDARD_KEYS: tuple[str, ...] = tuple(q.key for q in STANDARD_QUESTIONS)
QUESTIONS_BY_KEY: Mapping[str, StandardQuestion] = {q.key: q for q in STANDARD_QUESTIONS}


#: Seed 004 closes the sheet with "常见问题由于各店铺不同,由商家根据以往工作中常遇到的问题为主": the common
#: questions differ by shop and are mainly the shop's own. So a standard question may not apply to a shop,
#: and a sheet without a single question of the shop's own is not finished.
DEFAULT_MIN_OWN_QUESTIONS = 1


def is_answered(answer: str | None) -> bool:
    return bool(answer and answer.strip())


def unanswered_questions(answers: Mapping[str, str | None]) -> list[str]:
    """The standard keys without an answer, in the sheet's order."""
    return [key for key in STANDARD_KEYS if not is_answered(answers.get(key))]


@dataclass(frozen=True)
class StandardState:
    """One standard question on a shop's sheet: answered, or marked not applicable (不适用), or neither."""

    answer: str | None = None
    not_applicable: bool = False


def not_applicable_problem(answer: str | None, not_applicable: bool) -> str | None:
    """A question either has an answer or does not apply: both at once would leave agents guessing."""
    if not_applicable and is_answered(answer):
        return (
            "A question marked not applicable (not_applicable: true) takes no answer; leave the answer "
            "empty, or answer it and drop the mark."
        )
    return None


@dataclass(frozen=True)
class FaqProgress:
    """How far the sheet is: the confirmation checklist's FAQ part."""

    answered: tuple[str, ...]
    not_applicable: tuple[str, ...]
    unanswered: tuple[str, ...]
    own_questions: int
    #: 1-based positions among the shop's own questions of those still without an answer
    own_unanswered: tuple[int, ...]
    min_own_questions: int

    @property
    def complete(self) -> bool:
        return not self.problems()

    def problems(self) -> list[str]:
        out: list[str] = []
        if self.unanswered:
            listed = ", ".join(f"{k} ({QUESTIONS_BY_KEY[k].question})" for k in self.unanswered)
            out.append(
                f"every standard FAQ question must be answered or marked not applicable; open: {listed}"
            )
        if self.own_questions < self.min_own_questions:
            out.append(
                "the shop's own common questions come first (seed 004): the sheet needs at least "
                f"{self.min_own_questions} of the shop's own questions with their answers (custom), "
                f"it has {self.own_questions}"
            )
        if self.own_unanswered:
            listed = ", ".join(f"custom #{n}" for n in self.own_unanswered)
            out.append(f"each of the shop's own questions needs its answer; unanswered: {listed}")
        return out


def faq_progress(
    standard: Mapping[str, StandardState], own_answers: Iterable[str | None], min_own_questions: int
) -> FaqProgress:
    """Count the sheet: standard questions answered, not applicable or open; the shop's own questions."""
    answered, not_applicable, unanswered = [], [], []
    for key in STANDARD_KEYS:
        state = standard.get(key, StandardState())
        if is_answered(state.answer):
            answered.append(key)
        elif state.not_applicable:
            not_applicable.append(key)
        else:
            unanswered.append(key)
    own = list(own_answers)
    return FaqProgress(
        answered=tuple(answered),
        not_applicable=tuple(not_applicable),
        unanswered=tuple(unanswered),
        own_questions=len(own),
        own_unanswered=tuple(n for n, answer in enumerate(own, start=1) if not is_answered(answer)),
        min_own_questions=min_own_questions,
    )


# --- the seven-section checklist (订单确认) ----------------------------------------------------------------


@dataclass(frozen=True)
class ProjectFacts:
    """What the checklist reads of a project (built by the service layer from its rows)."""

    service_type: str | None = None
    company_name: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    liaison: str | None = None
    hours_start: str | None = None
    hours_end: str | None = None
    seats: int | None = None
    daily_consultations: int | None = None
    first_response_seconds: int | None = None
    avg_response_seconds: int | None = None
    conversion_rate: Decimal | None = None
    avg_order_value: Decimal | None = None
    satisfaction_rate: Decimal | None = None
    material_count: int = 0
    materials_complete: bool = False
    materials_supplement: str | None = None
    materials_supplement_due: date | None = None
    trainer: str | None = None
    assessor: str | None = None
    go_live_date: date | None = None
    qa_merchant_standard: bool | None = None
    qa_standard: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class MissingItem:
    field: str
    message: str


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    missing: tuple[MissingItem, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Checklist:
    sections: tuple[Section, ...]
    earliest_go_live_date: date
    reference_day: date
    min_workdays: int
    notes: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return all(s.complete for s in self.sections)

    @property
    def missing(self) -> list[tuple[Section, MissingItem]]:
        return [(s, m) for s in self.sections for m in s.missing]

    def describe_missing(self) -> str:
        return "; ".join(f"[{s.key}] {m.message}" for s, m in self.missing)


SECTION_TITLES: Mapping[str, str] = {
    "basics": "Merchant basics (商家基本信息)",
    "metrics": "Service metrics (服务指标)",
    "materials": "Training materials (培训资料)",
    "training": "Training and assessment (培训及考核要求)",
    "go_live": "Go-live date (上线时间要求)",
    "qa": "Quality inspection (质检要求)",
    "other": "Other requests (其他信息)",
}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _require(facts: ProjectFacts, wanted: Iterable[tuple[str, str, str]]) -> tuple[MissingItem, ...]:
    return tuple(
        MissingItem(path, f"{label} is not given ({path}).")
        for attr, path, label in wanted
        if _blank(getattr(facts, attr))
    )


def _basics(f: ProjectFacts) -> Section:
    missing = list(
        _require(
            f,
            (
                ("company_name", "merchant.company_name", "Company name (公司名称)"),
                ("contact_name", "merchant.contact_name", "Contact person (联系人)"),
                ("contact_phone", "merchant.contact_phone", "Contact phone"),
                ("service_type", "service.type", "Service business (服务业务: presale/aftersale/both)"),
            ),
        )
    )
    if f.hours_start is None or f.hours_end is None:
        missing.append(
            MissingItem("service.hours", "Service hours (服务时间) are not given (service.hours).")
        )
    missing.extend(
        _require(
            f,
            (
                ("seats", "service.seats", "Number of agents (客服数)"),
                ("liaison", "merchant.liaison", "Liaison (对接人)"),
            ),
        )
    )
    return Section("basics", SECTION_TITLES["basics"], tuple(missing))


def _metrics(f: ProjectFacts) -> Section:
    wanted = [
        ("daily_consultations", "metrics.daily_consultations", "Daily consultation volume (咨询量)"),
        ("first_response_seconds", "metrics.first_response_seconds", "First response time (首响)"),
        ("avg_response_seconds", "metrics.avg_response_seconds", "Average response time (平响)"),
        ("conversion_rate", "metrics.conversion_rate", "Conversion rate (转化率)"),
        ("avg_order_value", "metrics.avg_order_value", "Average order value (客单价)"),
        ("satisfaction_rate", "metrics.satisfaction_rate", "Satisfaction (满意度)"),
    ]
    if f.service_type == "aftersale":
        # after-sales agents do not sell: conversion and order value are pre-sales targets
        wanted = [w for w in wanted if w[0] not in ("conversion_rate", "avg_order_value")]
    return Section("metrics", SECTION_TITLES["metrics"], _require(f, wanted))


def _materials(f: ProjectFacts) -> Section:
    if f.material_count > 0 and f.materials_complete:
        return Section("materials", SECTION_TITLES["materials"])
    if not _blank(f.materials_supplement) and f.materials_supplement_due is not None:
        return Section("materials", SECTION_TITLES["materials"])
    missing: list[MissingItem] = []
    if f.material_count == 0:
        missing.append(MissingItem("materials", "No training materials (培训资料) have been uploaded yet."))
    if not f.materials_complete:
        missing.append(
            MissingItem(
                "materials.complete",
                "The merchant has not marked the training materials complete (materials.complete); "
                "alternatively the vendor records what must be supplemented (materials.supplement) "
                "and by which date (materials.supplement_due).",
            )
        )
    return Section("materials", SECTION_TITLES["materials"], tuple(missing))


def _training(f: ProjectFacts) -> Section:
    return Section(
        "training",
        SECTION_TITLES["training"],
        _require(
            f,
            (
                ("trainer", "training.trainer", "Who trains (商家培训还是我方培训: vendor/merchant)"),
                ("assessor", "training.assessor", "Who assesses (考核方: vendor/merchant)"),
            ),
        ),
    )


def _go_live(f: ProjectFacts, day: date, calendar: Calendar, min_workdays: int) -> Section:
    if f.go_live_date is None:
        earliest = earliest_go_live(day, calendar, min_workdays)
        item = MissingItem(
            "go_live_date",
            f"The go-live date (上线时间) is not given (go_live_date); the earliest acceptable is "
            f"{earliest.isoformat()}.",
        )
        return Section("go_live", SECTION_TITLES["go_live"], (item,))
    problem = go_live_problem(f.go_live_date, day, calendar, min_workdays)
    missing = (MissingItem("go_live_date", problem),) if problem else ()
    return Section("go_live", SECTION_TITLES["go_live"], missing)


def _qa(f: ProjectFacts) -> Section:
    if f.qa_merchant_standard is None:
        item = MissingItem(
            "qa.merchant_standard",
            "Say whether the merchant has its own QA standard (qa.merchant_standard); without one the "
            "vendor's standard is used (false).",
        )
        return Section("qa", SECTION_TITLES["qa"], (item,))
    if f.qa_merchant_standard and _blank(f.qa_standard):
        item = MissingItem(
            "qa.standard",
            "The merchant has its own QA standard but has not described it (qa.standard); describe it "
            "or choose the vendor's standard (qa.merchant_standard false).",
        )
        return Section("qa", SECTION_TITLES["qa"], (item,))
    return Section("qa", SECTION_TITLES["qa"])


def build_checklist(
    facts: ProjectFacts, reference_day: date, calendar: Calendar, min_workdays: int
) -> Checklist:
    """The seven sections, computed. ``reference_day`` is the confirmation day the go-live rule counts
    from: today (Shanghai) while the project is open, the actual confirmation day once confirmed."""
    sections = (
        _basics(facts),
        _metrics(facts),
        _materials(facts),
        _training(facts),
        _go_live(facts, reference_day, calendar, min_workdays),
        _qa(facts),
        Section("other", SECTION_TITLES["other"]),  # anything the merchant adds; never blocks
    )
    notes: tuple[str, ...] = ()
    if facts.go_live_date is not None:
        typical_latest = calendar.add_workdays(reference_day, TYPICAL_MAX_GO_LIVE_WORKDAYS)
        if facts.go_live_date > typical_latest:
            notes = (
                f"The go-live date is more than {TYPICAL_MAX_GO_LIVE_WORKDAYS} working days away "
                f"(after {typical_latest.isoformat()}); that is fine.",
            )
    return Checklist(
        sections=sections,
        earliest_go_live_date=earliest_go_live(reference_day, calendar, min_workdays),
        reference_day=reference_day,
        min_workdays=min_workdays,
        notes=notes,
    )


# --- input rules -----------------------------------------------------------------------------------------

# 11-digit mobile (13x–19x), optionally +86/0086; a landline with its area code (010, 021, 0755 …, or
# +86 21 …) and an optional extension; or a 400/800 service number — the forms a shop gives as its contact.
_MOBILE = re.compile(r"(?:\+?86|0086)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"(?:(?:\+?86|0086)[1-9]\d{1,2}|0\d{2,3})\d{7,8}")
_SERVICE_NUMBER = re.compile(r"[48]00\d{7}")
_EXTENSION = re.compile(r"(.+?)\s*(?:ext\.?|转|#)\s*(\d{1,6})", re.IGNORECASE)
_DASHED_EXTENSION = re.compile(r"((?:\+?86-?|0086-?)?0?\d{2,3})-(\d{7,8})-(\d{1,6})")


def normalize_phone(raw: str) -> str | None:
    """The number without spaces, dashes and parentheses (an extension kept as ``-123``), or None when it
    is not a Chinese mobile, landline or 400/800 number."""
    main, ext = raw.strip(), ""
    m = _EXTENSION.fullmatch(main)
    if m:
        main, ext = m.group(1), m.group(2)
    compact = re.sub(r"[\s()()]", "", main)
    if not ext:
        m = _DASHED_EXTENSION.fullmatch(compact)  # "021-12345678-123": the third group is an extension
        if m:
            compact, ext = m.group(1) + m.group(2), m.group(3)
    digits = compact.replace("-", "")
    if not ext and (_MOBILE.fullmatch(digits) or _SERVICE_NUMBER.fullmatch(digits)):
        return digits
    if _LANDLINE.fullmatch(digits):
        return digits + (f"-{ext}" if ext else "")
    return None


_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")


def hours_problem(start: str, end: str, overnight: bool) -> str | None:
    """Service hours are HH:MM; ``end`` after ``start`` on the same day, or before it with ``overnight``
    (an explicit shift across midnight, e.g. 20:00 → 02:00). 00:00-24:00 is round the clock."""
    if not _HHMM.fullmatch(start) or start == "24:00":
        return "start must be HH:MM between 00:00 and 23:59."
    if not _HHMM.fullmatch(end):
        return "end must be HH:MM between 00:00 and 24:00."
    if overnight:
        if end == "24:00" or end >= start:
            return (
                f"overnight hours must end before they start on the clock (e.g. 20:00 → 02:00); "
                f"{start} → {end} does not cross midnight, so leave overnight false."
            )
        return None
    if end <= start:
        return f"end ({end}) must be after start ({start}); for hours across midnight set overnight: true."
    return None
