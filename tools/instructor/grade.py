"""Grade a class's submitted notebooks against an assignment, one isolated kernel per submission.

    python -m tools.instructor.grade SUBMISSIONS --assignment homework/week1 [--out grades/] [--roster roster.csv]
                                     [--timeout 300] [--jobs 1] [--memory-gb 8] [--cpu-seconds N]

SUBMISSIONS is a folder (walked recursively; every file is a row, ``.ipynb`` in any letter case is a notebook)
or a ``.zip`` of one. A student is identified by the file's path relative to that folder, or by a roster CSV
(columns ``path,student_id`` and optionally ``name,sis_login_id,section``; ``path`` is a file's relative path or
a folder above it, for one-folder-per-student layouts).

The ASSIGNMENT (``key.ipynb``, ``student.ipynb`` or their folder, as written by ``tools.instructor.assignment``,
or a chapter notebook) fixes the exercises and their points; nothing in a submission can change that list.
An exercise whose check never ran (cell deleted or renamed, notebook stopped early) scores 0 with a note.

Before any submission runs, every file is read into memory, and ``helpers`` too; each submission then runs on a
private copy in its own temporary folder with a fresh copy of ``helpers`` and resource limits, and every process
it started is killed afterwards (see tools/instructor/sandbox.py for what that does and does not guarantee).
Only then are the results read (validated: the assignment's exercise ids, known statuses, cleaned text) and the
exports written, atomically, into ``--out``:

    grades.csv    one row per submission and exercise: student, file, exercise_id, status, points, max_points, feedback
    totals.csv    one row per submission: student, file, the points of each exercise, points, max_points, percent, note
    canvas.csv    Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, <assignment title>
    feedback/     one Markdown file per submission: each exercise's status and the check's message

Exit status: 0 when every file was graded or reported (whatever the scores), 2 when grading cannot be done
(missing assignment, empty folder, output folder inside the submissions).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import stat
import sys
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from helpers.course.exercises import parse_exercise_id
from tools.course import ROOT, all_exercises
from tools.course import exercises as notebook_exercises
from tools.instructor import sandbox

CHECK_STATUSES = ("passed", "failed", "not solved")  # what a check may report
STATUSES = CHECK_STATUSES + ("not run", "not graded")
MAX_FILE_BYTES = 20 * 1024**2  # a bigger submitted file is reported, not graded
MAX_RESULTS_BYTES = 1024**2  # only this much of a kernel's results file is read
SKIPPED_NAMES = {".DS_Store", "Thumbs.db", "__MACOSX", ".ipynb_checkpoints", ".git"}


def _is_exercise_id(value: object) -> bool:
    try:
        parse_exercise_id(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


class GradingError(Exception):
    """Grading as a whole cannot be done (no assignment, nothing to grade, bad output folder)."""


# ---- the assignment -------------------------------------------------------------------------------------------


@dataclass
class Assignment:
    title: str
    ids: list[str]
    points: dict[str, float]

    @property
    def max_points(self) -> float:
        return sum(self.points[i] for i in self.ids)


def load_assignment(path: Path) -> Assignment:
    """The exercise list and points from the instructor's assignment notebook (or its folder)."""
    if path.is_dir():
        candidates = [path / "key.ipynb", path / "student.ipynb"]
        path = next((p for p in candidates if p.is_file()), candidates[0])
    if not path.is_file():
        raise GradingError(f"assignment {path} not found (give key.ipynb, student.ipynb or their folder)")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:
        raise GradingError(f"assignment {path} is not a readable notebook: {err}") from err
    course = nb.metadata.get("course") if isinstance(nb.metadata.get("course"), dict) else {}
    ids = course.get("exercises") or [e.id for e in notebook_exercises(path)]
    if not ids or not all(_is_exercise_id(i) for i in ids):
        raise GradingError(f"assignment {path} names no exercises (or malformed ids: {ids!r})")
    stars = {e.id: e.difficulty for e in all_exercises()}
    points: dict[str, float] = {}
    for ex_id in ids:
        value = (course.get("points") or {}).get(ex_id, stars.get(ex_id, 1))
        if not isinstance(value, (int, float)) or value < 0:
            raise GradingError(f"assignment {path}: points for {ex_id} must be a number >= 0, got {value!r}")
        points[ex_id] = float(value)
    return Assignment(str(course.get("title") or path.stem), list(ids), points)


