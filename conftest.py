"""pytest configuration shared by the unit tests and the notebook tests (nbval).

* Notebooks run offline by default (COURSE_OFFLINE=1): they use the data shipped with installed packages.
  Set COURSE_OFFLINE=0 to let them try to download FashionMNIST.
* A notebook cell whose output shows a FutureWarning or DeprecationWarning fails: deprecated APIs are
  what rots first in a course.
* At the end, the time spent in each notebook is printed.
* Tests under ``tests/integration`` and the chapter notebooks are marked ``slow``: ``pytest -m "not slow"`` is the
  fast lane for contributors (unit and course tests, well under a minute); plain ``pytest`` runs everything.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

import matplotlib
import pytest

os.environ.setdefault("COURSE_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")  # unit tests draw figures without a screen
matplotlib.use(os.environ["MPLBACKEND"])

_DEPRECATION = re.compile(r"\b(FutureWarning|DeprecationWarning|PendingDeprecationWarning)\b")
_notebook_seconds: dict[str, float] = defaultdict(float)


def _output_text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return output.get("ename", "") + ": " + output.get("evalue", "")
    data = output.get("data", {})
    return data.get("text/plain", "") if isinstance(data, dict) else ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)  # set by nbval for notebook cells
    for output in outputs or []:
        text = _output_text(output)
        text = "".join(text) if isinstance(text, list) else text
        match = _DEPRECATION.search(text)
        if match:
            line = next(line for line in text.splitlines() if match.group(1) in line)
            raise AssertionError(
                f"notebook cell printed a {match.group(1)} (fix the deprecated call): {line.strip()}"
            )
    return result


def pytest_ignore_collect(collection_path, config):
    """Under ``-m "not slow"`` the notebooks (all slow) are not even collected: nbval's collection of ten
    chapters costs more time than the whole fast lane runs."""
    if collection_path.suffix == ".ipynb" and "not slow" in (config.getoption("markexpr") or ""):
        return True
    return None


def pytest_collection_modifyitems(items):
    for item in items:
        path = item.path.as_posix()
        if "/tests/integration/" in path or path.endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report):
    if report.nodeid.split("::")[0].endswith(".ipynb"):
        _notebook_seconds[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    if _notebook_seconds:
        terminalreporter.section("notebook durations")
        for name, seconds in sorted(_notebook_seconds.items()):
            terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
