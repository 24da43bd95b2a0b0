"""The quizzes: question files, the cells that show them, and what quiz() displays.

The browser side (clicking options on a built page, and on a page made of quiz()'s raw outputs the way
Colab and JupyterLab show them) is tested in tests/integration/test_site.py.
"""

from __future__ import annotations

import re
from collections import Counter
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

from helpers.course.quiz import _html, question, questions, quiz

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
QUIZ_CALL = re.compile(r'^quiz\("(q-\d+\.\d+)"\)$', re.M)


def _quiz_cells() -> list[tuple[Path, str]]:
    cells = []
    for path in CHAPTERS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "quiz(" in cell.source:
                cells.append((path, cell.source))
    return cells


def _all_questions() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in CHAPTERS:
        found.update(questions(int(path.name[:2])))
    return found


def test_every_question_has_one_right_option_and_feedback_for_each():
    every = _all_questions()
    assert len(every) >= 20
    for question_id, qa in every.items():
        assert qa["type"] == "multiple_choice" and qa["question"].strip(), question_id
        assert len(qa["answers"]) >= 2, question_id
        assert [a["correct"] for a in qa["answers"]].count(True) == 1, question_id
        for option in qa["answers"]:
            assert option["answer"].strip() and len(option["feedback"]) > 10, (question_id, option)
            assert "$" not in option["answer"] + option["feedback"], "jupyterquiz reads $ as LaTeX"
        assert len({a["answer"] for a in qa["answers"]}) == len(qa["answers"]), (
            f"{question_id}: repeated option"
        )


def test_the_right_option_is_not_always_in_the_same_place():
    positions = Counter([a["correct"] for a in qa["answers"]].index(True) for qa in _all_questions().values())
    total = sum(positions.values())
    letters = {"abcd"[p]: n for p, n in sorted(positions.items())}
    assert max(positions.values()) <= 0.4 * total, f"right option per position: {letters}"


def test_quiz_cells_name_a_question_and_hold_no_answer():
    cells = _quiz_cells()
    assert len(cells) >= 20, "fewer quiz cells than expected"
    used = []
    for path, source in cells:
        code = [line for line in source.splitlines() if line.strip() and not line.startswith("#")]
        assert len(code) == 1 and QUIZ_CALL.match(code[0]), (
            f'{path.name}: quiz cell is not quiz("q-N.M"):\n{source}'
        )
        question_id = QUIZ_CALL.match(code[0]).group(1)
        assert question_id.startswith(f"q-{int(path.name[:2])}."), f"{path.name} shows {question_id}"
        question(question_id)  # exists
        used.append(question_id)
    assert sorted(used) == sorted(_all_questions()), "every question is shown exactly once"


def _shown(monkeypatch) -> list:
    shown: list = []
    monkeypatch.setattr("helpers.course.quiz.display", shown.append)
    return shown


def test_quiz_shows_fallback_then_interactive_quiz_then_the_hiding_script(monkeypatch):
    shown = _shown(monkeypatch)
    quiz("q-1.1")
    kinds = [type(o).__name__ for o in shown]
    assert kinds == ["HTML", "HTML", "Javascript", "Javascript"], kinds
    fallback, quiz_div, quiz_js, hide_js = (o.data for o in shown)
    # the fallback: question, every option, the answer collapsed, code marked up
    assert 'class="course-quiz-fallback"' in fallback and "<details>" in fallback
    assert "<code>torch.tensor([1, 2]) / torch.tensor([2, 2])</code>" in fallback and "`" not in fallback
    assert fallback.count("<li>") == 4 and "(d) <code>torch.float32</code>" in fallback
    # jupyterquiz: the questions and per-option feedback travel inside its script, answers in fixed order
    assert 'data-shuffleanswers="False"' in quiz_div
    assert "Not this one. That is the dtype of the inputs" in quiz_js and "Right! True division" in quiz_js
    assert 'data-course-quiz=\\"q-1.1\\"' in quiz_js
    assert '[data-quiz="q-1.1"]' in hide_js
    # MathJax is only asked for its version once it has one (an offline or still-loading page has none)
    assert "MathJax.version" in quiz_js
    assert not re.search(r"typeof MathJax !==? 'undefined'\)", quiz_js), "an unguarded MathJax check is left"


def test_two_quizzes_never_share_a_container_and_leave_random_alone(monkeypatch):
    """jupyterquiz names its container with Python's random: a reseeded notebook must not repeat a name."""
    import random

    shown = _shown(monkeypatch)
    ids = []
    for question_id in ("q-8.2", "q-8.3", "q-8.2"):
        random.seed(0)  # what a chapter does between quizzes
        quiz(question_id)
        assert random.random() == random.Random(0).random(), "quiz() used up the notebook's random numbers"
        ids.append(re.search(r'<div id="(\w+)"', shown[-3].data).group(1))
    assert len(set(ids)) == 3, ids


def test_text_becomes_safe_html():
    assert _html("a <b> & `x[0] < 1`") == "a &lt;b&gt; &amp; <code>x[0] &lt; 1</code>"


@pytest.mark.parametrize("bad", ["1.2", "q-1", "q-1.99", "q-99.1", 12, None])
def test_quiz_bad_question_id(bad, monkeypatch):
    _shown(monkeypatch)
    with pytest.raises(ValueError, match="q-"):
        quiz(bad)


def test_jupyterquiz_is_safe_for_colab():
    """Colab runs ipywidgets 7.7.1: the quiz package must not pull in ipywidgets (or anything else)."""
    requires = metadata.requires("jupyterquiz") or []
    assert not [r for r in requires if "extra" not in r], requires
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"jupyterquiz[><=]', project.split("[project.optional-dependencies]")[0]), (
        "jupyterquiz must be a run-time dependency (the Colab install)"
    )
    assert '"quizzes/*.json"' in project, "the question files must be package data"
