"""Show an expected error in one line, and fail when it does not happen."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator


@contextlib.contextmanager
def shows_error(expected: type[BaseException], match: str | None = None) -> Iterator[None]:
    """Run the block, expect ``expected`` (message matching ``match``), print it in one line."""
    try:
        yield
    except expected as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        if match is not None and not re.search(match, str(err)):
            raise AssertionError(f"expected {expected.__name__} matching {match!r}, got: {message}") from err
        print(f"{type(err).__name__}: {message}")
    else:
        raise AssertionError(f"expected {expected.__name__}, but no error happened")
