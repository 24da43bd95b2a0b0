"""Write the student edition: every chapter notebook without its solutions, plus (optionally) its website.

    python -m tools.instructor.student_edition            # -> student/chapters/*.ipynb (+ book files)
    python -m tools.instructor.student_edition --build    # ... and build the student website into student/_build/html
    python -m tools.instructor.student_edition --execute  # ... and execute every student notebook as a check

The repository's notebooks are the instructor key. Solution cells carry the tag ``solution``; nbconvert's
TagRemovePreprocessor drops them. The starter cells stay, and each check reports "not yet solved", so a student
notebook runs to the end.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import TagRemovePreprocessor

from tools.course import (
    ROOT,
    SOLUTION_TAG,
    CourseMetadata,
    chapter_notebooks,
    exercises,
    write_course_metadata,
)

BOOK_FILES = ["_config.yml", "_toc.yml"]


def strip_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``nb`` without the cells tagged ``solution`` (and without outputs)."""
    remover = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG}, enabled=True)
    nb, _ = remover.preprocess(nb, {})
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def write_student_notebook(path: Path, out_dir: Path) -> Path:
    """Write the student version of one chapter notebook into ``out_dir``; returns its path."""
    nb = strip_solutions(nbformat.read(path, as_version=4))
    write_course_metadata(nb, CourseMetadata("student", path.stem, [e.id for e in exercises(path)]))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    nbformat.write(nb, target)
    return target


def write_edition(out: Path) -> list[Path]:
    """The whole student edition: chapters without solutions plus the book's pages and config."""
    if out.exists():
        shutil.rmtree(out)
    written = [write_student_notebook(p, out / "chapters") for p in chapter_notebooks()]
    for name in BOOK_FILES + [p.name for p in ROOT.glob("*.md") if p.name != "README.md"]:
        shutil.copy(ROOT / name, out / name)
    for folder in ("_static", "_ext", "helpers", "data"):
        if (ROOT / folder).is_dir():
            shutil.copytree(
                ROOT / folder,
                out / folder,
                ignore=shutil.ignore_patterns("__pycache__", "FashionMNIST", "generated"),
            )
    config = (out / "_config.yml").read_text(encoding="utf-8")
    (out / "_config.yml").write_text(
        config.replace('title: "', 'title: "[Student edition] ', 1), encoding="utf-8"
    )
    return written


def execute(path: Path, timeout: int = 300) -> str:
    """Execute a notebook in place-free mode; returns all printed text (raises if a cell errors)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return "\n".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "stream"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "student", help="output folder (default: student/)"
    )
    parser.add_argument("--build", action="store_true", help="also build the student website")
    parser.add_argument("--execute", action="store_true", help="also execute every student notebook")
    args = parser.parse_args()
    written = write_edition(args.out)
    print(f"student edition: {len(written)} notebooks in {args.out}/chapters (solutions removed)")
    if args.execute:
        for path in written:
            text = execute(path)
            unsolved = text.count("not yet solved")
            print(f"  {path.name}: ran to the end, {unsolved} exercises report 'not yet solved'")
    if args.build:
        jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or shutil.which(
            "jupyter-book"
        )
        if jupyter_book is None:
            parser.error("--build needs jupyter-book (pip install -r requirements.txt)")
        subprocess.run([jupyter_book, "build", str(args.out), "-W", "-n", "--keep-going"], check=True)
        print(f"student website: {args.out}/_build/html/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