# ---- collecting the submissions -------------------------------------------------------------------------------


@dataclass
class Entry:
    """One submitted file, read into memory before anything runs."""

    path: str  # relative path, with / separators
    data: bytes = b""
    problem: str = ""  # why it is not graded ("" when it is a notebook to grade)


def _entry(relpath: str, size: int, read) -> Entry:
    if not relpath.lower().endswith(".ipynb"):
        return Entry(relpath, problem=f"not a notebook ({PurePosixPath(relpath).suffix or 'no extension'})")
    if size > MAX_FILE_BYTES:
        return Entry(relpath, problem=f"file too large ({size / 1024**2:.0f} MB)")
    try:
        return Entry(relpath, read())
    except OSError as err:
        return Entry(relpath, problem=f"unreadable file ({type(err).__name__})")


def _skipped(parts: tuple[str, ...]) -> bool:
    return any(p in SKIPPED_NAMES or p.startswith("._") for p in parts)


def collect(source: Path) -> list[Entry]:
    """Every file under ``source`` (a folder, recursively, or a .zip), read into memory, sorted by path."""
    entries: list[Entry] = []
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                member = PurePosixPath(info.filename)
                if info.is_dir() or _skipped(member.parts):
                    continue
                relpath = "/".join(p for p in member.parts if p not in ("", ".", "..", "/"))
                entries.append(_entry(relpath, info.file_size, lambda info=info: archive.read(info)))
    elif source.is_dir():
        for folder, dirs, files in os.walk(source):  # does not follow links to folders
            dirs[:] = sorted(d for d in dirs if not _skipped((d,)))
            for name in files:
                path = Path(folder, name)
                if _skipped((name,)):
                    continue
                relpath = path.relative_to(source).as_posix()
                if path.is_symlink() or not path.is_file():
                    entries.append(Entry(relpath, problem="not a regular file (a link or a device)"))
                    continue
                entries.append(_entry(relpath, path.stat().st_size, path.read_bytes))
    else:
        raise GradingError(f"submissions {source} is neither a folder nor a .zip file")
    if not entries:
        raise GradingError(f"no files in {source}: nothing to grade")
    return sorted(entries, key=lambda e: e.path)


@dataclass
class Student:
    student_id: str
    name: str = ""
    sis_login_id: str = ""
    section: str = ""


