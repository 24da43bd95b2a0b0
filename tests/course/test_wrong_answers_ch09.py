"""Chapter 9's checks against its corpus of wrong answers, each with the feedback it must get.

Some checks time real sleeps (about a second each): marked slow.
"""

import pytest
from wrong_answers.ch09 import MUTANTS

import helpers.course.exercises as ex
from helpers.course.exercises import check

CASES = [(exercise_id, fn, fragment) for exercise_id, cases in MUTANTS.items() for fn, fragment in cases]


@pytest.mark.slow
@pytest.mark.parametrize(
    "exercise_id, answer, fragment", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_wrong_answer_fails_naming_the_mistake(exercise_id, answer, fragment):
    assert not check(exercise_id, answer)
    result = ex.RESULTS[exercise_id]
    assert result["status"] == "failed"
    assert fragment in result["message"], result["message"]
