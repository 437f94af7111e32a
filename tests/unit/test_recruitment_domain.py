"""Recruitment rules with the seed's numbers: 1:3 matching, basic training required, 1–3 working days."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from services.recruitment import domain
from services.recruitment.config import RecruitmentSettings
from services.recruitment.domain import Profile, Requirement
from shared.workdays import add_workdays

ALL_SHIFTS = Requirement(shifts=frozenset(domain.SHIFTS))


def person(
    n: int,
    *,
    skills: tuple[str, ...] = ("presale",),
    shifts: tuple[str, ...] = ("morning",),
    passed: bool = True,
    score: str = "80",
    status: str = "available",
    platforms: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    months: int = 0,
) -> Profile:
    return Profile(
        id=f"c{n:03d}",
        phone=f"138{n:08d}",
        skills=frozenset(skills),
        shifts=frozenset(shifts),
        basic_training_passed=passed,
        basic_score=Decimal(score),
        status=status,
        platforms=frozenset(platforms),
        categories=frozenset(categories),
        experience_months=months,
    )


# --- ratio, target, due date -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seats", "ratio", "target"),
    [
        (10, Decimal(3), 30),
        (1, Decimal(3), 3),
        (500, Decimal(3), 1500),
        (7, Decimal("2.5"), 18),
        (3, Decimal("1.5"), 5),
    ],
)
def test_target_is_seats_times_ratio_rounded_up(seats: int, ratio: Decimal, target: int) -> None:
    assert domain.match_target(seats, ratio) == target


def test_the_default_ratio_is_the_seeds_one_to_three() -> None:
    assert RecruitmentSettings().match_ratio == Decimal(3)
    assert domain.match_target(10, RecruitmentSettings().match_ratio) == 30


def test_due_date_is_three_china_working_days_after_confirmation() -> None:
    assert RecruitmentSettings().due_workdays == 3
    # an ordinary week: Monday 2025-09-22 → Thursday 2025-09-25
    assert domain.due_date(dt.date(2025, 9, 22), 3, add_workdays) == dt.date(2025, 9, 25)
    # National Day 2025: 10-01..10-08 off, Saturday 10-11 worked (调休) → 9, 10, 11
    assert domain.due_date(dt.date(2025, 9, 30), 3, add_workdays) == dt.date(2025, 10, 11)


def test_settings_are_read_and_checked() -> None:
    config = RecruitmentSettings.from_env({"RECRUITMENT_MATCH_RATIO": "2.5", "RECRUITMENT_DUE_WORKDAYS": "1"})
    assert (config.match_ratio, config.due_workdays) == (Decimal("2.5"), 1)
    with pytest.raises(ValueError, match="RECRUITMENT_MATCH_RATIO"):
        RecruitmentSettings.from_env({"RECRUITMENT_MATCH_RATIO": "three"})
    with pytest.raises(ValueError, match="between"):
        RecruitmentSettings.from_env({"RECRUITMENT_BOTH_PRESALE_SHARE": "1.5"})


# --- both: the 7:3 split ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service_type", "target", "quotas"),
    [
        ("presale", 30, {"presale": 30}),
        ("aftersale", 30, {"aftersale": 30}),
        ("both", 30, {"presale": 21, "aftersale": 9}),
        ("both", 10, {"presale": 7, "aftersale": 3}),
        ("both", 5, {"presale": 4, "aftersale": 1}),  # 3.5 rounds half up
        (None, 30, {}),  # a project we have not seen confirmed: nothing can be matched yet
    ],
)
def test_skill_quotas(service_type: str | None, target: int, quotas: dict[str, int]) -> None:
    assert domain.skill_quotas(service_type, target, Decimal("0.7")) == quotas


# --- shifts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "shifts"),
    [
        ("09:00", "18:00", ["morning", "afternoon"]),
        ("08:00", "16:00", ["morning"]),
        ("00:00", "24:00", ["morning", "afternoon", "night"]),
        ("20:00", "02:00", ["afternoon", "night"]),
        (None, None, ["morning", "afternoon", "night"]),
    ],
)
def test_project_shifts_are_those_its_hours_overlap(
    start: str | None, end: str | None, shifts: list[str]
) -> None:
    assert domain.project_shifts(start, end) == shifts


# --- eligibility -----------------------------------------------------------------------------------------


def test_eligibility_needs_basic_training_availability_skill_and_a_shift() -> None:
    need = Requirement(shifts=frozenset({"morning", "afternoon"}))
    assert domain.is_eligible(person(1), "presale", need)
    assert not domain.is_eligible(person(2, passed=False), "presale", need)
    assert not domain.is_eligible(person(3, status="matched"), "presale", need)
    assert not domain.is_eligible(person(4, status="inactive"), "presale", need)
    assert not domain.is_eligible(person(5, skills=("aftersale",)), "presale", need)
    assert not domain.is_eligible(person(6, shifts=("night",)), "presale", need)
    assert domain.is_eligible(
        person(7, skills=("presale", "aftersale"), shifts=("afternoon",)), "aftersale", need
    )


# --- ranking ---------------------------------------------------------------------------------------------


def test_score_adds_platform_category_and_capped_experience() -> None:
    need = Requirement(shifts=frozenset(domain.SHIFTS), platform="taobao", categories=frozenset({"服装"}))
    assert domain.score(person(1, score="80"), need) == Decimal(80)
    assert domain.score(person(2, score="80", platforms=("taobao",)), need) == Decimal(90)
    assert domain.score(person(3, score="80", categories=("服装", "美妆")), need) == Decimal(90)
    assert domain.score(person(4, score="80", months=10), need) == Decimal(85)
    assert domain.score(person(5, score="80", months=60), need) == Decimal(92)  # capped at 24 months
    full = person(6, score="80", platforms=("taobao",), categories=("服装",), months=24)
    assert domain.score(full, need) == Decimal(112)


def test_ties_are_broken_by_basic_score_experience_then_phone() -> None:
    # all three score 90
    a = person(3, score="90")
    b = person(2, score="80", months=20)
    c = person(1, score="90")
    ranked = sorted([a, b, c], key=lambda p: domain.rank_key(p, ALL_SHIFTS))
    assert [p.id for p in ranked] == ["c001", "c003", "c002"]


# --- the seed's matching numbers -------------------------------------------------------------------------


def test_ten_seats_match_thirty_of_a_larger_pool_best_first() -> None:
    pool = [person(n, score=str(40 + n)) for n in range(1, 51)]
    target = domain.match_target(10, Decimal(3))
    picks = domain.select_matches(pool, domain.skill_quotas("presale", target, Decimal("0.7")), ALL_SHIFTS)
    assert len(picks) == 30
    assert [p.candidate.id for p in picks] == [f"c{n:03d}" for n in range(50, 20, -1)]


def test_twenty_five_eligible_give_twenty_five_matched_and_short_by_five() -> None:
    eligible = [person(n) for n in range(1, 26)]
    ineligible = [person(100 + n, passed=False) for n in range(10)] + [person(200, status="assigned")]
    target = domain.match_target(10, Decimal(3))
    picks = domain.select_matches(
        eligible + ineligible, domain.skill_quotas("presale", target, Decimal("0.7")), ALL_SHIFTS
    )
    assert len(picks) == 25
    assert {p.candidate.id for p in picks} == {p.id for p in eligible}
    assert target - len(picks) == 5
    today = dt.date(2025, 9, 22)
    assert domain.requisition_status(target, len(picks), dt.date(2025, 9, 25), today) == "short"
    assert (
        domain.requisition_status(target, len(picks), dt.date(2025, 9, 25), dt.date(2025, 9, 26)) == "overdue"
    )
    assert domain.requisition_status(target, 30, dt.date(2025, 9, 25), dt.date(2025, 9, 26)) == "filled"


def test_both_takes_seven_to_three_and_never_one_person_twice() -> None:
    presale = [person(n, skills=("presale",), score="70") for n in range(1, 31)]
    aftersale = [person(100 + n, skills=("aftersale",), score="60") for n in range(1, 11)]
    dual = [person(200 + n, skills=("presale", "aftersale"), score="95") for n in range(1, 6)]
    picks = domain.select_matches(presale + aftersale + dual, {"presale": 21, "aftersale": 9}, ALL_SHIFTS)
    by_skill = domain.summarize_counts(picks)
    assert by_skill == {"presale": 21, "aftersale": 9}
    assert len({p.candidate.id for p in picks}) == 30
    # the after-sales slot (the smaller share) is filled first, so the dual-skilled best go there
    assert {p.candidate.id for p in picks if p.skill == "aftersale"} >= {d.id for d in dual}


# --- phones and vocabularies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("(199) 1234 5678", "19912345678"),
    ],
)
def test_phones_are_normalised(raw: str, phone: str) -> None:
    assert domain.normalize_phone(raw) == phone


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "010-12345678", "", "abc"])
def test_non_mobile_numbers_are_refused(raw: str) -> None:
    with pytest.raises(domain.InvalidValue, match="Chinese mobile"):
        domain.normalize_phone(raw)


def test_vocabularies_accept_chinese_and_map_tmall_to_taobao() -> None:
    assert domain.normalize_skill("售后") == "aftersale"
    assert domain.normalize_shift("夜班") == "night"
    assert domain.normalize_platform("天猫") == "taobao"
    assert domain.normalize_platform("Tmall") == "taobao"
    assert domain.normalize_platform("Kuaishou") == "kuaishou"
    with pytest.raises(domain.InvalidValue):
        domain.normalize_skill("sales")
    with pytest.raises(domain.InvalidValue):
        domain.normalize_category("a|b")


def test_only_available_and_inactive_are_set_by_hand() -> None:
    assert domain.can_change_status_by_hand("available", "inactive")
    assert domain.can_change_status_by_hand("inactive", "available")
    assert not domain.can_change_status_by_hand("matched", "inactive")
    assert not domain.can_change_status_by_hand("assigned", "available")


def test_a_person_training_turned_down_is_not_matched_to_that_project_again() -> None:
    need = Requirement(shifts=frozenset(domain.SHIFTS), project_id="p-1")
    turned_down = dataclasses.replace(person(1), not_admitted_for=frozenset({"p-1"}))
    assert not domain.is_eligible(turned_down, "presale", need)
    assert domain.is_eligible(turned_down, "presale", dataclasses.replace(need, project_id="p-2"))
