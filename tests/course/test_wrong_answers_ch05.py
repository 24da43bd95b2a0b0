"""Chapter 5's checks against the further wrong answers of ``wrong_answers/ch05.py`` (MORE_WRONG)."""

import pytest

import helpers.course.exercises as ex
from helpers.course.exercises import check

# ---- chapter 5 checks: further wrong answers ----------------------------------------------------


def _more_wrong():
    from wrong_answers.ch05 import MORE_WRONG

    return [(exercise_id, answer) for exercise_id, answers in MORE_WRONG.items() for answer in answers]


@pytest.mark.parametrize("exercise_id, answer", _more_wrong(), ids=lambda v: v if isinstance(v, str) else "")
def test_more_wrong_answers_fail(exercise_id, answer, capsys):
    assert check(exercise_id, answer) is False
    assert ex.RESULTS[exercise_id]["status"] == "failed"
    assert "❌" in capsys.readouterr().out
