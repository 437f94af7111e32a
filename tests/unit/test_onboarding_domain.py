"""Onboarding rules with the seeds' numbers: the go-live rule around National Day 2025, the seven-section
checklist, the life cycle, the FAQ sheet, and the input rules."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from services.onboarding import domain
from services.onboarding.domain import Action, ProjectFacts, Status
from shared.workdays import Calendar

CAL = Calendar()
FRIDAY_BEFORE_NATIONAL_DAY = date(2025, 9, 26)  # Sunday 09-28 is a make-up working day (调休)
TUESDAY_BEFORE_NATIONAL_DAY = date(2025, 9, 30)  # then Oct 1-8 off; Saturday 10-11 is worked

COMPLETE = ProjectFacts(
    service_type="presale",
    company_name="杭州某某旗舰店有限公司",
    contact_name="王经理",
    contact_phone="13812345678",
    liaison="李娜",
    hours_start="09:00",
    hours_end="24:00",
    seats=10,
    daily_consultations=2000,
    first_response_seconds=15,
    avg_response_seconds=30,
    conversion_rate=Decimal("35.00"),
    avg_order_value=Decimal("128.00"),
    satisfaction_rate=Decimal("98.00"),
    material_count=2,
    materials_complete=True,
    trainer="vendor",
    assessor="merchant",
    go_live_date=date(2025, 9, 30),
    qa_merchant_standard=False,
)


# --- go-live rule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confirmed", "earliest"),
    [
        (FRIDAY_BEFORE_NATIONAL_DAY, date(2025, 9, 30)),  # Sun 09-28 (调休), Mon 09-29, Tue 09-30
        (TUESDAY_BEFORE_NATIONAL_DAY, date(2025, 10, 11)),  # Thu 10-09, Fri 10-10, Sat 10-11 (调休)
        (date(2025, 10, 3), date(2025, 10, 11)),  # confirmed during the holiday
        (date(2025, 10, 10), date(2025, 10, 14)),  # Sat 10-11 (调休), Mon 10-13, Tue 10-14
        (date(2025, 11, 7), date(2025, 11, 12)),  # an ordinary Friday: Mon, Tue, Wed
    ],
)
def test_earliest_go_live_is_three_china_working_days_after_confirmation(
    confirmed: date, earliest: date
) -> None:
    assert domain.earliest_go_live(confirmed, CAL, 3) == earliest


def test_a_friday_confirmation_before_national_day_refuses_monday_and_names_tuesday() -> None:
    problem = domain.go_live_problem(date(2025, 9, 29), FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3)
    assert problem is not None
    assert "2025-09-29 is 2 working days after 2025-09-26" in problem
    assert "at least 3 working days" in problem
    assert problem.endswith("The earliest acceptable go-live date is 2025-09-30.")
    assert domain.go_live_problem(date(2025, 9, 30), FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3) is None


def test_the_make_up_saturday_counts_as_the_third_working_day() -> None:
    problem = domain.go_live_problem(date(2025, 10, 10), TUESDAY_BEFORE_NATIONAL_DAY, CAL, 3)
    assert problem is not None and "earliest acceptable go-live date is 2025-10-11" in problem
    assert domain.go_live_problem(date(2025, 10, 11), TUESDAY_BEFORE_NATIONAL_DAY, CAL, 3) is None


def test_a_go_live_date_during_the_holiday_is_refused() -> None:
    problem = domain.go_live_problem(date(2025, 10, 5), TUESDAY_BEFORE_NATIONAL_DAY, CAL, 3)
    assert problem is not None and "is 0 working days after 2025-09-30" in problem


def test_the_minimum_is_a_setting() -> None:
    # 09-28 (调休), 09-29, 09-30, then 10-09, 10-10 after the holiday
    assert domain.earliest_go_live(FRIDAY_BEFORE_NATIONAL_DAY, CAL, 5) == date(2025, 10, 10)
    assert domain.go_live_problem(date(2025, 9, 30), FRIDAY_BEFORE_NATIONAL_DAY, CAL, 5) is not None


def test_a_date_beyond_seven_working_days_is_fine_and_noted() -> None:
    far = dataclasses.replace(COMPLETE, go_live_date=date(2025, 12, 1))
    result = domain.build_checklist(far, FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3)
    assert result.complete
    # 7 working days after Fri 09-26: 09-28, 29, 30, 10-09, 10, 11, 13
    assert result.notes == (
        "The go-live date is more than 7 working days away (after 2025-10-13); that is fine.",
    )


# --- checklist -------------------------------------------------------------------------------------------


def test_a_complete_project_passes_all_seven_sections() -> None:
    result = domain.build_checklist(COMPLETE, FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3)
    assert [s.key for s in result.sections] == [
        "basics",
        "metrics",
        "materials",
        "training",
        "go_live",
        "qa",
        "other",
    ]
    assert all(s.complete for s in result.sections)
    assert result.complete
    assert result.earliest_go_live_date == date(2025, 9, 30)
    assert result.notes == ()


def test_an_empty_draft_lists_every_missing_item() -> None:
    result = domain.build_checklist(ProjectFacts(), FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3)
    missing = {s.key: [m.field for m in s.missing] for s in result.sections}
    assert missing == {
        "basics": [
            "merchant.company_name",
            "merchant.contact_name",
            "merchant.contact_phone",
            "service.type",
            "service.hours",
            "service.seats",
            "merchant.liaison",
        ],
        "metrics": [
            "metrics.daily_consultations",
            "metrics.first_response_seconds",
            "metrics.avg_response_seconds",
            "metrics.conversion_rate",
            "metrics.avg_order_value",
            "metrics.satisfaction_rate",
        ],
        "materials": ["materials", "materials.complete"],
        "training": ["training.trainer", "training.assessor"],
        "go_live": ["go_live_date"],
        "qa": ["qa.merchant_standard"],
        "other": [],
    }
    assert not result.complete
    go_live = next(s for s in result.sections if s.key == "go_live")
    assert "the earliest acceptable is 2025-09-30" in go_live.missing[0].message


def test_after_sales_does_not_need_conversion_or_order_value() -> None:
    facts = dataclasses.replace(
        COMPLETE, service_type="aftersale", conversion_rate=None, avg_order_value=None
    )
    assert domain.build_checklist(facts, FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3).complete
    presale = dataclasses.replace(facts, service_type="both")
    metrics = domain.build_checklist(presale, FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3).sections[1]
    assert [m.field for m in metrics.missing] == ["metrics.conversion_rate", "metrics.avg_order_value"]


@pytest.mark.parametrize(
    ("changes", "complete", "missing"),
    [
        ({"material_count": 0, "materials_complete": True}, False, ["materials"]),
        ({"material_count": 3, "materials_complete": False}, False, ["materials.complete"]),
        (
            {
                "material_count": 0,
                "materials_complete": False,
                "materials_supplement": "SKU表",
                "materials_supplement_due": date(2025, 9, 29),
            },
            True,
            [],
        ),
        (
            {"material_count": 1, "materials_complete": False, "materials_supplement": "SKU表"},
            False,
            ["materials.complete"],
        ),
    ],
)
def test_materials_are_complete_when_uploaded_and_marked_or_a_supplement_is_scheduled(
    changes: dict[str, object], complete: bool, missing: list[str]
) -> None:
    section = domain.build_checklist(
        dataclasses.replace(COMPLETE, **changes),
        FRIDAY_BEFORE_NATIONAL_DAY,
        CAL,
        3,  # type: ignore[arg-type]
    ).sections[2]
    assert section.complete is complete
    assert [m.field for m in section.missing] == missing


@pytest.mark.parametrize(
    ("merchant_standard", "standard", "missing"),
    [
        (None, None, ["qa.merchant_standard"]),
        (True, None, ["qa.standard"]),
        (True, "  ", ["qa.standard"]),
        (True, "差评24小时内回访", []),
        (False, None, []),  # the vendor's standard is used
    ],
)
def test_qa_section(merchant_standard: bool | None, standard: str | None, missing: list[str]) -> None:
    facts = dataclasses.replace(COMPLETE, qa_merchant_standard=merchant_standard, qa_standard=standard)
    section = domain.build_checklist(facts, FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3).sections[5]
    assert [m.field for m in section.missing] == missing


def test_a_go_live_date_too_soon_makes_the_section_incomplete() -> None:
    facts = dataclasses.replace(COMPLETE, go_live_date=date(2025, 9, 29))
    result = domain.build_checklist(facts, FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3)
    assert [s.key for s in result.sections if not s.complete] == ["go_live"]
    assert "2025-09-30" in result.describe_missing()


def test_blank_strings_count_as_missing() -> None:
    facts = dataclasses.replace(COMPLETE, company_name="   ", liaison="")
    basics = domain.build_checklist(facts, FRIDAY_BEFORE_NATIONAL_DAY, CAL, 3).sections[0]
    assert [m.field for m in basics.missing] == ["merchant.company_name", "merchant.liaison"]


# --- life cycle ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (Status.DRAFT, ["submit", "cancel"]),
        (Status.SUBMITTED, ["return", "confirm"]),
        (Status.RETURNED, ["submit", "cancel"]),
        (Status.CONFIRMED, ["go-live", "close"]),
        (Status.LIVE, ["close"]),
        (Status.CLOSED, []),
        (Status.CANCELLED, []),
    ],
)
def test_allowed_actions_per_status(status: Status, allowed: list[str]) -> None:
    assert domain.allowed_actions(status) == allowed


def test_the_whole_path_and_a_return() -> None:
    s = Status.DRAFT
    for action, expected in [
        (Action.SUBMIT, Status.SUBMITTED),
        (Action.RETURN, Status.RETURNED),
        (Action.SUBMIT, Status.SUBMITTED),
        (Action.CONFIRM, Status.CONFIRMED),
        (Action.GO_LIVE, Status.LIVE),
        (Action.CLOSE, Status.CLOSED),
    ]:
        s = domain.next_status(s, action)
        assert s == expected


def test_an_illegal_transition_lists_the_allowed_ones() -> None:
    with pytest.raises(domain.IllegalTransition) as caught:
        domain.next_status(Status.DRAFT, Action.CONFIRM)
    assert caught.value.allowed == ["submit", "cancel"]
    assert str(caught.value) == (
        "A draft project cannot be sent to 'confirm'; from draft the allowed actions are: submit, cancel."
    )
    with pytest.raises(domain.IllegalTransition) as finished:
        domain.next_status(Status.CLOSED, Action.CLOSE)
    assert "none (the project is finished)" in str(finished.value)


def test_cancel_is_only_for_draft_or_returned() -> None:
    for status in (Status.SUBMITTED, Status.CONFIRMED, Status.LIVE):
        with pytest.raises(domain.IllegalTransition):
            domain.next_status(status, Action.CANCEL)


@pytest.mark.parametrize(
    ("status", "vendor", "fields", "refused"),
    [
        (Status.DRAFT, False, ["metrics.conversion_rate"], False),
        (Status.RETURNED, False, ["service.seats"], False),
        (Status.SUBMITTED, False, ["service.seats"], True),
        (Status.SUBMITTED, True, ["service.seats"], False),
        (Status.CONFIRMED, True, ["service.seats", "go_live_date"], False),
        (Status.CONFIRMED, True, ["metrics.conversion_rate"], True),
        (Status.CONFIRMED, False, ["service.seats"], True),
        (Status.LIVE, True, ["service.hours"], False),
        (Status.LIVE, True, ["go_live_date"], True),
        (Status.CLOSED, True, ["notes"], True),
        (Status.CANCELLED, False, ["notes"], True),
    ],
)
def test_who_may_edit_what_when(status: Status, vendor: bool, fields: list[str], refused: bool) -> None:
    if refused:
        with pytest.raises(domain.EditRefused):
            domain.check_edit(status, vendor, fields)
    else:
        domain.check_edit(status, vendor, fields)


def test_a_refused_edit_after_confirmation_names_the_editable_fields() -> None:
    with pytest.raises(domain.EditRefused) as caught:
        domain.check_edit(Status.CONFIRMED, True, ["metrics.conversion_rate", "service.seats"])
    assert caught.value.editable == list(domain.EDITABLE_AFTER_CONFIRMATION)
    assert "refused: metrics.conversion_rate" in str(caught.value)


# --- FAQ sheet -------------------------------------------------------------------------------------------


def test_the_standard_questions_are_the_seeds() -> None:
    assert domain.STANDARD_KEYS == (
        "stock",
        "max_bargain",
        "exchange_shipping",
        "quality_discount",
        "invoice",
        "receipt",
        "packing_list",
        "promises",
        "courier_change",
        "review_cashback",
        "gifts",
        "welcome",
        "waiting",
        "closing",
        "emergency",
        "arrival_time",
    )
    q = domain.QUESTIONS_BY_KEY
    assert q["stock"].question == "能拍的都有货吗?"
    assert q["max_bargain"].question == "最大议价空间是多少?"
    assert q["invoice"].question == "发票(发票类别、发票寄出时间、补寄发票运费承担人)"
    assert q["welcome"].question == "欢迎语" and q["welcome"].hint == "话术要包含:欢迎语 活动 引导自助购物"
    assert q["arrival_time"].question == "敏感问题:什么时候能收到货?"
    assert [k for k in domain.STANDARD_KEYS if q[k].group == "script"] == [
        "welcome",
        "waiting",
        "closing",
        "emergency",
        "arrival_time",
    ]


def test_unanswered_questions_in_sheet_order() -> None:
    answers = {key: "有" for key in domain.STANDARD_KEYS}
    assert domain.unanswered_questions(answers) == []
    answers["gifts"] = "  "
    del answers["stock"]
    assert domain.unanswered_questions(answers) == ["stock", "gifts"]


# --- input rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("13812345678", True),
        ("138 1234 5678", True),
        ("+86 138-1234-5678", True),
        ("021-12345678", True),
        ("(0755)87654321", True),
        ("010-1234567-808", True),
        ("021 12345678 转 123", True),
        ("400-123-4567", True),
        ("12812345678", False),  # no 12x mobile prefix
        ("1381234567", False),  # 10 digits
        ("12345", False),
        ("0211234", False),
        ("+1 415 555 0100", False),
        ("phone", False),
    ],
)
def test_chinese_phone_numbers(raw: str, valid: bool) -> None:
    assert (domain.normalize_phone(raw) is not None) is valid


@pytest.mark.parametrize(
    ("start", "end", "overnight", "ok"),
    [
        ("09:00", "18:00", False, True),
        ("00:00", "24:00", False, True),
        ("18:00", "09:00", False, False),  # ends before it starts, not declared overnight
        ("09:00", "09:00", False, False),
        ("20:00", "02:00", True, True),  # explicitly across midnight
        ("09:00", "18:00", True, False),  # says overnight but is not
        ("25:00", "26:00", False, False),
        ("9:00", "18:00", False, False),
        ("24:00", "02:00", True, False),
    ],
)
def test_service_hours(start: str, end: str, overnight: bool, ok: bool) -> None:
    assert (domain.hours_problem(start, end, overnight) is None) is ok
