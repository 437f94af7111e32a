"""The training rules (培训及考核) as plain functions: no Flask, no SQL, no pika.

Seed 004 (服务之培训及考核): courseware is built from the merchant's materials and confirmed by the
merchant; pre-job training takes 1–3 working days; the assessment is an online quiz plus a simulated live
reception; the trainer and — where the merchant chose to assess — the merchant must both pass a trainee;
people are delivered at seats : admitted = 1:2.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

# --- defaults of the settings (config.py reads the TRAINING_* overrides) ---------------------------


DEFAULT_ADMISSION_RATIO = Decimal("2")
DEFAULT_PASS_MARK_QUIZ = Decimal("80")
DEFAULT_PASS_MARK_SIMULATION = Decimal("80")
DEFAULT_TRAINING_DAYS = 2
#: a training day's hours (the merchant pays training by hours × people, seed 000 §10.2)
DEFAULT_HOURS_PER_DAY = Decimal(8)
MIN_TRAINING_DAYS = 1
MAX_TRAINING_DAYS = 3


# --- vocabularies ------------------------------------------------------------------------------------


class CohortStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_TRAINING = "in_training"
    ASSESSING = "assessing"
    COMPLETED = "completed"
    #: the project was closed before the cohort completed
    CANCELLED = "cancelled"


OPEN_COHORT_STATUSES = (CohortStatus.PLANNED, CohortStatus.IN_TRAINING, CohortStatus.ASSESSING)


class TraineeStatus(enum.StrEnum):
    ENROLLED = "enrolled"  # in training; assessment missing or incomplete
    PASSED = "passed"  # meets the pass rule; admission is decided when the cohort completes
    FAILED = "failed"
    ADMITTED = "admitted"  # 录取
    PASSED_WAITLISTED = "passed_waitlisted"  # passed beyond the target; admitted if an admitted one leaves
    NOT_ASSESSED = "not_assessed"  # the cohort completed before the assessment was complete
    WITHDRAWN = "withdrawn"


class CoursewareStatus(enum.StrEnum):
    PENDING = "pending"  # being built / awaiting the merchant's decision
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Topic(enum.StrEnum):
    """Training content of seed 004 (培训内容)."""

    PROJECT = "project"  # 项目情况
    BUSINESS = "business"  # 业务知识
    INDUSTRY = "industry"  # 行业知识
    SCRIPTS = "scripts"  # 话术
    CASES = "cases"  # 案例分析
    FAQ = "faq"  # 常见问题分类
    QA = "qa"  # 质检要求


class Assessor(enum.StrEnum):
    VENDOR = "vendor"
    MERCHANT = "merchant"


# --- targets and dates -------------------------------------------------------------------------------


def project_target(seats: int, ratio: Decimal = DEFAULT_ADMISSION_RATIO) -> int:
    """Admitted agents a project needs: seats : admitted = 1 : 2 (seed 004), rounded up."""
    if seats < 0:
        raise ValueError("seats must not be negative")
    return math.ceil(Decimal(seats) * ratio)


def cohort_target(seats: int, admitted_elsewhere: int, ratio: Decimal = DEFAULT_ADMISSION_RATIO) -> int:
    """A cohort admits only what the project still lacks: a follow-up cohort fills the remaining gap."""
    return max(0, project_target(seats, ratio) - max(0, admitted_elsewhere))


@dataclass(frozen=True)
class TrainingDates:
    start_date: dt.date
    end_date: dt.date


def check_training_days(days: int) -> None:
    if not MIN_TRAINING_DAYS <= days <= MAX_TRAINING_DAYS:
        raise ValueError(
            f"training takes {MIN_TRAINING_DAYS} to {MAX_TRAINING_DAYS} working days, not {days}"
        )


def training_dates(
    start_on_or_after: dt.date, days: int, is_workday: Callable[[dt.date], bool]
) -> TrainingDates:
    """Training runs ``days`` consecutive working days from the first working day on/after the given date."""
    check_training_days(days)
    start = start_on_or_after
    while not is_workday(start):
        start += dt.timedelta(days=1)
    end, remaining = start, days - 1
    while remaining:
        end += dt.timedelta(days=1)
        if is_workday(end):
            remaining -= 1
    return TrainingDates(start, end)


def planned_dates(created_on: dt.date, days: int, is_workday: Callable[[dt.date], bool]) -> TrainingDates:
    """A new cohort is planned to start on the next working day after it is opened."""
    return training_dates(created_on + dt.timedelta(days=1), days, is_workday)


def completion_due(end_date: dt.date, is_workday: Callable[[dt.date], bool]) -> dt.date:
    """The periodic job completes a cohort on the first working day after its end date."""
    day = end_date + dt.timedelta(days=1)
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return day


# --- the pass rule -----------------------------------------------------------------------------------


class Verdict(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    PENDING = "pending"


@dataclass(frozen=True)
class PassMarks:
    quiz: Decimal = DEFAULT_PASS_MARK_QUIZ
    simulation: Decimal = DEFAULT_PASS_MARK_SIMULATION


@dataclass(frozen=True)
class Assessment:
    quiz_score: Decimal | None = None
    simulation_score: Decimal | None = None
    trainer_passed: bool | None = None
    merchant_passed: bool | None = None


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    #: why it failed, or what is still missing (pending)
    reasons: tuple[str, ...] = ()


def judge(assessment: Assessment, marks: PassMarks, merchant_assesses: bool) -> Outcome:
    """A trainee passes when both scores reach the marks, the trainer passed them and — where the
    project's assessor is the merchant — the merchant passed them too (双方考核通过).

    Any definite "no" fails at once; otherwise anything still missing leaves the verdict pending.
    """
    failed: list[str] = []
    missing: list[str] = []
    for name, score, mark in (
        ("quiz_score", assessment.quiz_score, marks.quiz),
        ("simulation_score", assessment.simulation_score, marks.simulation),
    ):
        if score is None:
            missing.append(name)
        elif score < mark:
            failed.append(f"{name} {_fmt(score)} is below the pass mark {_fmt(mark)}")
    if assessment.trainer_passed is None:
        missing.append("trainer_passed")
    elif not assessment.trainer_passed:
        failed.append("the trainer did not pass the trainee")
    if merchant_assesses:
        if assessment.merchant_passed is None:
            missing.append("merchant_passed")
        elif not assessment.merchant_passed:
            failed.append("the merchant did not pass the trainee")
    if failed:
        return Outcome(Verdict.FAILED, tuple(failed))
    if missing:
        return Outcome(Verdict.PENDING, tuple(f"{name} not recorded yet" for name in missing))
    return Outcome(Verdict.PASSED)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def status_for(outcome: Outcome) -> TraineeStatus:
    return {
        Verdict.PASSED: TraineeStatus.PASSED,
        Verdict.FAILED: TraineeStatus.FAILED,
        Verdict.PENDING: TraineeStatus.ENROLLED,
    }[outcome.verdict]


# --- admission (录取) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passer:
    candidate_id: str
    quiz_score: Decimal
    simulation_score: Decimal
    #: order of enrolment in the cohort (1 = first); earlier enrolment wins the last tie
    enrolment_seq: int

    @property
    def combined(self) -> Decimal:
        return self.quiz_score + self.simulation_score


def admission_order(passers: Iterable[Passer]) -> list[Passer]:
    """Best combined score first; ties by simulation score, then earlier enrolment, then id (total)."""
    return sorted(passers, key=lambda p: (-p.combined, -p.simulation_score, p.enrolment_seq, p.candidate_id))


@dataclass(frozen=True)
class Ranked:
    passer: Passer
    rank: int


@dataclass(frozen=True)
class Admission:
    target: int
    admitted: list[Ranked] = field(default_factory=list)
    waitlisted: list[Ranked] = field(default_factory=list)

    @property
    def missing(self) -> int:
        """The shortfall recruitment must make up (0 when the target is met)."""
        return max(0, self.target - len(self.admitted))


def admit(passers: Sequence[Passer], target: int) -> Admission:
    """Admit passers up to the target in admission order; the rest are waitlisted with their ranks."""
    if target < 0:
        raise ValueError("target must not be negative")
    ordered = [Ranked(p, i) for i, p in enumerate(admission_order(passers), start=1)]
    return Admission(target=target, admitted=ordered[:target], waitlisted=ordered[target:])


def next_from_waitlist(waitlisted: Sequence[Passer]) -> Passer | None:
    """Who takes an admitted trainee's place when they withdraw: the best waitlisted passer."""
    ordered = admission_order(waitlisted)
    return ordered[0] if ordered else None