def load_roster(path: Path) -> dict[str, Student]:
    """Roster CSV -> {path or folder: Student}."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"path", "student_id"} <= set(reader.fieldnames):
            raise GradingError(f"roster {path} needs the columns path,student_id (has {reader.fieldnames})")
        return {
            row["path"].strip().strip("/"): Student(
                row["student_id"].strip(),
                (row.get("name") or "").strip(),
                (row.get("sis_login_id") or "").strip(),
                (row.get("section") or "").strip(),
            )
            for row in reader
            if row.get("path") and row.get("student_id")
        }


def identify(relpath: str, roster: dict[str, Student] | None) -> tuple[Student, str]:
    """(the student a file belongs to, a note). Without a roster the relative path is the student."""
    if roster is None:
        return Student(relpath), ""
    parts = relpath.split("/")
    for n in range(len(parts), 0, -1):  # the file itself, then each folder above it
        student = roster.get("/".join(parts[:n]))
        if student is not None:
            return student, ""
    return Student(relpath), "not in the roster"


# ---- grading one submission -----------------------------------------------------------------------------------


@dataclass
class Result:
    file: str
    student: Student
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (status, feedback)
    notes: list[str] = field(default_factory=list)
    output_head: str = ""
    output_bytes: int = 0
    seconds: float = 0.0

    def points(self, assignment: Assignment) -> float:
        return sum(assignment.points[i] for i in assignment.ids if self.status(i)[0] == "passed")

    def status(self, ex_id: str) -> tuple[str, str]:
        return self.statuses.get(ex_id, ("not run", "the check for this exercise never ran"))

    @property
    def note(self) -> str:
        return "; ".join(self.notes)


@dataclass
class Options:
    timeout: float = 300
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)


class Snapshot:
    """Files a kernel needs, held in memory and written afresh for each submission (helpers, data/)."""

    def __init__(self, root: Path = ROOT) -> None:
        self.files: dict[str, bytes] = {}
        for path in sorted((root / "helpers").rglob("*.py")):
            self.files[path.relative_to(root).as_posix()] = path.read_bytes()
        data = root / "data"
        if data.is_dir():
            for path in data.iterdir():
                if path.is_file() and path.stat().st_size < 10 * 1024**2:
                    self.files[path.relative_to(root).as_posix()] = path.read_bytes()

    def write(self, folder: Path) -> None:
        for relpath, content in self.files.items():
            target = folder / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


class Processes:
    """The grader's runners, and a sweep for processes that outlived theirs (the grader is a subreaper)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: set[int] = set()
        me = os.getpid()  # children the calling process had before grading are never touched
        self.preexisting = {p for p, parent in sandbox.parents().items() if parent == me}
        self.subreaper = sandbox.become_subreaper()

    def sweep(self) -> int:
        """Kill every adopted orphan: a child of the grader that is not a running runner. Returns the count."""
        killed = 0
        with self.lock:
            me = os.getpid()
            ours = self.active | self.preexisting
            orphans = [p for p, parent in sandbox.parents().items() if parent == me and p not in ours]
            for pid in orphans:
                killed += sandbox.kill_tree(pid) + 1
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        return killed


def _mentions(nb: nbformat.NotebookNode, ids: list[str]) -> bool:
    return any(c.cell_type == "code" and any(i in c.source for i in ids) for c in nb.cells)


def read_results(path: Path, assignment: Assignment) -> tuple[dict[str, tuple[str, str]], int]:
    """Validated check results written by the kernel: {id: (status, feedback)} and the number of bad lines."""
    results: dict[str, tuple[str, str]] = {}
    bad = 0
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return results, 0
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return results, 1
        text = f.read(MAX_RESULTS_BYTES).decode("utf-8", "replace")
    for line in text.splitlines():
        try:
            record = json.loads(line)
            ex_id, status, message = record["exercise"], record["status"], record["message"]
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        valid = all(isinstance(x, str) for x in (ex_id, status, message))
        if not valid or ex_id not in assignment.points or status not in CHECK_STATUSES:
            bad += 1
            continue
        results[ex_id] = (status, sandbox.clean_text(message))  # the last check call wins, as in the notebook
    return results, bad


