"""Grade a folder of submitted student notebooks.

    python -m tools.instructor.grade SUBMISSIONS_DIR [--out grades.csv] [--timeout 300] [--jobs N]

Each submission runs in its own kernel (in its own process group) with a time limit. The exercise checks
(``helpers.check``) append their results to a file named by COURSE_RESULTS_FILE, so whatever ran before a
crash or a time-out still counts. Writes two CSV files atomically:
  grades.csv   student_file, exercise_id, status (passed/failed/not solved/not run), feedback
  totals.csv   student_file, passed, total, score_percent, note
and prints a summary table. Which exercises a submission must contain comes from its notebook metadata
("course" -> "exercises", written by the student edition and the assignment builder), so deleting cells or
renaming exercise ids cannot hide an exercise.

Exit status: 0 when every submission was graded (whatever its score), 2 when grading cannot be done
(missing or empty folder, no notebooks, unwritable output).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tools.course import ROOT, read_course_metadata


@dataclass
class Submission:
    file: str
    expected: list[str] = field(default_factory=list)
    results: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (status, feedback)
    note: str = ""
    seconds: float = 0.0

    def rows(self) -> list[list[str]]:
        rows = []
        for ex_id in self.expected:
            status, feedback = self.results.get(ex_id, ("not run", "the check for this exercise never ran"))
            rows.append([self.file, ex_id, status, feedback])
        return rows

    @property
    def passed(self) -> int:
        return sum(1 for ex_id in self.expected if self.results.get(ex_id, ("",))[0] == "passed")


class GradingError(Exception):
    """Grading as a whole cannot be done (bad folder, nothing to grade)."""


def expected_exercises(nb: nbformat.NotebookNode) -> list[str]:
    """The exercise ids a submission must answer, from its metadata."""
    return read_course_metadata(nb).exercises


def run_notebook(path: Path, results_file: Path, timeout: float) -> str:
    """Execute ``path`` in a separate process group; kill it after ``timeout`` seconds. Returns a note."""
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env = dict(os.environ, COURSE_RESULTS_FILE=str(results_file), MPLBACKEND="Agg", PYTHONPATH=pythonpath)
    command = [
        sys.executable,
        "-m",
        "tools.instructor.grade",
        "--run-one",
        str(path),
        "--timeout",
        str(timeout),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        output, errors = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the kernel is in the same process group
        process.communicate()
        return f"stopped after the {timeout:g} s time limit"
    if process.returncode != 0:
        return "could not run: " + (errors.strip().splitlines() or ["unknown error"])[-1][:200]
    return output.strip()


def _run_one(path: Path, timeout: float) -> None:
    """Child process: execute every cell, continuing after errors; report the first error (if any)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code" and "raises-exception" not in c.metadata.get("tags", [])
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    if errors:
        print(
            f"{len(errors)} cell(s) raised, first: {errors[0].get('ename')}: {errors[0].get('evalue', '')[:120]}"
        )


def grade_one(path: Path, timeout: float) -> Submission:
    submission = Submission(path.name)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # invalid JSON, not a notebook, unreadable
        submission.note = f"unreadable notebook ({type(err).__name__}): not graded"
        return submission
    try:
        submission.expected = expected_exercises(nb)
    except ValueError as err:
        submission.note = str(err)
        return submission
    with tempfile.TemporaryDirectory() as tmp:
        results_file = Path(tmp) / "results.jsonl"
        results_file.touch()
        submission.note = run_notebook(path, results_file, timeout)
        for line in results_file.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            submission.results[record["exercise"]] = (record["status"], record["message"])  # last call wins
    unexpected = sorted(set(submission.results) - set(submission.expected))
    if unexpected:
        submission.note = (
            submission.note + "; " if submission.note else ""
        ) + f"ignored unexpected exercise ids {unexpected}"
    return submission


def write_csv_atomically(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def grade(folder: Path, out: Path, timeout: float = 300, jobs: int = 1) -> list[Submission]:
    """Grade every *.ipynb in ``folder``; write ``out`` and ``totals.csv`` beside it. Returns the submissions."""
    if not folder.is_dir():
        raise GradingError(f"submissions folder {folder} does not exist")
    paths = sorted(p for p in folder.iterdir() if p.suffix == ".ipynb")
    if not paths:
        raise GradingError(f"no .ipynb files in {folder}: nothing to grade")

    def timed(path: Path) -> Submission:
        start = time.perf_counter()
        submission = grade_one(path, timeout)
        submission.seconds = time.perf_counter() - start
        print(
            f"graded {path.name}: {submission.passed}/{len(submission.expected)} "
            f"({submission.seconds:.1f} s){' - ' + submission.note if submission.note else ''}",
            flush=True,
        )
        return submission

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # each submission runs in its own process
        submissions = list(pool.map(timed, paths))
    rows = [row for s in submissions for row in s.rows()]
    totals = [
        [
            s.file,
            s.passed,
            len(s.expected),
            f"{100 * s.passed / len(s.expected):.0f}" if s.expected else "",
            s.note,
        ]
        for s in submissions
    ]
    write_csv_atomically(out, ["student_file", "exercise_id", "status", "feedback"], rows)
    write_csv_atomically(
        out.with_name("totals.csv"), ["student_file", "passed", "total", "score_percent", "note"], totals
    )
    return submissions


def print_summary(submissions: list[Submission]) -> None:
    width = max(len(s.file) for s in submissions)
    print(f"\n{'submission':{width}}  passed  total  score")
    for s in submissions:
        score = f"{100 * s.passed / len(s.expected):5.0f}%" if s.expected else "    -"
        print(f"{s.file:{width}}  {s.passed:6d}  {len(s.expected):5d}  {score}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade a folder of submitted student notebooks.")
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("grades.csv"),
        help="CSV of results (totals.csv is written beside it)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds allowed per submission (default 300)"
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded in parallel"
    )
    parser.add_argument("--run-one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_one:
        _run_one(args.run_one, args.timeout)
        return 0
    if args.folder is None:
        parser.error("give the folder of submissions")
    try:
        submissions = grade(args.folder, args.out, args.timeout, args.jobs)
    except (GradingError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print_summary(submissions)
    print(f"\nwrote {args.out} and {args.out.with_name('totals.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
