"""Build a homework notebook from chosen exercises (across chapters): a student version and a key.

    python -m tools.instructor.assignment ex-1.3 ex-2.1 ex-5.4 --out homework/week1 [--title "Week 1"]

writes homework/week1/student.ipynb (no solutions) and homework/week1/key.ipynb (with solutions, executable).
Both start with the Colab setup cell and the imports every exercise assumes. Exercise prompts become plain
Markdown (readable in Jupyter and Colab). The key's metadata holds the exercise ids and their points (stars by
default, ``--points ex-1.3=5`` to change one); the grader reads them from the key, never from a submission.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from tools.course import (
    CourseMetadata,
    Exercise,
    all_exercises,
    setup_cell_metadata,
    solution_cell_metadata,
    write_course_metadata,
)
from tools.sync_setup_cells import helpers_version, repository, setup_source

IMPORTS = (
    "import numpy as np\nimport torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n"
    "import helpers\nfrom helpers import check\n\nhelpers.seed_everything(0)"
)


class UnknownExercise(ValueError):
    """An exercise id that no chapter defines."""


def prompt_markdown(ex: Exercise) -> str:
    """The exercise prompt as plain Markdown: a heading instead of the sphinx-exercise directive."""
    body = [line for line in ex.prompt.splitlines() if not line.startswith((":::", ":label:"))]
    stars = "★" * ex.difficulty
    return (
        f"## Exercise {ex.id[3:]} {stars} {ex.title}\n\n*From chapter {ex.chapter}.*\n"
        + "\n".join(body).rstrip()
    )


def build(
    ids: list[str], title: str, points: dict[str, float] | None = None
) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """(student notebook, key notebook) for the exercises ``ids``, in the order given.

    ``points`` overrides the default weight of an exercise (its number of stars); the grader reads the
    exercise list and the points from the key's metadata (``course.exercises``, ``course.points``).
    """
    known = {ex.id: ex for ex in all_exercises()}
    if not ids:
        raise UnknownExercise("no exercise ids given")
    missing = [i for i in ids if i not in known]
    if missing:
        raise UnknownExercise(f"unknown exercise id(s) {missing}; known ids: {', '.join(known)}")
    if len(set(ids)) != len(ids):
        raise UnknownExercise(f"an exercise id appears twice in {ids}")
    stray = sorted(set(points or {}) - set(ids))
    if stray:
        raise UnknownExercise(f"points given for exercise(s) {stray} that are not in the assignment")
    weights = {i: float((points or {}).get(i, known[i].difficulty)) for i in ids}
    v4 = nbformat.v4
    intro = v4.new_markdown_cell(
        f"# {title}\n\nSolve each exercise in its starter cell and run the cell: the last line "
        "checks your answer. Run the whole notebook before you hand it in."
    )
    setup = v4.new_code_cell(setup_source(*repository(), helpers_version()), metadata=setup_cell_metadata())
    student = [intro, setup, v4.new_code_cell(IMPORTS)]
    key = list(student)
    for ex_id in ids:
        ex = known[ex_id]
        cells = [v4.new_markdown_cell(prompt_markdown(ex)), v4.new_code_cell(ex.starter)]
        student += cells
        key += cells + [v4.new_code_cell(ex.solution, metadata=solution_cell_metadata())]
    notebooks = []
    for cells, edition in ((student, "student"), (key, "key")):
        nb = v4.new_notebook(cells=[nbformat.from_dict(c) for c in cells])
        nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
        write_course_metadata(nb, CourseMetadata(edition, title, list(ids), weights))
        notebooks.append(nb)
    return notebooks[0], notebooks[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a homework notebook from exercise ids.")
    parser.add_argument("ids", nargs="+", help="exercise ids such as ex-1.3")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--title", default="Homework")
    parser.add_argument(
        "--points",
        nargs="+",
        default=[],
        metavar="ID=N",
        help="points of an exercise (default: its number of stars), e.g. --points ex-1.3=5",
    )
    args = parser.parse_args(argv)
    try:
        points = {}
        for item in args.points:
            ex_id, _, value = item.partition("=")
            try:
                points[ex_id] = float(value)
            except ValueError:
                raise UnknownExercise(f"--points wants ID=NUMBER, got {item!r}") from None
            if points[ex_id] < 0:
                raise UnknownExercise(f"--points: {item!r} is negative")
        student, key = build(args.ids, args.title, points)
    except UnknownExercise as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, args.out / "student.ipynb")
    nbformat.write(key, args.out / "key.ipynb")
    print(f"wrote {args.out / 'student.ipynb'} and {args.out / 'key.ipynb'} ({len(args.ids)} exercises)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
