"""Write the student edition: the book without solutions and without a way back to the instructor's repository.

    python -m tools.instructor.student_edition --repository https://github.com/my-class/pytorch-student [--branch main]
    python -m tools.instructor.student_edition ... --out DIR [--force]   # default DIR: student/
    python -m tools.instructor.student_edition ... --build                # ... and build its website (DIR/_build/html)
    python -m tools.instructor.student_edition ... --execute              # ... and execute every student notebook

The repository's chapter notebooks are the instructor key. The edition:

* drops every cell tagged ``solution`` (nbconvert's TagRemovePreprocessor) and all outputs; starter cells stay,
  and each check reports "not yet solved", so a student notebook runs to the end;
* points the website's Colab and repository buttons and every notebook's Colab setup cell at the *students'*
  repository (``--repository``/``--branch``); without ``--repository`` it has no Colab, repository or issues
  button and its setup cell stops in Colab with a message, so nothing in it leads to the key;
* leaves out the instructor-only text: the "For instructors" part of the table of contents (and its pages), the
  "Instructors" tab of the landing page, and rewords "solutions are collapsed below each exercise";
* is self-contained: ``pip install git+<students' repository>`` installs its ``helpers`` (pyproject.toml is copied).

An existing, non-empty ``--out`` folder is refused unless ``--force`` is given (then its contents are replaced,
except ``.git``, ``.github`` and ``_build``, so the students' repository keeps its history and a rebuild its
execution cache).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml
from nbconvert.preprocessors import TagRemovePreprocessor

from tools.course import (
    ROOT,
    SOLUTION_TAG,
    CourseMetadata,
    book_config,
    chapter_notebooks,
    exercises,
    write_course_metadata,
)
from tools.sync_setup_cells import SETUP_TAGS, helpers_version, setup_source

COPIED_FILES = [
    "pyproject.toml",
    "requirements.txt",
    "LICENSE",
]  # so that `pip install git+<students' repository>` works
COPIED_FOLDERS = ["_static", "_ext", "helpers", "data"]
# --force replaces everything else in --out (the build folder holds the execution cache: keeping it saves minutes)
KEPT_ON_FORCE = {".git", ".github", "_build"}
# Instructor-only text and what the student edition says instead (applied to Markdown pages and cells).
REWORDINGS = [
    (
        re.compile(r"Solutions? (?:are|is) collapsed below each exercise[^.]*\.", re.I),
        "This student edition has no solutions: the check tells you when your answer is right.",
    ),
    (re.compile(r"\n:::\{tab-item\} Instructors\n.*?\n:::\n", re.S), "\n"),  # the landing page's tab
]
NO_REPOSITORY_SETUP = """# @title Setup: run me first in Colab
import sys