def grade_one(
    entry: Entry,
    student: Student,
    assignment: Assignment,
    snapshot: Snapshot,
    procs: Processes,
    opts: Options,
) -> Result:
    result = Result(entry.path, student)
    if entry.problem:
        return _not_graded(result, assignment, entry.problem)
    try:
        nb = nbformat.reads(entry.data.decode("utf-8"), as_version=4)
    except Exception as err:  # invalid JSON or UTF-8, not a notebook
        return _not_graded(result, assignment, f"unreadable notebook ({type(err).__name__})")
    if not _mentions(nb, assignment.ids):
        return _not_graded(result, assignment, "no exercise of this assignment in it (another notebook?)")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    with (
        tempfile.TemporaryDirectory(prefix="grader-", ignore_cleanup_errors=True) as mine,
        tempfile.TemporaryDirectory(prefix="sub-", ignore_cleanup_errors=True) as box,
    ):
        work, lib = Path(box) / "work", Path(box) / "lib"
        work.mkdir()
        snapshot.write(lib)
        notebook = work / "submission.ipynb"
        nbformat.write(nb, notebook)
        results_file, report = Path(mine) / "results.jsonl", Path(mine) / "report.json"
        results_file.touch()
        os.chmod(mine, 0o700)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("COURSE_", "PYTEST", "JPY_", "JUPYTER"))
        }
        env.update(
            PYTHONPATH=str(Path(sandbox.__file__).resolve().parents[2]),  # `tools`, for the runner only
            **{sandbox.KERNEL_PYTHONPATH: str(lib)},
            COURSE_RESULTS_FILE=str(results_file),
            MPLBACKEND="Agg",
            TQDM_DISABLE="1",
            HOME=str(work),
        )
        command = [sys.executable, "-m", "tools.instructor.sandbox", str(notebook)]
        command += ["--timeout", str(opts.timeout), "--report", str(report)]

        runner: list[int] = []

        def started(pid: int) -> None:  # called with procs.lock held
            procs.active.add(pid)
            runner.append(pid)

        try:
            outcome = sandbox.run_limited(command, work, env, opts.timeout, opts.limits, procs.lock, started)
        finally:
            with procs.lock:
                procs.active.difference_update(runner)
        procs.sweep()
        result.statuses, bad = read_results(results_file, assignment)
        summary = _read_report(report)
    result.seconds, result.output_head, result.output_bytes = (
        outcome.seconds,
        outcome.output_head,
        outcome.output_bytes,
    )
    if outcome.returncode is None:
        result.notes.append(f"stopped after the {opts.timeout:g} s time limit")
    elif outcome.returncode != 0:
        reason = "a resource limit (memory or CPU time)" if outcome.returncode < 0 else "an error"
        last = outcome.output_head.strip().splitlines()[-1:] or [""]
        result.notes.append(
            f"the kernel runner stopped with {reason} (exit {outcome.returncode}) {last[0][:200]}"
        )
    if summary:
        result.notes.append(summary)
    if bad:
        result.notes.append(f"ignored {bad} invalid line(s) in the results (forged or foreign exercise ids)")
    if outcome.output_bytes > sandbox.OUTPUT_KEPT:
        result.notes.append(
            f"wrote {outcome.output_bytes} bytes to the terminal (first {sandbox.OUTPUT_KEPT} kept in the feedback)"
        )
    if outcome.killed:
        result.notes.append(f"{outcome.killed} process(es) still running at the end were killed")
    missing = [i for i in assignment.ids if i not in result.statuses]
    if missing:
        result.notes.append(
            f"no result for {', '.join(missing)} (0 points: cell deleted, renamed or never reached)"
        )
    return result


