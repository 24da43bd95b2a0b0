"""The student website: built from the student edition, it shows every exercise and no solution.

`.ci/run` builds it from the student edition with the book build's outputs (`python -m tools.reuse_outputs`: each
starter cell's output is the one it printed before its solution ran); `python -m tools.instructor.student_edition
--build` builds it by executing every student notebook. That a student notebook runs to the end is checked in
tests/unit/test_course_conventions.py and test_instructor_tools.py. The site is read from $COURSE_STUDENT_SITE_DIR
(default: student/_build/html). Without it the tests skip locally and fail when CI is set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tools.course import ROOT, chapter_notebooks, exercises, repository

SITE = Path(os.environ.get("COURSE_STUDENT_SITE_DIR", ROOT / "student" / "_build" / "html")).resolve()
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
CHAPTERS = chapter_notebooks()


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        message = (
            f"no student website in {SITE}: run `python -m tools.instructor.student_edition --build` first"
        )
        if IN_CI:
            pytest.fail(message + " (CI is set, so this is an error)")
        pytest.skip(message)
    return SITE


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_student_page_has_exercises_and_no_solutions(site, notebook):
    page = site / "chapters" / f"{notebook.stem}.html"
    assert page.is_file(), (
        f"{page} is missing: the student website is stale, rebuild it (tools/instructor/student_edition.py --build)"
    )
    html = page.read_text(encoding="utf-8")
    ids = [e.id for e in exercises(notebook)]
    for exercise_id in ids:
        assert f'id="{exercise_id}"' in html, f"{notebook.stem}: exercise {exercise_id} is missing"
    classes = " ".join(re.findall(r'class="([^"]*)"', html)).split()
    assert "solution" not in classes, f"{notebook.stem}: a solution box is on the student website"
    assert "Solution to exercise" not in html, f"{notebook.stem}: a solution's code is on the student website"
    # The build executed the student notebook to the end: every starter's check reported "not yet solved".
    assert _text(html).count("not yet solved") == len(ids), (
        f"{notebook.stem}: not every exercise reports 'not yet solved'"
    )


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_full_website_has_every_solution_collapsed(notebook):
    """The contrast that makes the test above meaningful: the full build has the solutions, each one collapsed."""
    full = ROOT / "_build" / "html" / "chapters" / f"{notebook.stem}.html"
    if not full.is_file():
        if IN_CI:
            pytest.fail(f"no full website at {full} (CI is set)")
        pytest.skip("the full website is not built")
    html = full.read_text(encoding="utf-8")
    boxes = re.findall(r'class="([^"]*\bsolution\b[^"]*)"', html)
    boxes = [b.split() for b in boxes if "admonition" in b.split()]
    assert len(boxes) == len(exercises(notebook)), f"{notebook.stem}: expected one solution box per exercise"
    assert all("dropdown" in b for b in boxes), (
        f"{notebook.stem}: a solution is not collapsed (no dropdown class)"
    )
    # the solution code itself (the cells tagged `solution`), not only the boxes around it
    assert html.count('class="cell tag_solution') >= len(boxes), f"{notebook.stem}: solution code missing"


def test_student_website_has_no_path_to_the_key(site):
    """No page links to the instructor's repository (the key) or carries instructor-only text; the Colab and
    repository buttons lead to the students' repository given with --repository, or do not exist."""
    instructor_url = repository()[0]
    config = SITE.parents[1] / "_config.yml"
    students_url = (yaml.safe_load(config.read_text())["repository"]["url"] or "") if config.is_file() else ""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= len(CHAPTERS) + 2
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert instructor_url not in html, f"{page.relative_to(site)} links to the instructor's repository"
        text = _text(html).lower()
        for phrase in ("instructor key", "for instructors", "solutions are collapsed"):
            assert phrase not in text, f"{page.relative_to(site)} says {phrase!r}"
        for link in re.findall(r'href="(https://colab\.research\.google\.com/[^"]*)"', html):
            assert students_url and students_url.removeprefix("https://github.com/") in link, link
    chapter = (site / "chapters" / f"{CHAPTERS[0].stem}.html").read_text(encoding="utf-8")
    assert ("colab.research.google.com" in chapter) == bool(students_url)