if "google.colab" in sys.modules:
    raise RuntimeError(
        "This student edition was made without a repository for Colab to install the course's "
        "helpers from: ask your instructor for the course's notebook link."
    )"""


class EditionError(Exception):
    """The edition cannot be written (the output folder is not empty, a setting is wrong)."""


def student_text(text: str) -> str:
    """``text`` with the instructor-only passages dropped or reworded."""
    for pattern, replacement in REWORDINGS:
        text = pattern.sub(replacement, text)
    return text


def strip_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``nb`` without the cells tagged ``solution`` (and without outputs)."""
    remover = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG}, enabled=True)
    nb, _ = remover.preprocess(nb, {})
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def write_student_notebook(path: Path, out_dir: Path, setup: str | None = None) -> Path:
    """Write the student version of one chapter notebook into ``out_dir``; returns its path.

    ``setup`` replaces the source of the Colab setup cell (the code cell tagged ``colab-setup``).
    """
    nb = strip_solutions(nbformat.read(path, as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = student_text(cell.source)
        elif setup is not None and "colab-setup" in cell.metadata.get("tags", []):
            cell.source = setup
            cell.metadata["tags"] = list(SETUP_TAGS)
    write_course_metadata(nb, CourseMetadata("student", path.stem, [e.id for e in exercises(path)]))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    nbformat.write(nb, target)
    return target


def student_config(repository: str | None, branch: str) -> dict:
    """The book's _config.yml for the student edition: its title, repository and buttons."""
    config = book_config()
    config["title"] = "[Student edition] " + str(config.get("title", ""))
    html = config.setdefault("html", {})
    if repository:
        config["repository"] = {"url": repository, "branch": branch, "path_to_book": ""}
        substitutions = config.get("parse", {}).get("myst_substitutions", {})
        if "repository_url" in substitutions:
            substitutions["repository_url"] = repository
    else:  # no button, link or substitution may lead to the instructor's repository
        config["repository"] = {"url": "", "branch": branch, "path_to_book": ""}
        config.setdefault("launch_buttons", {})["colab_url"] = ""
        html["use_repository_button"] = html["use_issues_button"] = html["use_edit_page_button"] = False
        substitutions = config.get("parse", {}).get("myst_substitutions", {})
        if "repository_url" in substitutions:
            substitutions["repository_url"] = "your course's repository (ask your instructor for its address)"
    return config


def student_toc() -> tuple[dict, set[str]]:
    """The table of contents without its instructor parts, and the files those parts listed."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    dropped: set[str] = set()
    kept = []
    for part in toc.get("parts", []):
        if "instructor" in str(part.get("caption", "")).lower():
            dropped.update(str(c.get("file")) for c in part.get("chapters", []))
        else:
            kept.append(part)
    toc["parts"] = kept
    return toc, dropped


def _prepare(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise EditionError(f"--out {out} is a file")
    if out.resolve() == ROOT.resolve() or out.resolve() in ROOT.resolve().parents:
        raise EditionError(f"--out {out} would replace the book itself")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise EditionError(f"--out {out} exists and is not empty: choose another folder or add --force")
        for child in out.iterdir():  # keep the students' repository's history and workflows
            if child.name in KEPT_ON_FORCE:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def write_edition(
    out: Path, repository: str | None = None, branch: str = "main", force: bool = False
) -> list[Path]:
    """The whole student edition in ``out``; returns the chapter notebooks written."""
    if repository is not None and not re.match(r"^https?://\S+$", repository):
        raise EditionError(f"--repository must be an http(s) URL, got {repository!r}")
    repository = repository.rstrip("/") if repository else None
    _prepare(out, force)
    setup = setup_source(repository, branch, helpers_version()) if repository else NO_REPOSITORY_SETUP
    written = [write_student_notebook(p, out / "chapters", setup) for p in chapter_notebooks()]
    toc, dropped = student_toc()
    (out / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    config = student_config(repository, branch)
    (out / "_config.yml").write_text(
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    for page in ROOT.glob("*.md"):
        if page.name != "README.md" and page.stem not in dropped:
            (out / page.name).write_text(student_text(page.read_text(encoding="utf-8")), encoding="utf-8")
    for name in COPIED_FILES:
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, out / name)
    for folder in COPIED_FOLDERS:
        if (ROOT / folder).is_dir():
            shutil.copytree(
                ROOT / folder,
                out / folder,
                ignore=shutil.ignore_patterns("__pycache__", "FashionMNIST", "generated", "*.pyc"),
            )
    (out / "README.md").write_text(_readme(repository, branch), encoding="utf-8")
    (out / ".gitignore").write_text("_build/\n__pycache__/\ndata/FashionMNIST/\n", encoding="utf-8")
    return written


def _readme(repository: str | None, branch: str) -> str:
    title = str(book_config().get("title", "The course"))
    colab = ""
    if repository and repository.startswith("https://github.com/"):
        slug = repository.removeprefix("https://github.com/")
        colab = (
            "Open a chapter in Colab: "
            f"`https://colab.research.google.com/github/{slug}/blob/{branch}/chapters/01_tensors.ipynb` "
            "(any chapter's file name works), or use the rocket button on the website.\n\n"
        )
    return (
        f"# {title} (student edition)\n\n"
        "The chapters of the course, each with its exercises and no solutions: every exercise's last line,\n"
        '`check("ex-N.M", answer)`, tells you whether your answer is right and what is wrong if not.\n\n'
        + colab
        + "Locally: `pip install -e .` (installs the course's `helpers` and their dependencies), then open\n"
        "`chapters/` in JupyterLab. The website is built with `pip install 'jupyter-book<2' sphinx-exercise`\n"
        "and `jupyter-book build .`.\n"
    )


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "student", help="output folder (default: student/)"
    )
    parser.add_argument("--repository", help="URL of the students' repository (Colab and repository buttons)")
    parser.add_argument("--branch", default="main", help="branch of the students' repository (default main)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    parser.add_argument("--build", action="store_true", help="also build the student website")
    parser.add_argument("--execute", action="store_true", help="also execute every student notebook")
    args = parser.parse_args(argv)
    try:
        written = write_edition(args.out, args.repository, args.branch, args.force)
    except EditionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"student edition: {len(written)} notebooks in {args.out}/chapters (solutions removed)")
    if args.repository:
        print(f"  Colab, repository button and setup cells point at {args.repository} (branch {args.branch})")
    else:
        print(
            "  no --repository: no Colab/repository buttons, and the setup cell stops in Colab with a message"
        )
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
