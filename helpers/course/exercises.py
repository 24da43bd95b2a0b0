"""Self-checking exercises: ``check("ex-1.2", answer)`` tells a learner whether an answer is right.

Each exercise has a check function in ``helpers/course/checks/chNN.py``, registered with ``@exercise("ex-N.M")``.
A check receives the learner's object (a tensor, a function, a model...) and either returns normally
(passed) or raises ``ExerciseFailed`` with specific feedback and a hint -- never the solution.

The outcome is one of
- "passed": the check found nothing wrong;
- "not solved": the starter is untouched (``...``, ``None``, or functions/classes whose bodies are still
  only ``...``/``pass``), so a notebook with unsolved exercises still runs to the end;
- "failed": a wrong answer, a function that returns None after it was edited (a forgotten ``return``),
  a value whose type/shape/dtype the check could not even compare, or an exception raised by the
  learner's code (its message plus a hint where a common cause is known).

``check`` prints ONE line (wrapped at 88 characters) and returns a ``CheckResult``: truthy when passed,
so solution cells can ``assert check(...)``, and displayed as nothing, so a cell ending in ``check(...)``
echoes no ``True``/``False`` after the feedback.

Results are kept in ``RESULTS`` and, when the environment variable ``COURSE_RESULTS_FILE`` names a file
(the grader sets it), appended to that file as JSON lines.
"""

from __future__ import annotations

import contextlib
import dis
import importlib
import importlib.util
import json
import os
import pkgutil
import random
import re
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

CheckFn = Callable[[Any], None]
CHECKS: dict[str, CheckFn] = {}
FORBIDDEN: dict[str, tuple[str, ...]] = {}  # exercise id -> dotted names its text forbids (see ``call``)
_forbidden_now: tuple[str, ...] = ()  # the forbidden names of the check that is running
RESULTS: dict[str, dict[str, str]] = {}
LINE_WIDTH = 88


class ExerciseFailed(AssertionError):
    """Raised by a check with a message saying what is wrong (and a hint)."""


class NotSolved(Exception):
    """Raised when the learner's function gave None: untouched, or a forgotten ``return``."""


class CheckResult:
    """What ``check`` returns: truthy when the answer passed; shows nothing when it is a cell's last value."""

    __slots__ = ("exercise_id", "status", "message")

    def __init__(self, exercise_id: str, status: str, message: str) -> None:
        self.exercise_id, self.status, self.message = exercise_id, status, message

    def __bool__(self) -> bool:
        return self.status == "passed"

    def _ipython_display_(self) -> None:
        """IPython calls this instead of echoing the value: the printed line already said everything."""

    def __repr__(self) -> str:
        return f"CheckResult({self.exercise_id!r}, {self.status!r})"


def exercise(exercise_id: str, forbid: tuple[str, ...] = ()) -> Callable[[CheckFn], CheckFn]:
    """Decorator registering a check function under an id like "ex-3.2".

    forbid: dotted names of what the exercise text tells the learner not to use, e.g.
    ``("torch.nn.functional.cross_entropy", "torch.Tensor.softmax")``; while ``call`` runs the learner's
    function each of them fails with ExerciseFailed naming it (the check's own code can still use them).
    """
    for name in forbid:
        _resolve_owner(name)  # a typo fails when the checks are imported, not when a learner runs one

    def register(fn: CheckFn) -> CheckFn:
        if exercise_id in CHECKS and CHECKS[exercise_id] is not fn:
            raise ValueError(f"two checks registered for {exercise_id}")
        CHECKS[exercise_id] = fn
        FORBIDDEN[exercise_id] = tuple(forbid)
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
    """Run a check without changing the learner's torch, NumPy or ``random`` state (their next numbers),
    nor whether autograd records (a wrong answer that switches it off globally is reported, then undone)."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    grad_enabled = torch.is_grad_enabled()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
            torch.set_grad_enabled(grad_enabled)


# ---- is this still the untouched starter? --------------------------------------------------------

_SKIPPED_OPS = {"RESUME", "COPY_FREE_VARS", "MAKE_CELL", "NOP", "CACHE", "PRECALL", "PUSH_NULL", "KW_NAMES"}


def _ops(code: types.CodeType) -> tuple[tuple[str, Any], ...]:
    """The instructions of a code object without bookkeeping ops (so versions and docstrings don't matter)."""
    return tuple(
        (ins.opname, ins.argval if ins.opname not in {"CALL", "PRECALL"} else None)
        for ins in dis.get_instructions(code)
        if ins.opname not in _SKIPPED_OPS
    )


def _stub_shapes() -> set[tuple[tuple[str, Any], ...]]:
    """Instruction shapes of a starter body: ``...`` or ``pass``, optionally after ``super().__init__()``."""
    source = (
        "def f(a, b=1):\n    ...\n"
        "def g(a):\n    '''doc'''\n    pass\n"
        "class C(object):\n    def __init__(self, a):\n        super().__init__()\n        ...\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<starter>", "exec"), namespace)
    return {
        _ops(namespace["f"].__code__),
        _ops(namespace["g"].__code__),
        _ops(namespace["C"].__init__.__code__),
    }


