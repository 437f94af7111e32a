"""The FAQ sheet's rules (seed 004): a standard question may not apply to a shop; the shop's own count."""

from __future__ import annotations

import pytest

from services.onboarding import domain
from services.onboarding.config import OnboardingSettings
from services.onboarding.domain import StandardState

ALL_ANSWERED = {key: StandardState(answer="答案") for key in domain.STANDARD_KEYS}


def test_a_sheet_with_every_answer_and_one_own_question_is_complete() -> None:
    progress = domain.faq_progress(ALL_ANSWERED, ["定金不退"], min_own_questions=1)
    assert progress.complete and progress.problems() == []
    assert (len(progress.answered), progress.not_applicable, progress.own_questions) == (16, (), 1)


def test_a_question_marked_not_applicable_counts_as_settled() -> None:
    sheet = {
        **ALL_ANSWERED,
        "gifts": StandardState(not_applicable=True),
        "receipt": StandardState(None, True),
    }
    progress = domain.faq_progress(sheet, ["定金不退"], min_own_questions=1)
    assert progress.complete
    assert progress.not_applicable == ("receipt", "gifts")  # in the sheet's order
    assert len(progress.answered) == 14 and progress.unanswered == ()


def test_a_question_neither_answered_nor_marked_blocks_and_is_named() -> None:
    sheet = {k: v for k, v in ALL_ANSWERED.items() if k != "invoice"}
    sheet["stock"] = StandardState(answer="   ")  # blank is no answer
    progress = domain.faq_progress(sheet, ["定金不退"], min_own_questions=1)
    assert not progress.complete
    assert progress.unanswered == ("stock", "invoice")
    (problem,) = progress.problems()
    assert "answered or marked not applicable" in problem and "发票" in problem


def test_the_shops_own_questions_come_first_so_the_sheet_needs_one() -> None:
    progress = domain.faq_progress(ALL_ANSWERED, [], min_own_questions=1)
    assert not progress.complete
    (problem,) = progress.problems()
    assert "shop's own" in problem and "it has 0" in problem
    assert domain.faq_progress(ALL_ANSWERED, [], min_own_questions=0).complete
    assert domain.DEFAULT_MIN_OWN_QUESTIONS == 1


def test_an_own_question_without_its_answer_is_not_done() -> None:
    progress = domain.faq_progress(ALL_ANSWERED, ["定金不退", None, " "], min_own_questions=1)
    assert progress.own_questions == 3 and progress.own_unanswered == (2, 3)
    assert progress.problems() == [
        "each of the shop's own questions needs its answer; unanswered: custom #2, custom #3"
    ]


def test_an_answer_and_a_not_applicable_mark_exclude_each_other() -> None:
    assert domain.not_applicable_problem("有赠品", True) is not None
    assert domain.not_applicable_problem(None, True) is None
    assert domain.not_applicable_problem("  ", True) is None
    assert domain.not_applicable_problem("有赠品", False) is None


def test_the_minimum_of_own_questions_is_a_setting() -> None:
    def config(value: str) -> OnboardingSettings:
        return OnboardingSettings.from_env({"ONBOARDING_FAQ_MIN_OWN_QUESTIONS": value})

    assert OnboardingSettings.from_env({}).min_own_faq_questions == 1
    assert config("0").min_own_faq_questions == 0
    assert config("3").min_own_faq_questions == 3
    for bad in ("-1", "two", "", "1000"):
        with pytest.raises(ValueError, match="ONBOARDING_FAQ_MIN_OWN_QUESTIONS"):
            config(bad)
