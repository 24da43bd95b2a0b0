"""The mutation corpus: plausible wrong answers (``wrong_answers/chNN.py``) that every check must reject
with a message naming the mistake.

Each module holds ``WRONG = {"ex-N.M": [(make_answer, "fragment"), ...]}``: ``make_answer()`` builds the
wrong answer, and ``fragment`` (case-insensitive) must appear in the check's message -- the words that
tell the learner what the mistake is, not just that something differs.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from helpers.course.exercises import check, exercise_ids

MIN_PER_EXERCISE = 5
MIN_TOTAL = 300


@dataclass(frozen=True)
class Wrong:
    exercise_id: str
    index: int
    make: Callable[[], Any]
    fragment: str

    def __str__(self) -> str:
        return f"{self.exercise_id}#{self.index}"


def _corpus() -> list[Wrong]:
    cases = []
    for chapter in sorted({eid.split(".")[0][3:] for eid in exercise_ids()}, key=int):
        module = importlib.import_module(f"wrong_answers.ch{int(chapter):02d}")
        for exercise_id, answers in module.WRONG.items():
            cases += [Wrong(exercise_id, i, make, fragment) for i, (make, fragment) in enumerate(answers)]
    return cases


CORPUS = _corpus()


def test_corpus_size():
    counts = {eid: sum(1 for c in CORPUS if c.exercise_id == eid) for eid in exercise_ids()}
    thin = {eid: n for eid, n in counts.items() if n < MIN_PER_EXERCISE}
    assert not thin, f"fewer than {MIN_PER_EXERCISE} wrong answers: {thin}"
    assert len(CORPUS) >= MIN_TOTAL, f"{len(CORPUS)} wrong answers in all; the corpus needs {MIN_TOTAL}"
    assert all(len(c.fragment) >= 3 for c in CORPUS), "every wrong answer names a message fragment"
    assert {c.exercise_id for c in CORPUS} <= set(exercise_ids()), "a wrong answer for an unknown exercise"


# Chapter 10's checks run each answer in 2-3 real processes: seconds per case, so outside the fast lane.
SLOW_CHAPTERS = ("ex-10.",)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.slow) if c.exercise_id.startswith(SLOW_CHAPTERS) else c
        for c in CORPUS
    ],
    ids=str,
)
def test_wrong_answer_fails_naming_the_mistake(case, capsys):
    result = check(case.exercise_id, case.make())
    assert not result and result.status == "failed", result.message
    assert case.fragment.lower() in result.message.lower(), (
        f"{case}: expected {case.fragment!r} in the feedback, got: {result.message}"
    )
