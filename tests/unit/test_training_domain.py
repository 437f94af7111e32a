"""The training rules with the seed's numbers (seed 004 服务之培训及考核, DOMAIN.md §4).

10 seats at seats : admitted = 1:2 → a target of 20; 30 trainees (matched 1:3); pass marks 80/80;
training 1–3 working days on China's calendar (2025 National Day: 10-01..10-08 off, Sat 10-11 worked).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.training.config import TrainingSettings
from services.training.domain import (
    Assessment,
    Passer,
    PassMarks,
    TraineeStatus,
    Verdict,
    admission_order,
    admit,
    cohort_target,
    completion_due,
    judge,
    next_from_waitlist,
    planned_dates,
    progress,
    project_target,
    status_for,
    training_dates,
)
from shared.workdays import Calendar

MARKS = PassMarks()  # 80 / 80
D = Decimal
CN = Calendar().is_workday


def full(quiz: int, sim: int, trainer: bool | None = True, merchant: bool | None = None) -> Assessment:
    return Assessment(D(quiz), D(sim), trainer, merchant)


# --- the pass rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assessment", "verdict"),
    [
        (full(80, 80), Verdict.PASSED),  # both marks reached exactly
        (full(95, 88), Verdict.PASSED),
        (full(79, 95), Verdict.FAILED),  # quiz below 80
        (full(95, 79), Verdict.FAILED),  # simulation below 80
        (full(95, 95, trainer=False), Verdict.FAILED),  # the trainer did not pass them
        (full(95, 95, trainer=None), Verdict.PENDING),  # trainer's verdict missing
        (Assessment(D(90), None, True), Verdict.PENDING),  # simulation not recorded yet
        (Assessment(D(60), None, None), Verdict.FAILED),  # a low score fails at once
        (full(95, 95, merchant=False), Verdict.PASSED),  # vendor-assessed: the merchant's verdict is moot
    ],
)
def test_pass_rule_for_a_vendor_assessed_project(assessment: Assessment, verdict: Verdict) -> None:
    assert judge(assessment, MARKS, merchant_assesses=False).verdict == verdict


@pytest.mark.parametrize(
    ("assessment", "verdict"),
    [
        (full(90, 90, merchant=True), Verdict.PASSED),  # trainer AND merchant passed them
        (full(90, 90, merchant=False), Verdict.FAILED),  # the merchant said no
        (full(90, 90, merchant=None), Verdict.PENDING),  # waiting for the merchant
        (full(90, 90, trainer=False, merchant=True), Verdict.FAILED),
        (full(70, 90, merchant=True), Verdict.FAILED),
    ],
)
def test_pass_rule_for_a_merchant_assessed_project(assessment: Assessment, verdict: Verdict) -> None:
    assert judge(assessment, MARKS, merchant_assesses=True).verdict == verdict


def test_a_failure_names_the_rule_and_the_mark() -> None:
    outcome = judge(full(79, 95), MARKS, merchant_assesses=False)
    assert outcome.reasons == ("quiz_score 79 is below the pass mark 80",)
    pending = judge(full(90, 90, merchant=None), MARKS, merchant_assesses=True)
    assert pending.reasons == ("merchant_passed not recorded yet",)


def test_pass_marks_are_settings() -> None:
    strict = PassMarks(quiz=D(90), simulation=D(85))
    assert judge(full(89, 95), strict, False).verdict == Verdict.FAILED
    assert judge(full(90, 85), strict, False).verdict == Verdict.PASSED


def test_status_follows_the_verdict() -> None:
    assert status_for(judge(full(90, 90), MARKS, False)) == TraineeStatus.PASSED
    assert status_for(judge(full(70, 90), MARKS, False)) == TraineeStatus.FAILED
    assert status_for(judge(Assessment(), MARKS, False)) == TraineeStatus.ENROLLED


# --- targets ------------------------------------------------------------------------------------------


def test_target_is_twice_the_seats() -> None:
    assert project_target(10) == 20
    assert project_target(10, D("1.5")) == 15
    assert project_target(3, D("1.5")) == 5  # rounded up: never deliver fewer than the ratio asks


def test_a_follow_up_cohort_admits_only_the_remaining_gap() -> None:
    assert cohort_target(10, admitted_elsewhere=0) == 20
    assert cohort_target(10, admitted_elsewhere=17) == 3
    assert cohort_target(10, admitted_elsewhere=20) == 0
    assert cohort_target(10, admitted_elsewhere=25) == 0


# --- admission (录取) with the seed's numbers -------------------------------------------------------------


def passers(n: int) -> list[Passer]:
    """n passers (all above 80/80) with strictly descending combined scores: c01 is the best."""
    return [Passer(f"c{i:02d}", D(100) - D(i) / 2, D(99) - D(i) / 4, i) for i in range(1, n + 1)]


def test_ten_seats_thirty_trainees_twenty_four_pass() -> None:
    result = admit(passers(24), project_target(10))
    assert len(result.admitted) == 20
    assert len(result.waitlisted) == 4
    assert result.missing == 0
    assert [r.rank for r in result.admitted] == list(range(1, 21))
    assert [r.rank for r in result.waitlisted] == [21, 22, 23, 24]
    assert [r.passer.candidate_id for r in result.waitlisted] == ["c21", "c22", "c23", "c24"]


def test_ten_seats_seventeen_pass_is_a_shortfall_of_three() -> None:
    result = admit(passers(17), project_target(10))
    assert len(result.admitted) == 17
    assert result.waitlisted == []
    assert result.missing == 3


def test_admission_order_best_combined_then_simulation_then_earlier_enrolment() -> None:
    a = Passer("a", D(90), D(90), 5)  # 180
    b = Passer("b", D(95), D(85), 1)  # 180, lower simulation
    c = Passer("c", D(85), D(95), 9)  # 180, best simulation
    d = Passer("d", D(80), D(80), 2)  # 160
    e = Passer("e", D(90), D(90), 3)  # ties a exactly, enrolled earlier
    f = Passer("f", D(99), D(99), 7)  # 198
    assert [p.candidate_id for p in admission_order([a, b, c, d, e, f])] == ["f", "c", "e", "a", "b", "d"]


def test_the_cap_keeps_the_best() -> None:
    pool = [Passer("low", D(80), D(80), 1), Passer("high", D(100), D(100), 2), Passer("mid", D(90), D(90), 3)]
    result = admit(pool, 2)
    assert [r.passer.candidate_id for r in result.admitted] == ["high", "mid"]
    assert [r.passer.candidate_id for r in result.waitlisted] == ["low"]


def test_an_admitted_withdrawal_is_filled_from_the_best_of_the_waitlist() -> None:
    waitlisted = [Passer("w2", D(81), D(81), 4), Passer("w1", D(85), D(80), 8)]
    best = next_from_waitlist(waitlisted)
    assert best is not None and best.candidate_id == "w1"
    assert next_from_waitlist([]) is None


# --- dates on China's working-day calendar -----------------------------------------------------------


def test_a_cohort_opened_before_national_day_starts_after_it() -> None:
    # opened Tue 2025-09-30; 10-01..10-08 are off → starts Thu 10-09, 2 days → ends Fri 10-10
    dates = planned_dates(dt.date(2025, 9, 30), 2, CN)
    assert (dates.start_date, dates.end_date) == (dt.date(2025, 10, 9), dt.date(2025, 10, 10))
    # the make-up Saturday 10-11 is a working day: completion is due then, not on Monday
    assert completion_due(dates.end_date, CN) == dt.date(2025, 10, 11)


def test_three_training_days_span_the_make_up_saturday() -> None:
    dates = training_dates(dt.date(2025, 10, 9), 3, CN)
    assert dates.end_date == dt.date(2025, 10, 11)


def test_training_takes_one_to_three_working_days() -> None:
    assert training_dates(dt.date(2025, 9, 30), 1, CN).end_date == dt.date(2025, 9, 30)
    for days in (0, 4):
        with pytest.raises(ValueError, match="1 to 3 working days"):
            training_dates(dt.date(2025, 9, 30), days, CN)


# --- progress and settings ---------------------------------------------------------------------------


def test_progress_of_the_seed_cohort() -> None:
    statuses = (
        [TraineeStatus.ADMITTED] * 20
        + [TraineeStatus.PASSED_WAITLISTED] * 4
        + [TraineeStatus.FAILED] * 5
        + [TraineeStatus.WITHDRAWN]
    )
    summary = progress(statuses, assessed=29, target=20)
    assert (summary.enrolled, summary.assessed, summary.passed, summary.admitted) == (30, 29, 24, 20)
    assert (summary.waitlisted, summary.failed, summary.withdrawn, summary.gap) == (4, 5, 1, 0)
    assert progress([TraineeStatus.ADMITTED] * 17, 17, 20).gap == 3


def test_settings_defaults_and_overrides() -> None:
    defaults = TrainingSettings.from_env({})
    assert (defaults.admission_ratio, defaults.pass_mark_quiz, defaults.pass_mark_simulation) == (2, 80, 80)
    assert defaults.default_training_days == 2
    custom = TrainingSettings.from_env(
        {"TRAINING_ADMISSION_RATIO": "1.5", "TRAINING_PASS_MARK_QUIZ": "85", "TRAINING_DEFAULT_DAYS": "3"}
    )
    assert (custom.admission_ratio, custom.pass_mark_quiz, custom.default_training_days) == (D("1.5"), 85, 3)
    for bad in (
        {"TRAINING_PASS_MARK_QUIZ": "101"},
        {"TRAINING_DEFAULT_DAYS": "4"},
        {"TRAINING_ADMISSION_RATIO": "x"},
    ):
        with pytest.raises(ValueError, match="TRAINING_"):
            TrainingSettings.from_env(bad)
