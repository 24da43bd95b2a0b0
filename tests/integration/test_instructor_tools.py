"""Student edition, assignment builder and grader (tools/instructor), including a class of adversarial submissions."""

import csv
import json
import re
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml

from tools.course import ROOT, chapter_notebooks, exercises, is_solution, repository
from tools.instructor import assignment, grade, sandbox, student_edition

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


STUDENT_REPO = "https://github.com/my-class/pytorch-student"


def test_student_edition_drops_solutions_and_keeps_starters(tmp_path):
    written = student_edition.write_edition(tmp_path / "student", STUDENT_REPO, "spring")
    assert [p.name for p in written] == [p.name for p in chapter_notebooks()]
    for path in written:
        nb = nbformat.read(path, as_version=4)
        assert not any(is_solution(c) for c in nb.cells)
        assert not any(c.source.startswith("# @title Solution") for c in nb.cells)
        starters = [c for c in nb.cells if c.cell_type == "code" and 'check("ex-' in c.source]
        assert len(starters) == len(nb.metadata["course"]["exercises"]) >= 6
        setup = next(c for c in nb.cells if "colab-setup" in c.metadata.get("tags", []))
        assert f"git+{STUDENT_REPO}@spring" in setup.source
    assert (tmp_path / "student" / "_config.yml").read_text().count("[Student edition]") == 1


def test_student_edition_has_no_path_to_the_key(tmp_path):
    """Nothing in the edition names the instructor's repository or carries instructor-only text."""
    out = tmp_path / "student"
    student_edition.write_edition(out, STUDENT_REPO, "spring")
    config = yaml.safe_load((out / "_config.yml").read_text())
    assert config["repository"] == {"url": STUDENT_REPO, "branch": "spring", "path_to_book": ""}
    assert config["parse"]["myst_substitutions"]["repository_url"] == STUDENT_REPO
    toc = (out / "_toc.yml").read_text()
    assert "instructor" not in toc.lower() and not (out / "exercises.md").exists()
    instructor_url, _, _ = repository()
    texts = {p: p.read_text(errors="replace") for p in out.rglob("*") if p.is_file() and p.suffix != ".png"}
    for path, text in texts.items():
        assert instructor_url not in text, f"{path} names the instructor's repository"
        if path.suffix in (".md", ".ipynb", ".yml"):
            for phrase in (
                "instructor key",
                "For instructors",
                "solutions are collapsed",
                "tab-item} Instructors",
            ):
                assert phrase.lower() not in text.lower(), f"{path} says {phrase!r}"
    assert "no solutions" in (out / "chapters" / "01_tensors.ipynb").read_text()
    assert (out / "pyproject.toml").is_file() and (out / "helpers" / "__init__.py").is_file()


def test_student_edition_without_a_repository_has_no_buttons(tmp_path):
    out = tmp_path / "student"
    student_edition.write_edition(out)
    config = yaml.safe_load((out / "_config.yml").read_text())
    assert config["launch_buttons"]["colab_url"] == "" and not config["html"]["use_repository_button"]
    nb = nbformat.read(out / "chapters" / "01_tensors.ipynb", as_version=4)
    setup = next(c for c in nb.cells if "colab-setup" in c.metadata.get("tags", []))
    assert "pip" not in setup.source and "ask your instructor" in setup.source
    assert repository()[0] not in "".join(
        p.read_text(errors="replace") for p in out.rglob("*.*") if p.is_file()
    )


def test_student_edition_refuses_a_non_empty_out_without_force(tmp_path, capsys):
    out = tmp_path / "student"
    out.mkdir()
    (out / "roster.csv").write_text("path,student_id\n")
    assert student_edition.main(["--out", str(out), "--repository", STUDENT_REPO]) == 2
    assert "not empty" in capsys.readouterr().err and (out / "roster.csv").exists()
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert student_edition.main(["--out", str(out), "--repository", STUDENT_REPO, "--force"]) == 0
    assert not (out / "roster.csv").exists() and (out / "chapters").is_dir()
    assert (out / ".git" / "HEAD").is_file()  # the students' repository keeps its history
    assert student_edition.main(["--out", str(ROOT), "--force"]) == 2


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