def _read_report(path: Path) -> str:
    try:
        report = json.loads(path.read_text(encoding="utf-8")[:4096])
        errors, first, stopped = int(report["errors"]), str(report["first"]), str(report.get("stopped", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    killed = report.get("killed", 0)
    notes = [f"{errors} cell(s) raised, first: {sandbox.clean_text(first, 200)}"] if errors else []
    notes += [sandbox.clean_text(stopped, 300)] if stopped else []
    if isinstance(killed, int) and killed > 0:
        notes.append(f"{killed} process(es) left running after the notebook were killed")
    return "; ".join(notes)


def _not_graded(result: Result, assignment: Assignment, reason: str) -> Result:
    result.notes.append(reason)
    result.statuses = {i: ("not graded", reason) for i in assignment.ids}
    return result


# ---- exports ----------------------------------------------------------------------------------------------------


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _number(x: float) -> str:
    return f"{x:g}"


def feedback_name(relpath: str) -> str:
    """A flat, unique, safe file name for a submission's feedback."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", relpath.rsplit(".", 1)[0]).strip("._") or "submission"
    return f"{stem[:80]}-{hashlib.sha1(relpath.encode()).hexdigest()[:6]}.md"


def feedback_markdown(result: Result, assignment: Assignment) -> str:
    lines = [
        f"# {assignment.title}: feedback",
        "",
        f"* Student: {result.student.name or result.student.student_id}",
        f"* File: `{result.file}`",
        f"* Score: {_number(result.points(assignment))} / {_number(assignment.max_points)} points",
        "",
        "| exercise | status | points | feedback |",
        "|---|---|---|---|",
    ]
    for ex_id in assignment.ids:
        status, message = result.status(ex_id)
        got = assignment.points[ex_id] if status == "passed" else 0
        cell = message.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {ex_id} | {status} | {_number(got)}/{_number(assignment.points[ex_id])} | {cell} |")
    if result.notes:
        lines += ["", "## Notes", ""] + [f"* {n}" for n in result.notes]
    if result.output_head.strip():
        fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", result.output_head)), default=0))
        lines += ["", f"## Terminal output (first {sandbox.OUTPUT_KEPT} bytes of {result.output_bytes})", ""]
        lines += [fence + "text", result.output_head.rstrip(), fence]
    return "\n".join(lines) + "\n"


def write_exports(out: Path, results: list[Result], assignment: Assignment) -> list[Path]:
    """grades.csv, totals.csv, canvas.csv and feedback/*.md in ``out`` (each written atomically)."""
    ids, total = assignment.ids, assignment.max_points
    long_rows = [["student", "file", "exercise_id", "status", "points", "max_points", "feedback"]]
    wide_rows = [["student", "file", *ids, "points", "max_points", "percent", "note"]]
    for r in results:
        for ex_id in ids:
            status, message = r.status(ex_id)
            got = assignment.points[ex_id] if status == "passed" else 0
            long_rows.append(
                [
                    r.student.student_id,
                    r.file,
                    ex_id,
                    status,
                    _number(got),
                    _number(assignment.points[ex_id]),
                    message,
                ]
            )
        per_exercise = [_number(assignment.points[i] if r.status(i)[0] == "passed" else 0) for i in ids]
        percent = f"{100 * r.points(assignment) / total:.0f}" if total else ""
        wide_rows.append(
            [
                r.student.student_id,
                r.file,
                *per_exercise,
                _number(r.points(assignment)),
                _number(total),
                percent,
                r.note,
            ]
        )
    best: dict[str, Result] = {}
    for r in results:  # one gradebook row per student: the best of their files
        key = r.student.student_id
        if key not in best or r.points(assignment) > best[key].points(assignment):
            best[key] = r
    canvas = [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment.title],
        ["Points Possible", "", "", "", "", _number(total)],
    ]
    for key, r in best.items():
        s = r.student
        canvas.append([s.name or key, "", key, s.sis_login_id, s.section, _number(r.points(assignment))])
    written = []
    for name, rows in (("grades.csv", long_rows), ("totals.csv", wide_rows), ("canvas.csv", canvas)):
        _atomic_write(out / name, _csv(rows))
        written.append(out / name)
    for r in results:
        path = out / "feedback" / feedback_name(r.file)
        _atomic_write(path, feedback_markdown(r, assignment))
        written.append(path)
    return written


# ---- the whole class ------------------------------------------------------------------------------------------


def grade(
    source: Path,
    assignment: Assignment,
    out: Path,
    roster: dict[str, Student] | None = None,
    opts: Options | None = None,
    jobs: int = 1,
    log=print,
) -> list[Result]:
    """Grade every file of ``source`` (folder or zip) against ``assignment``; write the exports into ``out``."""
    opts = opts or Options()
    source_resolved, out_resolved = source.resolve(), out.resolve()
    if source.is_dir() and (out_resolved == source_resolved or source_resolved in out_resolved.parents):
        raise GradingError(
            f"the output folder {out} is inside the submissions {source}: choose another --out"
        )
    entries = collect(source)  # every submission in memory before any of them runs
    snapshot = Snapshot()
    procs = Processes()

    def one(entry: Entry) -> Result:
        student, note = identify(entry.path, roster)
        try:
            result = grade_one(entry, student, assignment, snapshot, procs, opts)
        except Exception as err:  # a fault of the grader (or the machine) costs this file, never the class
            reason = f"not graded: grader error {type(err).__name__}: {sandbox.clean_text(str(err), 200)}"
            result = _not_graded(Result(entry.path, student), assignment, reason)
        if note:
            result.notes.insert(0, note)
        status = f"{_number(result.points(assignment))}/{_number(assignment.max_points)}"
        log(
            f"graded {sandbox.clean_text(entry.path, 120)}: {status} ({result.seconds:.1f} s)"
            + (f" - {sandbox.clean_text(result.note, 300)}" if result.note else ""),
            flush=True,
        )
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, entries))
    lingering = procs.sweep()  # nothing of any submission may outlive grading
    if lingering:
        log(f"killed {lingering} process(es) that outlived their submission")
    if source.is_dir():
        _restore_changed(source, entries, log)
    if roster is not None:
        seen = {r.student.student_id for r in results}
        for key, student in roster.items():
            if student.student_id not in seen:
                seen.add(student.student_id)
                results.append(_not_graded(Result(key, student), assignment, "no submission"))
    write_exports(out, results, assignment)
    return results


def _restore_changed(source: Path, entries: list[Entry], log) -> None:
    """Put back any submitted notebook that changed on disk while grading (it was graded from the snapshot)."""
    for e in entries:
        if e.problem:
            continue
        path = source / e.path
        try:
            same = path.is_file() and not path.is_symlink() and path.read_bytes() == e.data
        except OSError:
            same = False
        if not same:
            try:
                if path.is_symlink():
                    path.unlink()
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(e.data)
            except OSError as err:
                log(
                    f"warning: {sandbox.clean_text(e.path, 120)} changed on disk during grading and could not be "
                    f"restored ({type(err).__name__}); it was graded from the copy read before any submission ran"
                )
                continue
            log(
                f"warning: {sandbox.clean_text(e.path, 120)} changed on disk during grading; restored the original "
                "(it was graded from the copy read before any submission ran)"
            )


def print_summary(results: list[Result], assignment: Assignment, log=print) -> None:
    names = [sandbox.clean_text(r.file, 60) for r in results]
    width = max(len("submission"), *(len(n) for n in names))
    log(f"\n{'submission':{width}}  points  of  percent")
    for name, r in zip(names, results):
        total = assignment.max_points
        percent = f"{100 * r.points(assignment) / total:6.0f}%" if total else "      -"
        log(f"{name:{width}}  {_number(r.points(assignment)):>6}  {_number(total):>2}  {percent}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade submitted notebooks against an assignment.")
    parser.add_argument("submissions", type=Path, help="folder (searched recursively) or .zip of submissions")
    parser.add_argument(
        "--assignment", type=Path, required=True, help="key.ipynb, student.ipynb or their folder"
    )
    parser.add_argument("--out", type=Path, default=Path("grades"), help="output folder (default grades/)")
    parser.add_argument(
        "--roster", type=Path, help="CSV with columns path,student_id[,name,sis_login_id,section]"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds per submission (default 300)")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    parser.add_argument(
        "--memory-gb", type=float, default=8, help="address-space limit per process (default 8)"
    )
    parser.add_argument("--cpu-seconds", type=int, help="CPU-time limit per process (default 2 x --timeout)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.timeout <= 0 or args.memory_gb <= 0:
        parser.error("--jobs, --timeout and --memory-gb must be positive")
    limits = sandbox.Limits(
        memory_bytes=int(args.memory_gb * 1024**3),
        cpu_seconds=args.cpu_seconds or int(2 * args.timeout) + 1,
    )
    try:
        assignment = load_assignment(args.assignment)
        roster = load_roster(args.roster) if args.roster else None
        results = grade(
            args.submissions, assignment, args.out, roster, Options(args.timeout, limits), args.jobs
        )
    except (GradingError, OSError) as err:
        print(f"error: {sandbox.clean_text(str(err))}", file=sys.stderr)
        return 2
    print_summary(results, assignment)
    print(f"\nwrote {args.out}/grades.csv, totals.csv, canvas.csv and feedback/ ({len(results)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