_STUBS = _stub_shapes()


def _functions_of(cls: type) -> list[types.FunctionType]:
    found = []
    for value in vars(cls).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, types.FunctionType):
            found.append(value)
    return found


def is_untouched_starter(answer: Any) -> bool:
    """True for ``None``/``...``, a function whose body is only ``...``/``pass``, a class whose methods all
    are (``super().__init__()`` allowed), or a tuple/list of such things. An edited body is never untouched."""
    if answer is None or answer is Ellipsis:
        return True
    if isinstance(answer, (tuple, list)) and answer:
        return all(is_untouched_starter(a) for a in answer)
    if isinstance(answer, types.FunctionType):
        return _ops(answer.__code__) in _STUBS
    if isinstance(answer, type):
        functions = _functions_of(answer)
        return bool(functions) and all(_ops(f.__code__) in _STUBS for f in functions)
    return False


# ---- who raised: the learner's code or the check's own comparison? -------------------------------

_LIBRARY_DIRS = tuple(
    str(Path(p).resolve())
    for p in {
        Path(__file__).parent.parent,  # helpers/
        Path(torch.__file__).parent,
        Path(np.__file__).parent,
        Path(os.__file__).parent,  # the standard library
    }
)


def _is_learner_frame(filename: str) -> bool:
    if filename.startswith("<frozen") or filename.startswith("<string>"):
        return False
    if filename.startswith("<"):  # "<cell>", "<ipython-input-...>": code typed by a person
        return True
    try:
        resolved = str(Path(filename).resolve())
    except OSError:
        return True
    return not resolved.startswith(_LIBRARY_DIRS)


def _raised_in_learner_code(err: BaseException) -> bool:
    """True when the traceback passes through code that is not ours, torch's, NumPy's or the stdlib's."""
    tb = err.__traceback__
    while tb is not None:
        if _is_learner_frame(tb.tb_frame.f_code.co_filename):
            return True
        tb = tb.tb_next
    return False


# Known causes of common errors: (pattern in "Type: message", hint). Hints name the cause, not the answer.
ERROR_HINTS: list[tuple[str, str]] = [
    (
        r"Long but found Float|expected scalar type Long|Float but found Long|expected .*Long|"
        r"multi-target not supported",
        "class indices must be int64 (.long()) of shape (N,), probabilities/logits float.",
    ),
    (
        r"mat1 and mat2 shapes cannot be multiplied|size mismatch",
        "a matrix product got shapes that do not fit: "
        "features are the LAST dimension; does a weight need .T, or a layer other sizes?",
    ),
    (
        r"must match the size of tensor|shape .* is invalid for input|cannot be broadcast|same number of dim",
        "two tensors' shapes do not fit together: print .shape of each; reduce with keepdim=True to broadcast.",
    ),
    (
        r"expected scalar type|did not match|same dtype|Expected .* dtype|expected .* to be of .*type|"
        r"not implemented for 'Long'|not implemented for 'Int'",
        "two tensors have different dtypes: convert with .float()/.long() or create with dtype=...",
    ),
    (
        r"same device|Expected all tensors to be on",
        "tensors on different devices: move them with .to(device).",
    ),
    (
        r"leaf Variable that requires grad is being used in an in-place",
        "an in-place update of a parameter is recorded by autograd: do it inside `with torch.no_grad():`.",
    ),
    (
        r"does not require grad and does not have a grad_fn",
        "nothing to differentiate: the tensor is detached, made under no_grad, or lacks requires_grad=True.",
    ),
    (
        r"grad can be implicitly created only for scalar outputs",
        "backward() on a non-scalar tensor needs `gradient=` (a tensor of its shape weighting each output).",
    ),
    (
        r"backward through the graph a second time",
        "a graph is used twice: compute the loss afresh each step.",
    ),
    (
        r"unsupported operand type.*NoneType|NoneType' object has no attribute|NoneType' object is not",
        "something is None: a function without `return`, or a .grad that is None (no backward() yet, "
        "or the parameter was not used).",
    ),
    (
        r"return_types\.(max|min|sort|topk)",
        "torch.max/min/sort/topk with a dim return (values, indices): take .values or .indices.",
    ),
    (
        r"view size is not compatible|view\(\) ",
        "view needs contiguous memory: use reshape, or .contiguous().",
    ),
    (
        r"Boolean value of Tensor with more than one",
        "`if`/`and` on a tensor of many values: use a mask, torch.where, or .all()/.any().",
    ),
    (r"numpy\(\) on Tensor that requires grad", "call .detach() before .numpy()."),
    (
        r"one of the variables needed for gradient computation has been modified by an inplace",
        "an in-place operation changed a tensor autograd still needed: use the out-of-place form.",
    ),
    (r"Dimension out of range", "a dim that the tensor does not have: count its dimensions with .dim()."),
    (
        r"index -100 is out of bounds",
        "-100 is the default ignore_index (a padding mark), not a class id: positions that hold it "
        "cannot be used as an index.",
    ),
    (r"index .* is out of bounds|out of range|IndexError", "an index past the end: off by one?"),
    (
        r"name '.*' is not defined",
        "a name your code uses is not defined here: run the cells above that define it (an exercise can "
        "build on an earlier one's function, e.g. ex-8.8 on ex-8.1 and ex-8.2).",
    ),
    (
        r"not callable",
        "something that is not a function was called: a missing `()` elsewhere, or a name "
        "reused for a value.",
    ),
    (
        r"missing .* required positional argument|takes .* positional argument",
        "the function's signature differs from the one the exercise gives: keep its parameters.",
    ),
    (r"can only convert|only one element tensors", ".item() works on one-element tensors only."),
]


