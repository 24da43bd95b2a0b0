"""Read the course's structure out of the chapter notebooks (used by the tests and the instructor tools).

An exercise in a chapter notebook is, in order:
  * a markdown cell with a sphinx-exercise directive:  :::{exercise} ★★ Title  /  :label: ex-N.M  /  **Practises:** ...
  * a starter code cell that ends with  check("ex-N.M", <answer>)
  * a solution: a markdown cell ``solution-start``, a code cell tagged ``solution`` (a Colab form), a markdown
    cell ``solution-end`` -- all three tagged ``solution`` so the student edition can drop them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
_DIRECTIVE = re.compile(r"^:::\{exercise\}\s*(?P<title>.*)$", re.M)
_LABEL = re.compile(r"^:label:\s*(?P<id>ex-\d+\.\d+)\s*$", re.M)
_PRACTISES = re.compile(r"\*\*Practises:\*\*\s*(?P<text>.+)")
_CHECK_CALL = re.compile(r"""check\(\s*["'](?P<id>ex-\d+\.\d+)["']""")


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

    @property
    def chapter(self) -> int:
        return int(self.id[3:].split(".")[0])


def chapter_notebooks(root: Path = CHAPTERS) -> list[Path]:
    """Every chapter notebook, in file-name order."""
    return sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def is_solution(cell) -> bool:
    return "solution" in cell.get("metadata", {}).get("tags", [])


def exercises(path: Path) -> list[Exercise]:
    """The exercises of one notebook, in order of appearance."""
    nb = nbformat.read(path, as_version=4)
    found: list[Exercise] = []
    dropdown = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{solution-start}" in cell.source:
            dropdown = ":class: dropdown" in cell.source and is_solution(cell)
        elif cell.cell_type == "markdown":
            directive, label = _DIRECTIVE.search(cell.source), _LABEL.search(cell.source)
            if directive and label:
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
                        "",
                        "",
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
    return [ex for path in chapter_notebooks(root) for ex in exercises(path)]
