"""The exercise system: every exercise's check passes with its solution, fails with a wrong answer,
and reports "not yet solved" for the untouched starter."""

import importlib
import json

import pytest

import helpers.course.exercises as ex
from helpers.course.exercises import check, exercise_ids
from tools.course import all_exercises, chapter_notebooks

EXERCISES = all_exercises()
PREAMBLE = (
    "import numpy as np\nimport torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
    "import helpers\nfrom helpers import check\n"
)


def wrong_answers() -> dict:
    wrong = {}
    for path in chapter_notebooks():
        chapter = path.name[:2]
        try:
            module = importlib.import_module(f"wrong_answers.ch{chapter}")
        except ModuleNotFoundError:
            continue
        wrong.update(module.WRONG)
    return wrong


WRONG = wrong_answers()


def run_cell(source: str) -> dict:
    namespace: dict = {}
    exec(compile(PREAMBLE + source, "<cell>", "exec"), namespace)
    return namespace


def test_every_chapter_has_at_least_six_exercises():
    for path in chapter_notebooks():
        n = sum(1 for e in EXERCISES if e.notebook == path)
        assert n >= 6, f"{path.name} has {n} exercises; every chapter needs at least 6"


def test_notebook_exercises_and_registered_checks_match():
    ids = [e.id for e in EXERCISES]
    assert len(ids) == len(set(ids)), "duplicate exercise ids"
    assert sorted(ids) == sorted(exercise_ids()), (
        "each exercise in a notebook needs exactly one registered check"
    )


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_exercise_is_complete(exercise):
    assert exercise.notebook.name.startswith(f"{exercise.chapter:02d}_"), "exercise id must match its chapter"
    assert 1 <= exercise.difficulty <= 3, "title must start with ★, ★★ or ★★★"
    assert exercise.objective, "the prompt needs a **Practises:** line"
    assert exercise.starter, "no starter cell calling check(...)"
    assert exercise.solution.startswith("# @title "), (
        "the solution cell must start with '# @title' (Colab form)"
    )
    assert exercise.solution_collapsed, (
        "solution: a cellView=form cell inside a tagged ':class: dropdown' solution-start"
    )


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_solution_passes(exercise, capsys):
    run_cell(exercise.solution)  # solution cells end with `assert check(...)`
    assert ex.RESULTS[exercise.id]["status"] == "passed"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_starter_reports_not_yet_solved(exercise, capsys):
    run_cell(exercise.starter)
    assert ex.RESULTS[exercise.id]["status"] == "not solved"
    assert "not yet solved" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_wrong_answer_fails_with_feedback(exercise, capsys):
    assert exercise.id in WRONG, (
        f"add a plausible wrong answer for {exercise.id} to tests/course/wrong_answers/"
    )
    assert check(exercise.id, WRONG[exercise.id]()) is False
    result = ex.RESULTS[exercise.id]
    assert result["status"] == "failed" and len(result["message"]) > 20
    assert "❌" in capsys.readouterr().out


def test_unknown_id_is_an_error():
    with pytest.raises(KeyError, match="unknown exercise id 'ex-99.9'"):
        check("ex-99.9", 1)


def test_learner_exception_becomes_feedback(capsys):
    def broken(*args):
        raise ZeroDivisionError("oops")

    assert check("ex-1.2", broken) is False
    assert "your code raised ZeroDivisionError: oops" in capsys.readouterr().out


def test_results_file_for_the_grader(tmp_path, monkeypatch):
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv("COURSE_RESULTS_FILE", str(results))
    check("ex-1.1", None)
    check("ex-1.2", lambda x: x[x > 0])
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(line["exercise"], line["status"]) for line in lines] == [
        ("ex-1.1", "not solved"),
        ("ex-1.2", "passed"),
    ]