# --- courseware -----------------------------------------------------------------------------------------


def courseware_after_change(status: CoursewareStatus) -> CoursewareStatus:
    """Any change to the items needs the merchant's (re)confirmation (课件需商家核实确认)."""
    return CoursewareStatus.PENDING


# --- progress ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    enrolled: int
    assessed: int
    passed: int
    failed: int
    admitted: int
    waitlisted: int
    withdrawn: int
    target: int

    @property
    def gap(self) -> int:
        return max(0, self.target - self.admitted)


def progress(statuses: Iterable[TraineeStatus], assessed: int, target: int) -> Progress:
    """``passed`` counts every trainee who met the pass rule (admitted and waitlisted included)."""
    counts: dict[TraineeStatus, int] = {s: 0 for s in TraineeStatus}
    total = 0
    for status in statuses:
        counts[status] += 1
        total += 1
    passed = (
        counts[TraineeStatus.PASSED]
        + counts[TraineeStatus.ADMITTED]
        + counts[TraineeStatus.PASSED_WAITLISTED]
    )
    return Progress(
        enrolled=total,
        assessed=assessed,
        passed=passed,
        failed=counts[TraineeStatus.FAILED],
        admitted=counts[TraineeStatus.ADMITTED],
        waitlisted=counts[TraineeStatus.PASSED_WAITLISTED],
        withdrawn=counts[TraineeStatus.WITHDRAWN],
        target=target,
    )
