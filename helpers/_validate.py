"""Argument checks shared by every public function of ``helpers`` (internal: not part of the learner's API).

One style everywhere: a check takes the argument's ``name`` and its ``value``, returns the value (converted
where the conversion is unambiguous, e.g. ``numpy.int64(3)`` -> ``3``) or raises an error raised from
helpers whose message names the argument, says what was expected and shows what came:

    epochs must be an integer >= 1, got 0 (int)

Wrong *type* -> ``TypeError``; right type, wrong *value* -> ``ValueError``.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

T = TypeVar("T")


def describe(value: Any) -> str:
    """A short description of ``value`` for an error message: its repr (cut to 60 characters) and its type."""
    if isinstance(value, type):
        return f"the class {value.__module__}.{value.__qualname__}"
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if type(value).__module__ == "numpy" and hasattr(value, "shape") and getattr(value, "ndim", False):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(name: str, value: Any, *, minimum: int | None = None) -> int:
    """An integer (Python or NumPy, never ``bool``), at least ``minimum``; returns a Python int."""
    bound = "" if minimum is None else f" >= {minimum}"
    if not _is_int(value):
        hint = " (True/False are not counts)" if isinstance(value, bool) else ""
        raise (ValueError if isinstance(value, (bool, float)) else TypeError)(
            f"{name} must be an integer{bound}{hint}, got {describe(value)}"
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer{bound}, got {value}")
    return value


def positive_int(name: str, value: Any) -> int:
    """An integer >= 1 (Python or NumPy, not ``bool``)."""
    return integer(name, value, minimum=1)


def non_negative_int(name: str, value: Any) -> int:
    """An integer >= 0 (Python or NumPy, not ``bool``)."""
    return integer(name, value, minimum=0)


def optional_positive_int(name: str, value: Any) -> int | None:
    """None, or an integer >= 1."""
    return None if value is None else positive_int(name, value)


def real(name: str, value: Any) -> float:
    """A real number (int, float, NumPy scalar, one-element tensor), not ``bool``; returns a float."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.dtype.is_complex:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {describe(value)}")
    return float(value)


def fraction(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """A number strictly between 0 and 1 (0 itself allowed with ``allow_zero``)."""
    number = real(name, value)
    low_ok = number >= 0 if allow_zero else number > 0
    if not (low_ok and number < 1):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{name} must be a fraction in {interval}, got {number}")
    return number


def boolean(name: str, value: Any) -> bool:
    """``True`` or ``False`` (NumPy booleans too)."""
    if type(value).__name__ == "bool_" or isinstance(value, bool):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {describe(value)}")


def _public_name(cls: type) -> str:
    """The name a learner writes: torch.nn.Module, torch.optim.Optimizer (not their private module paths)."""
    for public in ("torch.nn", "torch.optim"):
        if cls.__module__.startswith(public + "."):
            return f"{public}.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def instance_not_class(name: str, value: Any, base: type[T], example: str | None = None) -> T:
    """An instance of ``base``. The class itself (``nn.CrossEntropyLoss`` for ``nn.CrossEntropyLoss()``)
    gets an error that says to add the parentheses."""
    expected = _public_name(base)
    if isinstance(value, type):
        call = f"{value.__qualname__}(...)" if example is None else example
        raise TypeError(
            f"{name} must be an instance of {expected}, got {describe(value)} itself: "
            f"create one first, e.g. {name}={call}"
        )
    if not isinstance(value, base):
        raise TypeError(f"{name} must be an instance of {expected}, got {describe(value)}")
    return value


def module(name: str, value: Any) -> nn.Module:
    """An ``nn.Module`` instance (a model or a layer)."""
    return instance_not_class(name, value, nn.Module)


def optimizer(name: str, value: Any) -> torch.optim.Optimizer:
    """A ``torch.optim.Optimizer`` instance."""
    return instance_not_class(
        name, value, torch.optim.Optimizer, "torch.optim.SGD(model.parameters(), lr=0.1)"
    )


def loss_function(name: str, value: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A callable (outputs, targets) -> loss: a loss *instance* such as ``nn.CrossEntropyLoss()`` or a function."""
    if isinstance(value, type):
        raise TypeError(
            f"{name} must be a loss function such as nn.CrossEntropyLoss(), got {describe(value)} itself: "
            f"create an instance first, e.g. {name}={value.__qualname__}()"
        )
    if not callable(value):
        raise TypeError(
            f"{name} must be a loss function (outputs, targets) -> loss, e.g. nn.CrossEntropyLoss(), "
            f"got {describe(value)}"
        )
    return value


def loader(name: str, value: Any) -> Iterable:
    """Something that yields batches: a DataLoader or any iterable of (inputs, targets) pairs.

    A tensor or array is iterable too, but it yields rows, not batches: that is surely a mistake.
    """
    if isinstance(value, torch.Tensor) or type(value).__module__ == "numpy":
        raise TypeError(
            f"{name} must be a DataLoader (or another iterable of (inputs, targets) batches), got "
            f"{describe(value)}: wrap the data, e.g. DataLoader(TensorDataset(X, y), batch_size=64)"
        )
    if isinstance(value, torch.utils.data.Dataset) and not isinstance(
        value, torch.utils.data.IterableDataset
    ):
        raise TypeError(
            f"{name} must be a DataLoader, got a Dataset ({type(value).__name__}): "
            f"wrap it, e.g. DataLoader(dataset, batch_size=64)"
        )
    try:
        iter_fn = type(value).__iter__
    except AttributeError:
        raise TypeError(
            f"{name} must be a DataLoader (or another iterable of (inputs, targets) batches), "
            f"got {describe(value)}"
        ) from None
    del iter_fn
    return value


def tensor_or_array(name: str, value: Any, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A tensor, or a NumPy array / nested list converted to one (with ``dtype`` if given)."""
    if isinstance(value, torch.Tensor):
        return value if dtype is None else value.to(dtype)
    if type(value).__module__ == "numpy" or isinstance(value, (list, tuple)):
        try:
            return torch.as_tensor(value, dtype=dtype)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a tensor or an array of numbers, got {describe(value)} ({err})"
            ) from None
    raise TypeError(f"{name} must be a torch.Tensor (or a NumPy array), got {describe(value)}")


def device_like(name: str, value: Any) -> torch.device:
    """A ``torch.device`` or a device string such as "cpu", "cuda", "cuda:1", "mps"."""
    if isinstance(value, torch.device):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be a device string such as 'cpu' or 'cuda', or a torch.device, got {describe(value)}"
        )
    try:
        return torch.device(value)
    except RuntimeError:
        raise ValueError(
            f"{name} must name a device such as 'cpu', 'cuda', 'cuda:1' or 'mps', got the unknown device {value!r}"
        ) from None


def path_like(name: str, value: Any) -> Path:
    """A file path: ``str`` or ``os.PathLike``; returned as a Path."""
    if isinstance(value, (str, os.PathLike)) and str(value):
        return Path(value)
    raise TypeError(f"{name} must be a file path (str or pathlib.Path), got {describe(value)}")


def one_of(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of a few allowed values."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {describe(value)}")
    return value