def test_assignment_points_default_to_stars_and_can_be_overridden(tmp_path):
    assert assignment.main(["ex-1.2", "ex-1.7", "--out", str(tmp_path), "--points", "ex-1.7=5"]) == 0
    graded = grade.load_assignment(tmp_path)  # the folder: its key.ipynb
    assert graded.ids == ["ex-1.2", "ex-1.7"] and graded.points == {"ex-1.2": 1.0, "ex-1.7": 5.0}
    assert assignment.main(["ex-1.2", "--out", str(tmp_path / "x"), "--points", "ex-1.3=2"]) == 2


def test_a_chapter_notebook_can_be_the_assignment():
    chapter = ROOT / "chapters" / "01_tensors.ipynb"
    graded = grade.load_assignment(chapter)
    assert graded.points == {e.id: e.difficulty for e in exercises(chapter)} and len(graded.ids) >= 6


def test_collect_reads_a_zip_recursively_and_reports_every_file(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice/student.ipynb", "{}")
        z.writestr("bob/student.ipynb", "{}")
        z.writestr("bob/HW.IPYNB", "{}")
        z.writestr("bob/data.csv", "1,2")
        z.writestr("__MACOSX/bob/._HW.IPYNB", "junk")
        z.writestr("../evil.ipynb", "{}")
    entries = {e.path: e.problem for e in grade.collect(archive)}
    assert entries == {
        "alice/student.ipynb": "",
        "bob/student.ipynb": "",
        "bob/HW.IPYNB": "",
        "bob/data.csv": "not a notebook (.csv)",
        "evil.ipynb": "",
    }


def test_a_zip_of_a_class_gets_a_row_for_every_file_and_roster_student(tmp_path, capsys):
    """Files that need no kernel (a non-notebook, invalid JSON, another course's notebook), from a zip."""
    assert assignment.main(["ex-1.2", "ex-1.5", "--out", str(tmp_path / "hw")]) == 0
    archive = tmp_path / "class.zip"
    other = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")]))
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("alice/notes.txt", "hello")
        z.writestr("bob/HW.IPYNB", "{ not json")
        z.writestr("carol/hw.ipynb", other)
    (tmp_path / "roster.csv").write_text("path,student_id,name\nalice,s1,A\nbob,s2,B\ncarol,s3,C\ndan,s4,D\n")
    argv = [str(archive), "--assignment", str(tmp_path / "hw"), "--out", str(tmp_path / "grades")]
    assert grade.main(argv + ["--roster", str(tmp_path / "roster.csv")]) == 0
    totals = {r["student"]: r for r in csv.DictReader((tmp_path / "grades" / "totals.csv").open())}
    assert {k: (t["points"], t["max_points"]) for k, t in totals.items()} == {
        "s1": ("0", "3"),
        "s2": ("0", "3"),
        "s3": ("0", "3"),
        "s4": ("0", "3"),
    }
    assert [totals[k]["note"] for k in ("s1", "s2", "s4")] == [
        "not a notebook (.txt)",
        "unreadable notebook (NotJSONError)",
        "no submission",
    ]
    assert "no exercise of this assignment" in totals["s3"]["note"]
    canvas = list(csv.reader((tmp_path / "grades" / "canvas.csv").open()))
    assert [row[:3] for row in canvas[2:]] == [
        ["A", "", "s1"],
        ["B", "", "s2"],
        ["C", "", "s3"],
        ["D", "", "s4"],
    ]
    assert len(list((tmp_path / "grades" / "feedback").glob("*.md"))) == 4


def test_roster_maps_files_and_folders_to_students(tmp_path):
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("path,student_id,name\nalice,s001,Alice A\nbob/student.ipynb,s002,Bob B\n")
    roster = grade.load_roster(roster_file)
    assert grade.identify("alice/week1/student.ipynb", roster)[0].student_id == "s001"
    assert grade.identify("bob/student.ipynb", roster)[0].name == "Bob B"
    assert grade.identify("eve/x.ipynb", roster) == (grade.Student("eve/x.ipynb"), "not in the roster")
    assert grade.identify("eve/x.ipynb", None) == (grade.Student("eve/x.ipynb"), "")


def test_limits_are_set_in_the_child_before_it_runs():
    wrapped = sandbox.Limits(memory_bytes=6 * 1024**3, cpu_seconds=7, file_bytes=1024**2).wrap(
        ["/bin/sh", "-c", "ulimit -v; ulimit -t; ulimit -f"]
    )
    printed = subprocess.run(wrapped, capture_output=True, text=True, check=True).stdout.split()
    assert printed == [str(6 * 1024**2), "7", str(1024**2 // 512)]  # KiB, seconds, 512-byte blocks


def test_clean_text_strips_control_characters_and_caps():
    assert sandbox.clean_text("a\x1b[31mred\x1b]0;title\x07\r\n\tz\x00", 100) == "a[31mred]0;title\n\tz"
    assert len(sandbox.clean_text("x" * 5000, 500)) == 500


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_grader_refuses_when_there_is_nothing_to_grade(make, tmp_path, capsys):
    folder = tmp_path / "subs"
    if make != "missing":
        folder.mkdir()
    assert assignment.main(["ex-1.2", "--out", str(tmp_path / "hw")]) == 0
    out = tmp_path / "grades"
    assert grade.main([str(folder), "--assignment", str(tmp_path / "hw"), "--out", str(out)]) == 2
    assert "error:" in capsys.readouterr().err
    assert not out.exists()


def test_grader_refuses_an_output_folder_inside_the_submissions(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "a.txt").write_text("x")
    assert assignment.main(["ex-1.2", "--out", str(tmp_path / "hw")]) == 0
    argv = [str(tmp_path / "subs"), "--assignment", str(tmp_path / "hw"), "--out", str(tmp_path / "subs/g")]
    assert grade.main(argv) == 2
    assert "inside the submissions" in capsys.readouterr().err


# ---- the adversarial class: one grading run, then one test per verdict -------------------------------------------

IDS2 = ["ex-1.2", "ex-1.5"]  # 1 + 2 points (stars)
TIMEOUT = 70  # seconds per submission: a normal one takes about 25 s on a busy 2-core machine


def _edit(student, before_first_check="", replace=None, after=None):
    """A copy of the student notebook with some starters replaced and extra cells inserted."""
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    for ex_id, source in (replace or {}).items():
        next(c for c in nb.cells if c.cell_type == "code" and f'check("{ex_id}"' in c.source).source = source
    first = next(i for i, c in enumerate(nb.cells) if 'check("ex-' in c.source)
    if before_first_check:
        nb.cells.insert(first, nbformat.v4.new_code_cell(before_first_check))
    if after:
        ex_id, source = after
        index = next(i for i, c in enumerate(nb.cells) if f'check("{ex_id}"' in c.source)
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def _attack(victim: Path, deleted: Path, out: Path, pidfile: Path) -> str:
    daemon = textwrap.dedent(f"""
        import os, time
        if os.fork():
            os._exit(0)
        os.setsid()
        if os.fork():
            os._exit(0)
        open({str(pidfile)!r}, "w").write(str(os.getpid()))
        while True:
            time.sleep(0.2)
            for name in ("grades.csv", "totals.csv", "canvas.csv"):
                path = os.path.join({str(out)!r}, name)
                if os.path.exists(path) and open(path).read() != "forged":
                    open(path, "w").write("forged")
        """)
    return textwrap.dedent(f"""
        import os, pathlib, subprocess, sys
        try:
            bytearray(64 * 1024**3)
        except MemoryError:
            os.write(1, b"MEMORY LIMITED\\n")
        # overwrite a classmate's notebook and delete another's
        pathlib.Path({str(victim)!r}).write_text("{{}}")
        os.remove({str(deleted)!r})
        # patch helpers so that every later check passes
        checks = pathlib.Path(helpers.__file__).parent / "course" / "exercises.py"
        checks.write_text(checks.read_text() + '''
        def check(exercise_id, answer):
            _record(exercise_id, "passed", "correct!")
            return True
        ''')
        # a process that outlives the notebook and rewrites the grades once they are written
        subprocess.Popen([sys.executable, "-c", {daemon!r}], start_new_session=True)
        # 50 MB to file descriptor 1, with terminal escape sequences
        chunk = b"\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31m" + b"A" * (1 << 20)
        for _ in range(50):
            data = chunk
            while data:
                data = data[os.write(1, data):]
        """)


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory):
    """Grade a crafted class once (about 2 minutes with --jobs 2); the tests below read the result."""
    root = tmp_path_factory.mktemp("class")
    student, key = assignment.build(IDS2, "Week 1")
    nbformat.write(key, root / "key.ipynb")
    subs, out, pidfile = root / "submissions", root / "grades", root / "daemon.pid"
    files = {
        "alice/student.ipynb": key,  # the overwritten classmate
        "bob/student.ipynb": _edit(student, replace={"ex-1.2": RIGHT["ex-1.2"]}),  # same name, deleted
        "carol/HOMEWORK.IPYNB": student,
        "a_mallory/attack.ipynb": _edit(
            student,
            before_first_check=_attack(
                subs / "alice/student.ipynb", subs / "bob/student.ipynb", out, pidfile
            ),
        ),
        "metadata_edit_os_exit.ipynb": _edit(
            student,
            replace={"ex-1.2": RIGHT["ex-1.2"]},
            after=(
                "ex-1.2",
                "import os\nwith open(os.environ['COURSE_RESULTS_FILE'], 'a') as f:\n"
                '    f.write(\'{"exercise": "ex-9.9", "status": "passed", "message": "x"}\\n\')\n'
                '    f.write(\'{"exercise": "ex-1.5", "status": "excellent", "message": "x"}\\n\')\n'
                "    f.write('not json\\n')\n"
                "os._exit(1)",
            ),
        ),
        "loop.ipynb": _edit(
            student, replace={"ex-1.2": RIGHT["ex-1.2"]}, after=("ex-1.2", "while True:\n    pass")
        ),
    }
    files["metadata_edit_os_exit.ipynb"].metadata["course"]["exercises"] = ["ex-1.2"]
    originals = {}
    for name, nb in files.items():
        (subs / name).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, subs / name)
        originals[name] = (subs / name).read_bytes()
    (subs / "invalid_json.ipynb").write_text("{ this is not json")
    (subs / "carol" / "notes.txt").write_text("my notes")
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hi')")]), subs / "other.ipynb"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.instructor.grade",
            str(subs),
            "--assignment",
            str(root / "key.ipynb"),
            "--out",
            str(out),
            "--timeout",
            str(TIMEOUT),
            "--jobs",
            "2",
        ],
        capture_output=True,
        timeout=600,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - start
    time.sleep(2)  # give a surviving process time to forge the grades
    return SimpleNamespace(
        result=result, out=out, subs=subs, originals=originals, pidfile=pidfile, seconds=seconds
    )


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:  # the csv module's default field size limit
        return list(csv.DictReader(f))


