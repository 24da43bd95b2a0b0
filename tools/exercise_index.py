"""Write ``exercises.md``, the page instructors plan with: every exercise, linked to its place in the book.

python -m tools.exercise_index           # rewrite exercises.md
python -m tools.exercise_index --check   # exit 1 if exercises.md is out of date (rewrites nothing)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from tools.course import ROOT, chapter_notebooks, exercises

PAGE = ROOT / "exercises.md"


def chapter_title(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return path.stem


def render() -> str:
    lines = [
        "# Exercise index",
        "",
        'Every exercise in the book, for planning assignments. Each one checks itself (`check("ex-N.M", answer)`),',
        "has a collapsed solution that the book's tests execute, and can be put into a homework notebook with",
        "`python -m tools.instructor.assignment ex-N.M ... --out homework/` (see the README, *For instructors*).",
        "",
        "Difficulty: ★ a direct application of the lesson; ★★ combines two ideas; ★★★ needs some thought.",
        "",
    ]
    total = 0
    for path in chapter_notebooks():
        found = exercises(path)
        total += len(found)
        lines += [
            f"## {int(path.name[:2])}. {chapter_title(path)}",
            "",
            f"{len(found)} exercises. {{doc}}`Go to the chapter <chapters/{path.stem}>`.",
            "",
            "| id | difficulty | exercise | practises |",
            "|---|---|---|---|",
        ]
        for ex in found:
            objective = ex.objective.replace("|", "\\|")
            lines.append(
                f"| `{ex.id}` | {'★' * ex.difficulty} | {{ref}}`{ex.title} <{ex.id}>` | {objective} |"
            )
        lines.append("")
    lines.insert(2, f"{total} exercises in {len(chapter_notebooks())} chapters.")
    lines.insert(3, "")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != text:
            print("exercises.md is out of date: run python -m tools.exercise_index")
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
