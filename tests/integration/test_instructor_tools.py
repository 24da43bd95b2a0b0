"""Student edition, assignment builder and grader (tools/)."""

import csv
import json
import subprocess
import sys

import nbformat
import pytest

from tools.course import ROOT, chapter_notebooks, is_solution
from tools.instructor import assignment, grade, student_edition

IDS = ["ex-1.2", "ex-1.5", "ex-1.7"]
RIGHT = {
    "ex-1.2": 'def positives(x):\n    return x[x > 0]\ncheck("ex-1.2", positives)',
    "ex-1.5": (
        "def pairwise_sq_dists(a, b):\n"
        "    return ((a[:, None] - b[None]) ** 2).sum(-1)\n"
        'check("ex-1.5", pairwise_sq_dists)'
    ),
}
WRONG_1_5 = 'def pairwise_sq_dists(a, b):\n    return torch.cdist(a, b)\ncheck("ex-1.5", pairwise_sq_dists)'


def test_student_edition_drops_solutions_and_keeps_starters(tmp_path):
    written = student_edition.write_edition(tmp_path / "student")
    assert [p.name for p in written] == [p.name for p in chapter_notebooks()]
    for path in written:
        nb = nbformat.read(path, as_version=4)
        assert not any(is_solution(c) for c in nb.cells)
        assert not any(c.source.startswith("# @title Solution") for c in nb.cells)
        starters = [c for c in nb.cells if c.cell_type == "code" and 'check("ex-' in c.source]
        assert len(starters) == len(nb.metadata["course"]["exercises"]) >= 6
    assert (tmp_path / "student" / "_config.yml").read_text().count("[Student edition]") == 1


def test_student_chapter_runs_to_the_end_reporting_not_yet_solved(tmp_path):
    path = student_edition.write_student_notebook(ROOT / "chapters" / "01_tensors.ipynb", tmp_path)
    printed = student_edition.execute(path)
    assert printed.count("not yet solved") == 7 and "correct!" not in printed