def test_every_file_gets_rows_with_the_right_verdicts(adversarial):
    assert adversarial.result.returncode == 0, adversarial.result.stderr[-2000:]
    got = {(r["file"], r["exercise_id"]): r["status"] for r in _rows(adversarial.out / "grades.csv")}
    P, N, R, G = "passed", "not solved", "not run", "not graded"
    expected = {
        "alice/student.ipynb": [P, P],
        "bob/student.ipynb": [P, N],
        "carol/HOMEWORK.IPYNB": [N, N],
        "carol/notes.txt": [G, G],
        "invalid_json.ipynb": [G, G],
        "loop.ipynb": [P, R],
        "metadata_edit_os_exit.ipynb": [P, R],
        "other.ipynb": [G, G],
    }
    # A submission can forge its *own* results (its kernel runs the checks; documented in the README): mallory's
    # patched helpers make its own checks pass. What it must not change is anyone else's verdict.
    del got[("a_mallory/attack.ipynb", "ex-1.2")], got[("a_mallory/attack.ipynb", "ex-1.5")]
    assert got == {(f, i): s for f, statuses in expected.items() for i, s in zip(IDS2, statuses)}


def test_points_and_notes_in_the_totals(adversarial):
    totals = {r["file"]: r for r in _rows(adversarial.out / "totals.csv")}
    del totals["a_mallory/attack.ipynb"]  # see above: it forged its own results
    assert {f: t["points"] for f, t in totals.items()} == {
        "alice/student.ipynb": "3",
        "bob/student.ipynb": "1",
        "carol/HOMEWORK.IPYNB": "0",
        "carol/notes.txt": "0",
        "invalid_json.ipynb": "0",
        "loop.ipynb": "1",
        "metadata_edit_os_exit.ipynb": "1",
        "other.ipynb": "0",
    }
    assert all(t["max_points"] == "3" for t in totals.values())
    assert totals["metadata_edit_os_exit.ipynb"]["percent"] == "33"  # its metadata claimed one exercise only
    assert "ignored 3 invalid line(s)" in totals["metadata_edit_os_exit.ipynb"]["note"]
    assert f"stopped after the {TIMEOUT} s time limit" in totals["loop.ipynb"]["note"]
    assert "no result for ex-1.5" in totals["loop.ipynb"]["note"]
    assert "kernel died" in totals["metadata_edit_os_exit.ipynb"]["note"]
    assert "unreadable notebook" in totals["invalid_json.ipynb"]["note"]
    assert "no exercise of this assignment" in totals["other.ipynb"]["note"]
    assert "not a notebook (.txt)" in totals["carol/notes.txt"]["note"]


