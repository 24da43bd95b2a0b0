"""The shared toolkit of the exercise checks (the written standard is ``docs/checks.md``).

- Test data comes from private seeded generators (``randn``, ``generator``, ``seeded``): a check never
  draws from the learner's global random state.
- Shapes are never square or symmetric where a dimension could be confused: ``BATCH`` ≠ ``FEATURES`` ≠
  ``CLASSES`` (and none equals another).
- ``close``/``diagnose`` compare a learner's tensor with the expected one and, when it matches a known
  mistake (a biased std, a missing square, sum instead of mean...), say which mistake it is.
- ``as_float``, ``returns_type`` check the exact return type the exercise text asks for.
- ``refuse_helpers`` refuses an answer that is one of ``helpers``' own functions.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch import nn

from ..exercises import ExerciseFailed, expect, expect_tensor

T = TypeVar("T")

# Test shapes: batch, features and classes all differ, so a transposed or wrong-dim answer cannot pass.
BATCH, FEATURES, CLASSES = 7, 5, 3


def generator(seed: int = 0) -> torch.Generator:
    """A private, seeded random source: checks never draw from the learner's global RNG."""
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Seeded normal test data from a private generator."""
    return torch.randn(*shape, generator=generator(seed), dtype=dtype)


def seeded(seed: int, make: Callable[..., T], *args: Any) -> T:
    """Call ``make(*args)`` (e.g. build a model, whose init draws from the global RNG) with a fixed seed,
    leaving the learner's random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make(*args)


def non_contiguous(x: torch.Tensor) -> torch.Tensor:
    """The same values as ``x`` in a non-contiguous layout (a transposed copy transposed back)."""
    if x.dim() < 2:
        return torch.stack([x, x], dim=1)[:, 0]
    out = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    assert not out.is_contiguous() and torch.equal(out, x)
    return out


def matches(actual: Any, candidate: torch.Tensor, atol: float = 1e-5) -> bool:
    """True when ``actual`` is a tensor of the candidate's shape with (almost) its values."""
    return (
        isinstance(actual, torch.Tensor)
        and tuple(actual.shape) == tuple(candidate.shape)
        and bool(
            torch.allclose(
                actual.detach().cpu().double(), candidate.detach().cpu().double(), atol=atol, rtol=1e-4
            )
        )
    )


def diagnose(actual: Any, mistakes: Sequence[tuple[torch.Tensor, str]], atol: float = 1e-5) -> None:
    """Raise ExerciseFailed with the mistake's message when ``actual`` equals what that mistake produces."""
    for candidate, message in mistakes:
        if matches(actual, candidate, atol):
            raise ExerciseFailed(message)


def close(
    actual: Any,
    expected: torch.Tensor,
    what: str,
    *,
    mistakes: Sequence[tuple[torch.Tensor, str]] = (),
    hint: str = "",
    atol: float = 1e-6,
    check_dtype: bool = True,
) -> None:
    """``expect_tensor`` that first names a known mistake (``diagnose``) and appends ``hint`` to a mismatch."""
    if not matches(actual, expected, atol):
        diagnose(actual, mistakes, atol)
    try:
        expect_tensor(actual, expected, what, atol=atol, check_dtype=check_dtype)
    except ExerciseFailed as failure:
        raise ExerciseFailed(f"{failure} {hint}".strip()) from None


def as_float(value: Any, what: str) -> float:
    """The exercise asks for a Python float: refuse tensors (naming ``.item()``), ints are fine."""
    if isinstance(value, torch.Tensor):
        raise ExerciseFailed(
            f"{what} should be a Python float, got a tensor{' that requires grad' if value.requires_grad else ''}"
            ": convert it with .item()."
        )
    expect(
        isinstance(value, numbers.Real) and not isinstance(value, bool),
        f"{what} should be a Python float, got {type(value).__name__}.",
    )
    return float(value)


def returns_type(value: Any, kind: type | tuple[type, ...], what: str) -> None:
    """The exact return type the text asks for."""
    names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
    expect(isinstance(value, kind), f"{what} should be a {names}, got {type(value).__name__}.")


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor ({value.dtype})"
    return f"a {type(value).__name__}"


def python_int(value: Any, what: str) -> int:
    """A Python int, as the text asks (not a bool, a float, a NumPy or a tensor integer): range() and
    list indexing need one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    fix = (
        " (convert it with int(...) or .item())" if isinstance(value, (torch.Tensor, numbers.Number)) else ""
    )
    raise ExerciseFailed(f"{what} should be a Python int, got {value!r}, {_kind(value)}{fix}.")


def list_of_ints(value: Any, what: str) -> list[int]:
    """A Python list of Python ints, as the text asks."""
    if isinstance(value, torch.Tensor):
        raise ExerciseFailed(
            f"{what} should be a list of Python ints, got a tensor: convert it with .tolist()."
        )
    expect(isinstance(value, list), f"{what} should be a list of Python ints, got {_kind(value)}.")
    bad = next((v for v in value if not (isinstance(v, int) and not isinstance(v, bool))), None)
    if bad is not None:
        raise ExerciseFailed(
            f"{what} should be a list of Python ints, but it holds {bad!r}, {_kind(bad)} (int(i) or .tolist())."
        )
    return value


def same_params(a: nn.Module, b: nn.Module, atol: float = 1e-6) -> bool:
    """Both modules hold (almost) the same parameter values, in order."""
    pa, pb = list(a.parameters()), list(b.parameters())
    return len(pa) == len(pb) and all(
        p.shape == q.shape and torch.allclose(p, q, atol=atol) for p, q in zip(pa, pb)
    )


def same_state(a: dict, b: dict) -> bool:
    """Same keys in the same order and equal tensors."""
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def shape_of(t: Any) -> Any:
    """A tensor's shape as a tuple, or the type name of anything else (for messages)."""
    return tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__


def refuse_helpers(answer: Any, exercise_text: str) -> None:
    """The course's own library is not an answer: refuse any object that comes from ``helpers``."""
    module = getattr(answer, "__module__", "") or ""
    if module == "helpers" or module.startswith("helpers."):
        raise ExerciseFailed(
            f"that is the course library's own {getattr(answer, '__qualname__', answer)!s}: nice find, but "
            f"the exercise asks you to write {exercise_text} yourself."
        )
