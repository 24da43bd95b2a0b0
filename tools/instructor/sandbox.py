"""Run one submitted notebook in a throw-away place, with limits, and clean up every process it started.

What this gives (Linux; the grader is the only intended user):

* a private working folder per submission (a temporary directory holding only a copy of the notebook), used as
  the kernel's working directory, and a fresh copy of ``helpers`` (written from a snapshot the grader took
  before any submission ran) first on the kernel's ``PYTHONPATH``;
* resource limits per kernel, set with ``resource.setrlimit`` by a small wrapper that then ``exec``s the runner
  (and so the kernel, which inherits them): address space
  (``RLIMIT_AS``, which limits *virtual* memory: importing torch alone reserves about 3.5 GB of it), CPU seconds
  (``RLIMIT_CPU``, per process: the kernel gets SIGXCPU/SIGKILL when it has used that much CPU time) and the
  size of any one file it writes (``RLIMIT_FSIZE``);
* the whole process tree is killed after the notebook: the runner is a *child subreaper*
  (``prctl(PR_SET_CHILD_SUBREAPER)``), so a process that double-forks or calls ``setsid()`` to leave its
  process group is still found among the runner's descendants and killed;
* the runner's and the kernel's terminal output (file descriptors 1 and 2) go to a pipe the grader reads:
  the first ``OUTPUT_KEPT`` bytes are kept, the rest only counted, and control characters are removed.

What it does not give: the kernel runs as the same operating-system user as the grader, so it *can* read and
write anything that user can (it could find and edit the submissions folder, the grader's files, the
virtual environment, start a process through ``systemd-run`` or ``at``). It is protection against accidents and
casual tampering, not a security sandbox; grade untrusted work in a container or as a separate user.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

OUTPUT_KEPT = 2048  # bytes of terminal output kept per submission; the rest is only counted
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # keeps \t and \n
_PR_SET_CHILD_SUBREAPER = 36


def clean_text(text: str, limit: int = 500) -> str:
    """``text`` without control characters (escape sequences, carriage returns, NULs), cut to ``limit`` chars."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\x1b", ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def become_subreaper() -> bool:
    """Make this process adopt its orphaned descendants (Linux >= 3.4). Returns False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def parents() -> dict[int, int]:
    """pid -> parent pid for every living (not zombie) process visible in /proc."""
    table: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()  # the command name may contain spaces and ')'
        if fields[0] not in ("Z", "X"):  # a zombie is dead already (only its parent can reap it)
            table[int(entry.name)] = int(fields[1])
    return table


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children first), read from /proc; [] where /proc is missing."""
    if not Path("/proc/self/stat").exists():
        return []
    children: dict[int, list[int]] = {}
    for child, parent in parents().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def _reap(pids: list[int]) -> None:
    for p in pids:
        try:
            os.waitpid(p, os.WNOHANG)
        except ChildProcessError:
            pass  # not our child (it was adopted by a subreaper further up, or already reaped)


def kill_tree(pid: int, include_self: bool = True, rounds: int = 50) -> int:
    """SIGKILL every descendant of ``pid`` (and ``pid`` itself) until none is left. Returns how many were killed.

    Repeats because a process may fork while we kill; the adopted orphans of a subreaper show up as its children
    in the next round. Zombies among our own children are reaped.
    """
    killed: set[int] = set()
    for _ in range(rounds):
        victims = descendants(pid)
        if not victims:
            break
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
                killed.add(p)
            except ProcessLookupError:
                pass
        _reap(victims)
        time.sleep(0.02)
    if include_self:
        try:
            os.killpg(pid, signal.SIGKILL)  # its process group (the runner is a session leader)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(killed)


@dataclass
class Limits:
    """Per-kernel resource limits (each applies to every process of the submission separately)."""

    memory_bytes: int = 8 * 1024**3  # RLIMIT_AS
    cpu_seconds: int = 600  # RLIMIT_CPU
    file_bytes: int = 256 * 1024**2  # RLIMIT_FSIZE

    def wrap(self, command: list[str]) -> list[str]:
        """``command`` started through a tiny Python wrapper that sets the limits on itself, then ``exec``s it.

        (A wrapper rather than ``preexec_fn``, which is unsafe in a program with threads, as the grader is.)
        """
        limits = [
            (resource.RLIMIT_AS, self.memory_bytes),
            (resource.RLIMIT_CPU, self.cpu_seconds),
            (resource.RLIMIT_FSIZE, self.file_bytes),
        ]
        code = (
            "import os, resource, sys\n"
            f"for kind, value in {limits!r}:\n"
            "    hard = resource.getrlimit(kind)[1]\n"
            "    value = value if hard == resource.RLIM_INFINITY else min(value, hard)\n"
            "    resource.setrlimit(kind, (value, value))\n"
            "os.execv(sys.argv[1], sys.argv[1:])\n"
        )
        return [sys.executable, "-c", code, *command]