def test_the_time_limit_holds(adversarial):
    line = next(
        x for x in adversarial.result.stdout.decode().splitlines() if x.startswith("graded loop.ipynb")
    )
    assert TIMEOUT <= float(line.split("(")[1].split(" s)")[0]) < TIMEOUT + 15
    assert adversarial.seconds < 180, (
        f"grading the adversarial class took {adversarial.seconds:.0f} s:\n{adversarial.result.stdout.decode()}"
    )


def test_a_classmate_cannot_change_or_delete_another_submission(adversarial):
    for name in ("alice/student.ipynb", "bob/student.ipynb"):  # graded from the snapshot, then restored
        assert (adversarial.subs / name).read_bytes() == adversarial.originals[name]
    assert "bob/student.ipynb changed on disk during grading; restored" in adversarial.result.stdout.decode()


def test_a_patched_helpers_does_not_reach_the_next_submission(adversarial):
    # a_mallory is graded first; carol's blank notebook after it (--jobs 2: the third to start)
    rows = [r for r in _rows(adversarial.out / "grades.csv") if r["file"] == "carol/HOMEWORK.IPYNB"]
    assert [r["status"] for r in rows] == ["not solved", "not solved"]
    assert (ROOT / "helpers" / "course" / "exercises.py").read_text().count("def check(") == 1


