"""Show an error on purpose, without stopping the notebook.

A lesson often demonstrates a mistake by letting PyTorch raise. A cell that raises stops Colab's and
Jupyter's "Run all", so the book demonstrates errors inside ``shows_error`` instead::

    with helpers.shows_error(RuntimeError, match="not compatible"):
        grid.T.view(6)

prints the line a traceback ends with (``RuntimeError: view size is not compatible ...``) and carries on.
It still checks the lesson's claim: if no error happens, or a different one, it raises ``AssertionError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


def _names(expected: type[BaseException] | tuple[type[BaseException], ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(t.__name__ for t in types)


def error_line(error: BaseException) -> str:
    """``"TypeName: first line of the message"``, like the last line of a traceback (one line only)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0].strip()}" if lines else type(error).__name__


@contextmanager
def shows_error(
    expected: type[BaseException] | tuple[type[BaseException], ...], match: str | None = None
) -> Iterator[None]:
    """Run the ``with`` block, expecting it to raise ``expected``; print the error in one line.

    ``expected`` is an exception class (or a tuple of them); ``match``, if given, is a regular expression that
    must be found in the error message (``re.search``). Outcomes:

    * the expected error is raised (and matches): print ``"TypeName: message"`` and continue;
    * nothing is raised: ``AssertionError`` ("expected ... but no error was raised");
    * another exception is raised, or the message does not match: ``AssertionError`` naming both, chained to
      the original exception so its full traceback is still shown.
    """
    types = expected if isinstance(expected, tuple) else (expected,)
    if not types or not all(isinstance(t, type) and issubclass(t, BaseException) for t in types):
        raise TypeError(
            f"shows_error: expected must be an exception class or a tuple of them, got {expected!r}"
        )
    try:
        yield
    except types as error:
        line = error_line(error)
        if match is not None and not re.search(match, str(error)):
            raise AssertionError(
                f"shows_error: expected {_names(expected)} matching {match!r}, but the message was: {line}"
            ) from error
        print(line)
    except Exception as error:
        raise AssertionError(
            f"shows_error: expected {_names(expected)}, but the code raised {error_line(error)}"
        ) from error
    else:
        raise AssertionError(f"shows_error: expected {_names(expected)}, but no error was raised")
