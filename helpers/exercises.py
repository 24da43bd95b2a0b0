"""Self-checking exercises: ``check("ex-1.2", answer)`` tells a learner whether an answer is right.

Each exercise has a check function in ``helpers/checks/chNN.py``, registered with ``@exercise("ex-N.M")``.
A check receives the learner's object (a tensor, a function, a model...) and either returns normally
(passed) or raises ``ExerciseFailed`` with specific feedback and a hint -- never the solution.
An untouched starter (``None``, ``...``, a function that returns None or raises NotImplementedError)
counts as "not yet solved", so a notebook with unsolved exercises still runs to the end.

Results are kept in ``RESULTS`` and, when the environment variable ``COURSE_RESULTS_FILE`` names a file
(the grader sets it), appended to that file as JSON lines.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
from typing import Any, Callable

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


def _load_all_checks() -> None:
    from . import checks
    for info in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"{checks.__name__}.{info.name}")


def exercise_ids() -> list[str]:
    """Every registered exercise id, in chapter order."""
    _load_all_checks()
    return sorted(CHECKS, key=lambda e: tuple(int(p) for p in e[3:].split(".")))


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
    _load_all_checks()
    if exercise_id not in CHECKS:
        raise KeyError(f"unknown exercise id {exercise_id!r}; known ids look like {exercise_ids()[:3]}")
    try:
        if answer is None or answer is Ellipsis:
            raise NotSolved
        CHECKS[exercise_id](answer)
    except (NotSolved, NotImplementedError):
        status, message = "not solved", "not yet solved: replace the starter code with your answer, then run this cell again."
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


def expect_tensor(actual: Any, expected: torch.Tensor, what: str = "your result", *,
                  check_dtype: bool = True, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    """Compare a learner's tensor with the expected one, explaining the first difference found."""
    expect(isinstance(actual, torch.Tensor), f"{what} should be a torch.Tensor, got {type(actual).__name__}.")
    expect(tuple(actual.shape) == tuple(expected.shape),
           f"{what} has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}.")
    if check_dtype:
        expect(actual.dtype == expected.dtype, f"{what} has dtype {actual.dtype}, expected {expected.dtype}.")
    a, e = actual.detach().cpu(), expected.detach().cpu()
    if not (a.is_floating_point() or e.is_floating_point()):
        expect(torch.equal(a, e.to(a.dtype)), f"{what} has the right shape but some values are wrong.")
    else:
        a, e = a.double(), e.double()
        expect(torch.allclose(a, e, atol=atol, rtol=rtol, equal_nan=True),
               f"{what} has the right shape but values differ (largest difference {float((a - e).abs().max()):.3g}).")
