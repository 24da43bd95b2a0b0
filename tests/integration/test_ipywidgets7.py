"""The book's widgets work with ipywidgets 7.7.1, the version Colab runs (this environment has ipywidgets 8).

The widget tests (activation explorer, optimizer playground) run again in a subprocess whose
PYTHONPATH puts ipywidgets 7.7.1 (with its widgetsnbextension, jupyterlab-widgets and ipython_genutils) in front
of the installed ipywidgets 8. The wheels come from the package index (pip download), which CI can reach; when
the index cannot be reached this test skips, saying so.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.course import ROOT

COLAB_WIDGETS = [
    "ipywidgets==7.7.1",
    "widgetsnbextension==3.6.1",
    "jupyterlab-widgets==1.1.1",
    "ipython_genutils==0.2.0",
]
WIDGET_TESTS = ["tests/unit/test_activations.py", "tests/unit/test_optim_viz.py"]
# The quizzes use no widgets (jupyterquiz is HTML + JavaScript); their tests run here too, to show that
# quiz() works where ipywidgets is 7.7.1.
QUIZ_TESTS = ["tests/course/test_quiz.py"]


@pytest.fixture(scope="module")
def ipywidgets7(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ipywidgets7")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    download = subprocess.run(
        pip + ["download", "--no-deps", "-d", str(root / "wheels"), *COLAB_WIDGETS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if download.returncode != 0:
        pytest.skip(
            f"cannot download {', '.join(COLAB_WIDGETS)} from the package index: "
            f"{download.stderr.strip().splitlines()[-1:]}"
        )
    wheels = sorted((root / "wheels").glob("*.whl"))
    subprocess.run(
        pip + ["install", "--no-deps", "--target", str(root / "site"), *map(str, wheels)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return root / "site"


def test_widgets_work_with_colabs_ipywidgets_7(ipywidgets7):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ipywidgets7), str(ROOT)])}
    version = subprocess.run(
        [sys.executable, "-c", "import ipywidgets; print(ipywidgets.__version__)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert version.stdout.strip() == "7.7.1", version.stdout + version.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *WIDGET_TESTS,
            *QUIZ_TESTS,
            "-k",
            "explorer or playground or quiz",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 15, f"too few widget tests ran under ipywidgets 7.7.1: {summary}"