def test_assignment_builds_student_and_key(tmp_path):
    assert assignment.main(IDS + ["--out", str(tmp_path), "--title", "Week 1"]) == 0
    student = nbformat.read(tmp_path / "student.ipynb", as_version=4)
    key = nbformat.read(tmp_path / "key.ipynb", as_version=4)
    assert student.metadata["course"]["exercises"] == IDS
    assert not any(is_solution(c) for c in student.cells)
    assert sum(is_solution(c) for c in key.cells) == 3
    headings = [c.source.splitlines()[0] for c in student.cells if c.cell_type == "markdown"][1:]
    assert headings == [
        "## Exercise 1.2 ★ Keep the positives",
        "## Exercise 1.5 ★★ All pairwise distances",
        "## Exercise 1.7 ★★ Batched linear layer",
    ]
    assert not any(":::" in c.source for c in student.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("ids", [["ex-9.9"], [], ["ex-1.2", "ex-1.2"]])
def test_assignment_rejects_bad_ids(ids, tmp_path, capsys):
    with pytest.raises((assignment.UnknownExercise, SystemExit)):
        assignment.build(ids, "x") if ids else assignment.main(["--out", str(tmp_path)])


def test_assignment_cli_unknown_id_exits_non_zero(tmp_path, capsys):
    assert assignment.main(["ex-9.9", "--out", str(tmp_path / "hw")]) == 2
    assert "unknown exercise id(s) ['ex-9.9']" in capsys.readouterr().err
    assert not (tmp_path / "hw").exists()


def _submission(student, replace=None, insert_after=None, delete=None, rename=None):
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    for ex_id, source in (replace or {}).items():
        cell = next(c for c in nb.cells if c.cell_type == "code" and f'check("{ex_id}"' in c.source)
        cell.source = source
    if insert_after:
        ex_id, source = insert_after
        index = next(
            i for i, c in enumerate(nb.cells) if f"'{ex_id}'" in c.source or f'"{ex_id}"' in c.source
        )
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    if delete:
        nb.cells = [c for c in nb.cells if f'check("{delete}"' not in c.source]
    if rename:
        for c in nb.cells:
            c.source = c.source.replace(f'"{rename[0]}"', f'"{rename[1]}"')
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade a synthetic class once; the tests below read the result."""
    root = tmp_path_factory.mktemp("class")
    student, key = assignment.build(IDS, "Week 1")
    subs = root / "submissions"
    subs.mkdir()
    notebooks = {
        "all_correct": key,
        "all_blank": student,
        "partly_right": _submission(student, replace={"ex-1.2": RIGHT["ex-1.2"], "ex-1.5": WRONG_1_5}),
        "raises": _submission(
            student,
            replace={"ex-1.2": RIGHT["ex-1.2"]},
            insert_after=("ex-1.2", "raise RuntimeError('boom')"),
        ),
        "loops_forever": _submission(
            student, replace={"ex-1.2": RIGHT["ex-1.2"]}, insert_after=("ex-1.2", "while True:\n    pass")
        ),
        "deleted_cell": _submission(student, replace={"ex-1.2": RIGHT["ex-1.2"]}, delete="ex-1.5"),
        "renamed": _submission(student, replace={"ex-1.5": RIGHT["ex-1.5"]}, rename=("ex-1.5", "ex-1.9")),
    }
    for name, nb in notebooks.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    (subs / "invalid_json.ipynb").write_text("{ this is not json")
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hi')")])
    nbformat.write(other, subs / "other_course.ipynb")
    out = root / "out" / "grades.csv"
    timeout = 30
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.instructor.grade",
            str(subs),
            "--out",
            str(out),
            "--timeout",
            str(timeout),
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    return result, out, timeout


def test_grader_csv_is_exact(graded):
    result, out, _ = graded
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    got = {(r["student_file"], r["exercise_id"]): r["status"] for r in rows}
    P, F, N, R = "passed", "failed", "not solved", "not run"
    expected = {
        "all_correct.ipynb": [P, P, P],
        "all_blank.ipynb": [N, N, N],
        "partly_right.ipynb": [P, F, N],
        "raises.ipynb": [P, N, N],
        "loops_forever.ipynb": [P, R, R],
        "deleted_cell.ipynb": [P, R, N],
        "renamed.ipynb": [N, R, N],
    }
    assert got == {(f, i): s for f, statuses in expected.items() for i, s in zip(IDS, statuses)}, (
        result.stdout
    )
    feedback = {(r["student_file"], r["exercise_id"]): r["feedback"] for r in rows}
    assert (
        "largest difference" in feedback[("partly_right.ipynb", "ex-1.5")]
        or "values" in feedback[("partly_right.ipynb", "ex-1.5")]
        or "SQUARED" in feedback[("partly_right.ipynb", "ex-1.5")]  # the check names this mistake
    )
    totals = {r["student_file"]: r for r in csv.DictReader(out.with_name("totals.csv").open())}
    assert {f: (int(t["passed"]), int(t["total"])) for f, t in totals.items() if t["total"] != "0"} == {
        f: (s.count(P), 3) for f, s in expected.items()
    }
    assert "unreadable notebook" in totals["invalid_json.ipynb"]["note"]
    assert "not a notebook of this course" in totals["other_course.ipynb"]["note"]
    assert "RuntimeError: boom" in totals["raises.ipynb"]["note"]
    assert (
        "ignored unexpected exercise ids ['ex-1.9']" in totals["renamed.ipynb"]["note"]
        or "KeyError" in totals["renamed.ipynb"]["note"]
    )
    assert "submission" in result.stdout and "passed  total" in result.stdout


def test_grader_honours_the_time_limit(graded):
    result, out, timeout = graded
    totals = {r["student_file"]: r for r in csv.DictReader(out.with_name("totals.csv").open())}
    assert f"stopped after the {timeout} s time limit" in totals["loops_forever.ipynb"]["note"]
    line = next(row for row in result.stdout.splitlines() if row.startswith("graded loops_forever"))
    seconds = float(line.split("(")[1].split(" s)")[0])
    assert timeout <= seconds < timeout + 10


@pytest.mark.parametrize("make", ["missing", "empty", "no_notebooks"])
def test_grader_refuses_when_there_is_nothing_to_grade(make, tmp_path, capsys):
    folder = tmp_path / "subs"
    if make != "missing":
        folder.mkdir()
    if make == "no_notebooks":
        (folder / "notes.txt").write_text("hello")
    out = tmp_path / "grades.csv"
    assert grade.main([str(folder), "--out", str(out)]) == 2
    assert "error:" in capsys.readouterr().err
    assert not out.exists() and not out.with_name("totals.csv").exists()