def _hint_for(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}"
    for pattern, hint in ERROR_HINTS:
        if re.search(pattern, text):
            return hint
    return ""


def _one_line(err: BaseException, limit: int = 160) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- check() -----------------------------------------------------------------------------------------


def _record(exercise_id: str, status: str, message: str) -> None:
    RESULTS[exercise_id] = {"status": status, "message": message}
    results_file = os.environ.get("COURSE_RESULTS_FILE")
    if results_file:
        with open(results_file, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": exercise_id, "status": status, "message": message}) + "\n")


def _from_helpers(answer: Any) -> Any:
    """The first function or class in ``answer`` (or in a tuple of answers) that comes from ``helpers``."""
    for item in answer if isinstance(answer, (tuple, list)) else (answer,):
        module = getattr(item, "__module__", None) or ""
        if (callable(item) or isinstance(item, type)) and (
            module == "helpers" or module.startswith("helpers.")
        ):
            return item
    return None


def _outcome(exercise_id: str, answer: Any) -> tuple[str, str]:
    """Run the check and turn what happened into (status, message)."""
    if is_untouched_starter(answer):
        return "not solved", "not yet solved: replace the `...` with your answer, then run this cell again."
    borrowed = _from_helpers(answer)
    if borrowed is not None:
        name = getattr(borrowed, "__qualname__", type(borrowed).__name__)
        return "failed", (
            f"not quite: that is the course library's own `helpers` {name} -- good to know it exists, "
            "but this exercise asks you to write it yourself."
        )
    global _forbidden_now
    try:
        _forbidden_now = FORBIDDEN.get(exercise_id, ())
        with _learner_rng_untouched():
            try:
                CHECKS[exercise_id](answer)
            finally:
                _forbidden_now = ()
    except ExerciseFailed as failure:
        return "failed", f"not quite: {failure}"
    except NotSolved:
        return "failed", "not quite: your function returned None — did you forget `return`?"
    except RecursionError as err:
        return "failed", f"not quite: your code raised RecursionError ({_one_line(err, 80)})."
    except Exception as err:
        if not isinstance(err, NotImplementedError) and not _raised_in_learner_code(
            err
        ):  # the check could not even compare the value it got
            return "failed", (
                "not quite: your result is not of the type, shape or dtype the exercise asks for "
                f"(comparing it raised {type(err).__name__}: {_one_line(err, 120)})."
            )
        if isinstance(err, NotImplementedError) and not str(err):
            return "not solved", "not yet solved: replace the starter code with your answer."
        hint = _hint_for(err)
        raised = f"not quite: your code raised {type(err).__name__}: {_one_line(err)}".rstrip(".")
        return "failed", raised + (f". Hint: {hint}" if hint else ".")
    return "passed", "correct"


def format_line(exercise_id: str, message: str, width: int = LINE_WIDTH) -> str:
    """``ex-1.3 — correct`` / ``ex-1.3 — not quite: ...``, wrapped at ``width`` characters."""
    return textwrap.fill(
        f"{exercise_id} — {message}", width=width, subsequent_indent="    ", break_on_hyphens=False
    )


def check(exercise_id: str, answer: Any) -> CheckResult:
    """Check a learner's ``answer`` to exercise ``exercise_id``; print one line; return a ``CheckResult``
    (truthy when passed, displayed as nothing).

    Never raises for a wrong or missing answer (so "Run all" reaches the end of the notebook);
    raises KeyError only for an unknown exercise id.
    """
    chapter, _ = parse_exercise_id(exercise_id)
    _load_checks(chapter)
    if exercise_id not in CHECKS:
        raise KeyError(f"unknown exercise id {exercise_id!r}; known ids look like {exercise_ids()[:3]}")
    status, message = _outcome(exercise_id, answer)
    print(format_line(exercise_id, message), file=sys.stdout)
    _record(exercise_id, status, message)
    return CheckResult(exercise_id, status, message)


# ---- small tools for writing checks (more in checks/_common.py) ----------------------------------


def expect(condition: bool, message: str) -> None:
    """Raise ExerciseFailed(message) unless ``condition`` holds."""
    if not condition:
        raise ExerciseFailed(message)


def _resolve_owner(name: str) -> tuple[Any, str]:
    """ "torch.nn.functional.one_hot" -> (the module torch.nn.functional, "one_hot"); also classes' methods."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:-1]:
            owner = getattr(owner, part)
        if not hasattr(owner, parts[-1]):
            raise AttributeError(f"forbid: {name} does not exist")
        return owner, parts[-1]
    raise ImportError(f"forbid: cannot import a module from {name!r}")


def _forbidden_message(name: str) -> str:
    shown = (
        name.removesuffix(".__init__")
        .replace("torch.nn.functional.", "F.")
        .replace("torch.Tensor.", "Tensor.")
    )
    return (
        f"your code uses {shown}, which this exercise asks you not to use: the point is to build it yourself "
        "from the operations the chapter teaches."
    )


@contextlib.contextmanager
def _forbidding(
    names: tuple[str, ...], namespace: dict[str, Any] | None = None, cells: tuple[Any, ...] = ()
) -> Iterator[list[str]]:
    """Replace each named function by one that records its use and raises ExerciseFailed; restore after.

    namespace: the learner's globals (a notebook's): a forbidden function imported there by its own name
    (``from torch.nn.functional import one_hot``) is replaced there too; so is one in ``cells``, the
    closure cells of the learner's function.
    """
    used: list[str] = []
    patched: list[tuple[Any, str, Any, bool]] = []
    renamed: list[tuple[str, Any]] = []
    closed: list[tuple[Any, Any]] = []

    def refusing(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            used.append(name)
            raise ExerciseFailed(_forbidden_message(name))

        return refuse

    try:
        for name in names:
            owner, attr = _resolve_owner(name)
            own = attr in vars(owner)
            original = getattr(owner, attr)
            patched.append((owner, attr, vars(owner)[attr] if own else original, own))
            setattr(owner, attr, refusing(name))
            for key, value in list((namespace or {}).items()):
                if value is original and not key.startswith("__"):
                    renamed.append((key, value))
                    namespace[key] = getattr(owner, attr)  # type: ignore[index]
            for cell in cells:
                try:
                    if cell.cell_contents is original:
                        closed.append((cell, original))
                        cell.cell_contents = getattr(owner, attr)
                except ValueError:  # an empty cell
                    pass
        yield used
    finally:
        for cell, value in closed:
            cell.cell_contents = value
        for key, value in renamed:
            namespace[key] = value  # type: ignore[index]
        for owner, attr, original, own in reversed(patched):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)  # it was inherited: uncover the base class's again


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function; a None result raises NotSolved ("did you forget `return`?").

    While it runs, what the exercise forbids (``@exercise(..., forbid=...)``) fails with ExerciseFailed
    naming it -- even if the learner's code catches that exception.
    """
    if not callable(fn):
        raise ExerciseFailed(f"expected a function, got {type(fn).__name__}")
    namespace, cells = getattr(fn, "__globals__", None), getattr(fn, "__closure__", None) or ()
    with _forbidding(_forbidden_now, namespace, cells) as used:
        result = fn(*args, **kwargs)
    if used:  # raised again: the learner's code may have caught the first one
        raise ExerciseFailed(_forbidden_message(used[0]))
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
    hint: str = "",
) -> None:
    """Compare a learner's tensor with the expected one, explaining the first difference found.

    hint: a sentence added when the values differ (not for a wrong type, shape or dtype), e.g. the usual cause.
    """
    if actual is None:
        raise NotSolved
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
            f"{what} has the right shape but values differ (largest difference {float((a - e).abs().max()):.3g})."
            + (f" Hint: {hint}" if hint else ""),
        )
