"""Self-checking exercises: ``check("ex-1.2", answer)`` tells a learner whether an answer is right.

Each exercise has a check function in ``helpers/course/checks/chNN.py``, registered with ``@exercise("ex-N.M")``.
A check receives the learner's object (a tensor, a function, a model...) and either returns normally
(passed) or raises ``ExerciseFailed`` with specific feedback and a hint -- never the solution.
An untouched starter (``None``, ``...``, a function that returns None or raises NotImplementedError)
counts as "not yet solved", so a notebook with unsolved exercises still runs to the end.

Results are kept in ``RESULTS`` and, when the environment variable ``COURSE_RESULTS_FILE`` names a file
(the grader sets it), appended to that file as JSON lines.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import pkgutil
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

CheckFn = Callable[[Any], None]
CHECKS: dict[str, CheckFn] = {}
RESULTS: dict[str, dict[str, str]] = {}


class ExerciseFailed(AssertionError):
    """Raised by a check with a message saying what is wrong (and a hint)."""


class NotSolved(Exception):
    """Raised when the learner has not attempted the exercise yet."""


def exercise(exercise_id: str) -> Callable[[CheckFn], CheckFn]:
    """Decorator registering a check function under an id like "ex-3.2"."""

    def register(fn: CheckFn) -> CheckFn:
        if exercise_id in CHECKS and CHECKS[exercise_id] is not fn:
            raise ValueError(f"two checks registered for {exercise_id}")
        CHECKS[exercise_id] = fn
        return fn

    return register


EXERCISE_ID = re.compile(r"^ex-(?P<chapter>\d+)\.(?P<number>\d+)$")


def parse_exercise_id(exercise_id: str) -> tuple[int, int]:
    """ "ex-3.2" -> (3, 2); raises ValueError for anything else."""
    match = EXERCISE_ID.match(exercise_id) if isinstance(exercise_id, str) else None
    if match is None:
        raise ValueError(f"exercise_id must look like 'ex-3.2' (chapter.number), got {exercise_id!r}")
    return int(match["chapter"]), int(match["number"])


def _load_checks(chapter: int | None = None) -> None:
    """Import the check module of one chapter (``checks/chNN.py``), or of every chapter when None."""
    from . import checks

    if chapter is not None:
        name = f"{checks.__name__}.ch{chapter:02d}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
        return
    for info in pkgutil.iter_modules(checks.__path__):
        if info.name.startswith("ch"):
            importlib.import_module(f"{checks.__name__}.{info.name}")


def exercise_ids() -> list[str]:
    """Every registered exercise id, in chapter order."""
    _load_checks()
    return sorted(CHECKS, key=parse_exercise_id)


@contextlib.contextmanager
def _learner_rng_untouched() -> Iterator[None]:
    """Run a check without changing the learner's torch, NumPy or ``random`` state (their next numbers)."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def _record(exercise_id: str, status: str, message: str) -> None:
    RESULTS[exercise_id] = {"status": status, "message": message}
    results_file = os.environ.get("COURSE_RESULTS_FILE")
    if results_file:
        with open(results_file, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": exercise_id, "status": status, "message": message}) + "\n")


def check(exercise_id: str, answer: Any) -> bool:
    """Check a learner's ``answer`` to exercise ``exercise_id``; print feedback; return True if it passed.

    Never raises for a wrong or missing answer (so "Run all" reaches the end of the notebook);
    raises KeyError only for an unknown exercise id.
    """
    chapter, _ = parse_exercise_id(exercise_id)
    _load_checks(chapter)
    if exercise_id not in CHECKS:
        raise KeyError(f"unknown exercise id {exercise_id!r}; known ids look like {exercise_ids()[:3]}")
    try:
        if answer is None or answer is Ellipsis:
            raise NotSolved
        with _learner_rng_untouched():
            CHECKS[exercise_id](answer)
    except (NotSolved, NotImplementedError):
        status, message = (
            "not solved",
            "not yet solved: replace the starter code with your answer, then run this cell again.",
        )
    except ExerciseFailed as failure:
        status, message = "failed", f"not quite. {failure}"
    except Exception as err:  # the learner's code raised something
        status, message = "failed", f"your code raised {type(err).__name__}: {err}"
    else:
        status, message = "passed", "correct!"
    symbol = {"passed": "✅", "failed": "❌", "not solved": "⏳"}[status]
    print(f"{symbol} {exercise_id}: {message}")
    _record(exercise_id, status, message)
    return status == "passed"


# ---- small tools for writing checks -------------------------------------------------------------


def expect(condition: bool, message: str) -> None:
    """Raise ExerciseFailed(message) unless ``condition`` holds."""
    if not condition:
        raise ExerciseFailed(message)


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function; a None result means the starter is untouched (NotSolved)."""
    if not callable(fn):
        raise ExerciseFailed(f"expected a function, got {type(fn).__name__}")
    result = fn(*args, **kwargs)
    if result is None:
        raise NotSolved
    return result


def expect_tensor(
    actual: Any,
    expected: torch.Tensor,
    what: str = "your result",
    *,
    check_dtype: bool = True,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Compare a learner's tensor with the expected one, explaining the first difference found."""
    expect(isinstance(actual, torch.Tensor), f"{what} should be a torch.Tensor, got {type(actual).__name__}.")
    expect(
        tuple(actual.shape) == tuple(expected.shape),
        f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}.",
    )
    if check_dtype:
        expect(actual.dtype == expected.dtype, f"{what} has dtype {actual.dtype}, expected {expected.dtype}.")
    a, e = actual.detach().cpu(), expected.detach().cpu()
    if not (a.is_floating_point() or e.is_floating_point()):
        expect(torch.equal(a, e.to(a.dtype)), f"{what} has the right shape but some values are wrong.")
    else:
        a, e = a.double(), e.double()
        expect(
            torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True),
            f"{what} has the right shape but values differ (largest difference {float((a - e).abs().max()):.3g}).",
        )
