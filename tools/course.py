"""The course's conventions, in one place: the repository root, the chapter notebooks, the cell tags, the
exercise format and the ``course`` notebook metadata. Every tool and test reads them from here.

An exercise in a chapter notebook is, in order:
  * a markdown cell with a sphinx-exercise directive:  :::{exercise} ★★ Title  /  :label: ex-N.M  /  **Practises:** ...
  * a starter code cell that ends with  check("ex-N.M", <answer>)
  * a solution: a markdown cell ``solution-start``, a code cell tagged ``solution`` (a Colab form), a markdown
    cell ``solution-end`` -- all three tagged ``solution`` so the student edition can drop them.
The id format ``ex-N.M`` is owned by ``helpers.course.exercises`` (``parse_exercise_id``), which ``check()`` uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from helpers.course.exercises import parse_exercise_id

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"

# Cell tags. Solution cells (markdown and code): the student edition and the assignment's student notebook
# drop them. The setup cell (the first code cell, written by tools/sync_setup_cells.py) installs helpers in
# Colab; remove-cell: the build executes it but the website does not show it.
SOLUTION_TAG = "solution"
SETUP_TAG = "colab-setup"
SETUP_TAGS = ["remove-cell", SETUP_TAG]

_DIRECTIVE = re.compile(r"^:::\{exercise\}\s*(?P<title>.*)$", re.M)
_LABEL = re.compile(r"^:label:\s*(?P<id>\S+)\s*$", re.M)
_PRACTISES = re.compile(r"\*\*Practises:\*\*\s*(?P<text>.+)")
_CHECK_CALL = re.compile(r"""check\(\s*["'](?P<id>[^"']+)["']""")


def setup_cell_metadata() -> dict[str, Any]:
    """The setup cell's metadata: its tags, and ``cellView: form`` (Colab folds it to its ``# @title`` line)."""
    return {"tags": list(SETUP_TAGS), "cellView": "form"}


def solution_cell_metadata() -> dict[str, Any]:
    """A solution code cell's metadata: the solution tag, folded to its ``# @title`` line in Colab."""
    return {"tags": [SOLUTION_TAG], "cellView": "form"}


def is_solution(cell: dict[str, Any]) -> bool:
    """Whether a cell (code or markdown) belongs to a solution (tagged ``solution``)."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def book_config(config_path: Path = ROOT / "_config.yml") -> dict:
    """The book's _config.yml as a dict."""
    return yaml.safe_load(config_path.read_text(encoding="utf-8"))


def repository(config_path: Path = ROOT / "_config.yml") -> tuple[str, str, str]:
    """(url, branch, path_to_book) of the book's repository: the one place it is named is _config.yml."""
    repo = book_config(config_path)["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main"), str(repo.get("path_to_book") or "").strip("/")


def notebooks_branch(config_path: Path = ROOT / "_config.yml") -> str:
    """The branch that holds the learner notebooks (what the Colab button opens), set once in _config.yml.

    It is the theme's ``repository_branch`` (sphinx.config.html_theme_options), so the website's launch button
    uses it directly; without that setting the launch button, and this, fall back to ``repository.branch``.
    """
    config = book_config(config_path)
    options = ((config.get("sphinx") or {}).get("config") or {}).get("html_theme_options") or {}
    return str(options.get("repository_branch") or repository(config_path)[1])


@dataclass
class Exercise:
    id: str  # "ex-1.3"
    notebook: Path
    title: str  # without the stars
    difficulty: int  # number of stars, 1..3
    objective: str  # the "Practises:" line
    starter: str  # source of the starter cell ("" if missing)
    solution: str  # source of the solution code cell ("" if missing)
    solution_collapsed: bool = False  # a Colab form (cellView) inside a sphinx-exercise dropdown
    prompt: str = ""  # source of the markdown cell with the exercise directive

    @property
    def chapter(self) -> int:
        return parse_exercise_id(self.id)[0]


def chapter_notebooks(root: Path = CHAPTERS) -> list[Path]:
    """Every chapter notebook, in file-name order."""
    return sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def exercises(path: Path) -> list[Exercise]:
    """The exercises of one notebook, in order of appearance.

    Raises ValueError when an exercise's label is not an exercise id (``ex-N.M``).
    """
    nb = nbformat.read(path, as_version=4)
    found: list[Exercise] = []
    dropdown = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{solution-start}" in cell.source:
            dropdown = ":class: dropdown" in cell.source and is_solution(cell)
        elif cell.cell_type == "markdown":
            directive, label = _DIRECTIVE.search(cell.source), _LABEL.search(cell.source)
            if directive and label:
                try:
                    parse_exercise_id(label.group("id"))
                except ValueError as err:
                    raise ValueError(f"{path.name}: exercise label {label.group('id')!r}: {err}") from None
                title = directive.group("title").strip()
                stars = len(title) - len(title.lstrip("★"))
                practises = _PRACTISES.search(cell.source)
                found.append(
                    Exercise(
                        label.group("id"),
                        path,
                        title.lstrip("★ ").strip(),
                        stars,
                        practises.group("text").strip() if practises else "",
                        starter="",
                        solution="",
                        prompt=cell.source,
                    )
                )
        elif cell.cell_type == "code" and found:
            call = _CHECK_CALL.search(cell.source)
            if call and call.group("id") == found[-1].id:
                if is_solution(cell):
                    found[-1].solution = cell.source
                    found[-1].solution_collapsed = cell.metadata.get("cellView") == "form" and dropdown
                elif not found[-1].starter:
                    found[-1].starter = cell.source
    return found


def all_exercises(root: Path = CHAPTERS) -> list[Exercise]:
    """The exercises of every chapter, in chapter order."""
    return [ex for path in chapter_notebooks(root) for ex in exercises(path)]


# ---- the ``course`` notebook metadata: which exercises a handed-out notebook holds (the grader reads it) ----

EDITIONS = ("student", "key")


@dataclass
class CourseMetadata:
    edition: str  # "student" (solutions removed) or "key" (with solutions)
    title: str  # the chapter's file stem or the assignment's title
    exercises: list[str]  # exercise ids, in notebook order
    points: dict[str, float] | None = None  # exercise id -> points (an assignment's key; None: the stars)


def write_course_metadata(nb: nbformat.NotebookNode, meta: CourseMetadata) -> None:
    """Store ``meta`` in ``nb.metadata["course"]`` (the only writer of that key)."""
    if meta.edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, got {meta.edition!r}")
    for exercise_id in meta.exercises:
        parse_exercise_id(exercise_id)
    course: dict[str, Any] = {"edition": meta.edition, "title": meta.title, "exercises": list(meta.exercises)}
    if meta.points is not None:
        course["points"] = dict(meta.points)
    nb.metadata["course"] = course


def read_course_metadata(nb: nbformat.NotebookNode) -> CourseMetadata:
    """The ``course`` metadata of a notebook made by the student edition or the assignment builder.

    Raises ValueError when it is missing or malformed (not a notebook handed out by this course's tools).
    """
    course = nb.metadata.get("course")
    ids = course.get("exercises") if isinstance(course, dict) else None
    if not isinstance(course, dict) or not isinstance(ids, list) or not ids:
        raise ValueError(
            "not a notebook of this course (no 'course.exercises' metadata); hand out notebooks made by "
            "python -m tools.instructor.student_edition or python -m tools.instructor.assignment"
        )
    points = course.get("points")
    return CourseMetadata(
        str(course.get("edition", "")),
        str(course.get("title", "")),
        [str(e) for e in ids],
        dict(points) if isinstance(points, dict) else None,
    )
