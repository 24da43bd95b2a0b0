"""Give the student edition's notebooks the outputs of the book build, so its website needs no execution.

    python -m tools.reuse_outputs [student/] [--executed _build/jupyter_execute]

A student notebook is its chapter minus the cells tagged ``solution`` (same cell ids, same sources, except the
Colab setup cell, which the student edition points at the students' repository). The book
build has already executed every chapter (myst-nb keeps the executed copies in ``_build/jupyter_execute``), and
in that run each starter cell ran before its solution, so it printed what a student sees: "not yet solved".
This copies every code cell's outputs (by cell id) and the widget state into the student notebooks and turns
their execution off (``mystnb.execution_mode: off``); ``jupyter-book build student/`` then renders them as
they are. That a student notebook runs to the end without its solutions is checked where it is cheaper: no
cell outside the solutions reads a name a solution binds (tests/unit/test_course_conventions.py), and the
instructor-tool tests execute a student chapter.

Exits with status 1, changing nothing, when an executed copy is missing, does not match its notebook (a stale
build) or was not executed to the end without errors (a failed build): build the book first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from tools.course import ROOT, SETUP_TAG


class StaleBuild(Exception):
    """The executed copy of a notebook is missing, was made from other sources or did not run to the end."""


def _failed(cell: nbformat.NotebookNode) -> str:
    """Why an executed code cell cannot be reused ("" when it can): it did not run, or raised unexpectedly."""
    tags = cell.metadata.get("tags", [])
    if cell.execution_count is None and cell.source.strip() and "skip-execution" not in tags:
        return "was not executed"
    if "raises-exception" not in tags and any(o.get("output_type") == "error" for o in cell.outputs):
        return "raised an error"
    return ""


def with_outputs(student: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``student`` with every code cell's outputs taken from the cell of the same id in ``executed``."""
    cells = {cell.get("id"): cell for cell in executed.cells if cell.cell_type == "code"}
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        source = cells.get(cell.get("id"))
        first = cell.source.splitlines()[0][:60] if cell.source else ""
        # The student edition rewrites the Colab setup cell for the students' repository; outside Colab it
        # does nothing and shows nothing, so its (empty) outputs are the same whatever its source.
        rewritten_setup = SETUP_TAG in cell.metadata.get("tags", [])
        if source is None or (source.source != cell.source and not rewritten_setup):
            raise StaleBuild(f"cell {cell.get('id')!r} ({first!r}) has no executed twin")
        if _failed(source):
            raise StaleBuild(f"cell {cell.get('id')!r} ({first!r}) {_failed(source)} in the book build")
        cell.outputs = source.outputs
        cell.execution_count = source.execution_count
    if "widgets" in executed.metadata:
        student.metadata["widgets"] = executed.metadata["widgets"]
    student.metadata["mystnb"] = {**student.metadata.get("mystnb", {}), "execution_mode": "off"}
    return student


def reuse_outputs(student_dir: Path, executed_dir: Path) -> list[Path]:
    """Fill every notebook under ``student_dir/chapters`` from ``executed_dir/chapters``; returns them.

    Raises StaleBuild (before writing anything) when a notebook has no matching executed copy.
    """
    filled = {}
    for path in sorted((student_dir / "chapters").glob("*.ipynb")):
        twin = executed_dir / "chapters" / path.name
        if not twin.is_file():
            raise StaleBuild(f"{twin} is missing")
        try:
            filled[path] = with_outputs(nbformat.read(path, as_version=4), nbformat.read(twin, as_version=4))
        except StaleBuild as err:
            raise StaleBuild(f"{path.name}: {err}") from None
    if not filled:
        raise StaleBuild(f"no notebooks in {student_dir / 'chapters'}")
    for path, nb in filled.items():
        nbformat.write(nb, path)
    return list(filled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("student", nargs="?", type=Path, default=ROOT / "student", help="the student edition")
    parser.add_argument(
        "--executed",
        type=Path,
        default=ROOT / "_build" / "jupyter_execute",
        help="the book build's executed notebooks (default: _build/jupyter_execute)",
    )
    args = parser.parse_args(argv)
    try:
        filled = reuse_outputs(args.student, args.executed)
    except StaleBuild as err:
        print(
            f"error: {err}; build the book first (jupyter-book build . -W -n --keep-going)", file=sys.stderr
        )
        return 1
    print(f"{len(filled)} student notebooks now carry the book build's outputs (execution off)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
