"""Exercises ask for a transfer, not a re-typing of a lesson cell.

A reviewer found exercises whose solution was a lesson cell with the names changed. This test measures, for
every exercise, how much of its reference solution already stands in the chapter's lesson code cells: the
share of the solution's 6-token sequences (names and operators; comments and string contents ignored) that
also occur in a lesson cell, and the closest single lesson cell (difflib's ratio). A new exercise that copies
a lesson cell fails here, with the cell to compare against. Chapter 8's first two exercises are the loop's
building blocks that ex-8.8 assembles; they sit near the limit and are measured like the rest.
"""

from __future__ import annotations

import difflib
import functools
import io
import re
import tokenize

import nbformat
import pytest

from tools.course import all_exercises, is_solution

MAX_SHARED_SEQUENCES = 0.8  # share of the solution's 6-token sequences found in lesson cells
MAX_CLOSEST_CELL = 0.75  # difflib ratio of the solution to its closest lesson cell
N = 6

EXERCISES = all_exercises()


def tokens(source: str) -> list[str]:
    """Code tokens without comments, layout or string contents ("STR"); [] when the source does not parse."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
            ):
                continue
            if tok.type == tokenize.ENDMARKER:
                continue
            out.append("STR" if tok.type == tokenize.STRING else tok.string)
    except (tokenize.TokenError, IndentationError):
        return []
    return out


def sequences(toks: list[str]) -> set[tuple[str, ...]]:
    return {tuple(toks[i : i + N]) for i in range(len(toks) - N + 1)}


@functools.cache
def lesson_cells(notebook) -> list[tuple[int, list[str]]]:
    nb = nbformat.read(notebook, as_version=4)
    return [
        (i, tokens(cell.source))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and not is_solution(cell) and "check(" not in cell.source
    ]


def test_the_measure_catches_a_copy():
    lesson = "def f(x):\n    y = x.clamp(min=0)  # keep positives\n    return y.sum() / len(x)\n"
    renamed = "def g(t):\n    u = t.clamp(min=0)\n    return u.sum() / len(t)\n"
    assert difflib.SequenceMatcher(None, tokens(renamed), tokens(lesson)).ratio() > MAX_CLOSEST_CELL
    different = "def g(t):\n    return torch.where(t > 0, t, 0.1 * t).mean(dim=1)\n"
    assert difflib.SequenceMatcher(None, tokens(different), tokens(lesson)).ratio() < MAX_CLOSEST_CELL


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.id for e in EXERCISES])
def test_the_solution_is_not_a_lesson_cell(exercise):
    solution = tokens(exercise.solution.split("assert check(")[0])
    assert len(solution) > N, f"{exercise.id}: no reference solution found"
    cells = [(i, toks) for i, toks in lesson_cells(exercise.notebook) if len(toks) > 10]
    shared = sequences(solution) & set().union(*(sequences(toks) for _, toks in cells))
    share = len(shared) / len(sequences(solution))
    ratio, closest = 0.0, -1
    for i, toks in cells:
        matcher = difflib.SequenceMatcher(None, solution, toks, autojunk=False)
        if matcher.real_quick_ratio() > ratio and matcher.quick_ratio() > ratio:  # cheap upper bounds first
            if (exact := matcher.ratio()) > ratio:
                ratio, closest = exact, i
    assert share <= MAX_SHARED_SEQUENCES and ratio <= MAX_CLOSEST_CELL, (
        f"{exercise.id}'s solution repeats the lesson: {share:.0%} of its {N}-token sequences occur in lesson "
        f"cells, and it matches cell {closest} of {exercise.notebook.name} at {ratio:.2f}. Ask for the idea in a "
        "new situation (docs/checks.md, 'Exercises')."
    )


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.id for e in EXERCISES])
def test_stars_are_one_to_three(exercise):
    assert 1 <= exercise.difficulty <= 3, f"{exercise.id}: {exercise.difficulty} stars"


FORBIDDING_TEXT = re.compile(r"[Dd]o not (?:use|call)|[Dd]on't use|without `torch\.optim`")
# Clauses a check cannot enforce by replacing a function (loops, backward() on a given graph, a helpers
# module the chapter imported by name), each with the reason.
NOT_ENFORCEABLE = {
    "ex-2.3": "helpers.demos.graph returns a list of names, not the dict the check demands",
    "ex-5.4": "the check refuses torch.optim itself (_without_optim in ch05.py)",
}


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.id for e in EXERCISES])
def test_what_the_text_forbids_the_check_refuses(exercise):
    """An exercise that says "do not use X" must declare X in @exercise(..., forbid=...): a learner who
    calls the built-in would otherwise be told "correct"."""
    from helpers.course.exercises import FORBIDDEN, exercise_ids

    exercise_ids()  # loads every chapter's checks
    if FORBIDDING_TEXT.search(exercise.prompt) and exercise.id not in NOT_ENFORCEABLE:
        assert FORBIDDEN.get(exercise.id), f"{exercise.id}'s text forbids something its check does not refuse"