def test_no_process_outlives_the_grader(adversarial):
    pid = int(adversarial.pidfile.read_text())  # the daemon did start...
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text(), "the submission's daemon is still running"
    for name in ("grades.csv", "totals.csv", "canvas.csv"):  # ...and never forged a grade
        assert (adversarial.out / name).read_text() != "forged"
    totals = {r["file"]: r for r in _rows(adversarial.out / "totals.csv")}
    assert (
        "process(es) left running after the notebook were killed" in totals["a_mallory/attack.ipynb"]["note"]
    )


def test_terminal_output_is_capped_and_cleaned(adversarial):
    stdout = adversarial.result.stdout
    assert len(stdout) < 20_000 and b"\x1b" not in stdout
    totals = {r["file"]: r for r in _rows(adversarial.out / "totals.csv")}
    written = int(re.search(r"wrote (\d+) bytes", totals["a_mallory/attack.ipynb"]["note"])[1])
    assert written >= 50 * (1 << 20)
    for path in adversarial.out.rglob("*.*"):
        text = path.read_bytes()
        assert b"\x1b" not in text and b"\x07" not in text and len(text) < 20_000, path
    feedback = next((adversarial.out / "feedback").glob("a_mallory_attack-*.md")).read_text()
    assert "MEMORY LIMITED" in feedback  # the address-space limit refused 64 GB


def test_canvas_export_has_one_row_per_student_and_points_possible(adversarial):
    with (adversarial.out / "canvas.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Week 1"]
    assert rows[1] == ["Points Possible", "", "", "", "", "3"]
    scores = {r[2]: r[5] for r in rows[2:]}
    assert scores["alice/student.ipynb"] == "3" and scores["bob/student.ipynb"] == "1" and len(scores) == 9
    feedback = sorted(p.name for p in (adversarial.out / "feedback").iterdir())
    assert len(feedback) == 9 and not any(p.startswith(".") for p in feedback)