@dataclass
class Outcome:
    returncode: int | None  # None: stopped at the time limit
    seconds: float
    output_head: str  # the first OUTPUT_KEPT bytes of terminal output, control characters removed
    output_bytes: int  # how many bytes were written in all
    killed: int  # processes still alive after the notebook that had to be killed


def _drain(stream, sink: dict) -> None:
    """Keep the first OUTPUT_KEPT bytes of ``stream``, count the rest (runs in a thread until EOF)."""
    sink["head"], sink["total"] = b"", 0
    while True:
        chunk = stream.read1(65536)
        if not chunk:
            break
        sink["total"] += len(chunk)
        if len(sink["head"]) < OUTPUT_KEPT:
            sink["head"] += chunk[: OUTPUT_KEPT - len(sink["head"])]


def run_limited(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    limits: Limits,
    spawn_lock: threading.Lock | None = None,
    on_start: Callable[[int], None] = lambda pid: None,
) -> Outcome:
    """Run ``command`` in its own session with ``limits``; kill its whole tree when it ends or at ``timeout``.

    ``on_start(pid)`` is called with ``spawn_lock`` still held, so a sweep of orphans holding the same lock never
    mistakes a runner that has just started for an orphan.
    """
    start = time.perf_counter()
    with spawn_lock or threading.Lock():
        process = subprocess.Popen(
            limits.wrap(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        on_start(process.pid)
    sink: dict = {}
    reader = threading.Thread(target=_drain, args=(process.stdout, sink), daemon=True)
    reader.start()
    try:
        returncode: int | None = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        returncode = None
    # The runner kills its own tree before it exits; this catches what is left (and everything at a time-out).
    killed = kill_tree(process.pid)
    process.wait()
    reader.join(timeout=10)  # EOF once every process holding the pipe is dead
    if process.stdout is not None:
        process.stdout.close()
    head = sink.get("head", b"").decode("utf-8", "replace")
    return Outcome(
        returncode,
        time.perf_counter() - start,
        clean_text(head, OUTPUT_KEPT),
        int(sink.get("total", 0)),
        killed,
    )


# ---- the runner: ``python -m tools.instructor.sandbox NOTEBOOK --timeout T --report FILE`` ----------------------
# Started by run_limited() in the submission's private folder; executes the notebook in a fresh kernel.

KERNEL_PYTHONPATH = "COURSE_KERNEL_PYTHONPATH"  # the runner's PYTHONPATH for the kernel (the copied helpers)


def run_notebook(path: Path, timeout: float, report: Path) -> None:
    """Execute every cell of ``path`` (continuing after errors), then kill every process the kernel left.

    Writes a one-line JSON report (how many cells raised, the first error) to ``report``.
    """
    import json

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from traitlets.config import Config

    become_subreaper()
    os.environ["PYTHONPATH"] = os.environ.pop(KERNEL_PYTHONPATH, "")
    nb = nbformat.read(path, as_version=4)
    # Local sockets (in the private folder's parent) instead of TCP ports open to every user of the machine.
    sockets = str(path.parent.parent / "kernel")
    client = NotebookClient(
        nb,
        config=Config({"KernelManager": {"transport": "ipc", "ip": sockets}}),
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    stopped = ""
    try:
        client.execute()
    except DeadKernelError:
        stopped = "the kernel died (os._exit, a crash, or a memory or CPU-time limit)"
    except Exception as err:  # nbclient's own errors (a cell over the time limit, a broken notebook)
        stopped = f"execution stopped: {type(err).__name__}: {str(err)[:300]}"
    finally:
        deadline = time.monotonic() + 5  # the kernel's own shutdown may take a moment
        while descendants(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.1)
        killed = kill_tree(os.getpid(), include_self=False)
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    first = f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}" if errors else ""
    report.write_text(
        json.dumps({"errors": len(errors), "first": first[:1000], "stopped": stopped, "killed": killed}),
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Execute one notebook (used by the grader).")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args(argv)
    run_notebook(args.notebook, args.timeout, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
