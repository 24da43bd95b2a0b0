"""Colab's "Run all", simulated: every learner notebook executed top to bottom, every cell tag removed.

Colab, JupyterLab and VS Code ignore the tags nbval and Jupyter Book honour (``raises-exception``,
``remove-cell``...), so the notebook runs here without any of them, in a fresh folder outside the
repository (as in Colab's /content), offline (COURSE_OFFLINE=1, set by conftest.py), with nbclient. It must
reach the last cell without an error. Slow: it executes every chapter, one chapter per test. Measured on the
shared 2-core machine: chapters 1-3 took 18-21 s each (moderate load); under heavy load (load average 15-20)
chapter 4 took 243 s, 5 68 s, 6 78 s, 7 119 s and 8 837 s, about 25 minutes for all eight.
"""

import importlib.util
import os
import re
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tools.course import ROOT, chapter_notebooks
from tools.learner_notebooks import build

CHAPTERS = chapter_notebooks()


def _load_wakeup_fix():
    """_ext/nbclient_wakeup.py (a Sphinx extension, not a package): nbclient polls in 1 s slices."""
    spec = importlib.util.spec_from_file_location("nbclient_wakeup", ROOT / "_ext" / "nbclient_wakeup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.patch_nbclient()
    return module


WAKEUP = _load_wakeup_fix()


@pytest.fixture(scope="module")
def learner_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("learner")
    build(out)
    return out / "chapters"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_run_all_reaches_the_last_cell(learner_dir, path, tmp_path):
    nb = nbformat.read(learner_dir / path.name, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("tags", None)  # Colab ignores every tag: nothing may rely on one
    workdir = tmp_path / "content"
    workdir.mkdir()
    assert os.environ.get("COURSE_OFFLINE") == "1"
    client = NotebookClient(
        nb,
        timeout=900,  # per cell: only an error fails this test, not a slow (busy) machine
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name}: Run all stopped at a cell with an error:\n{str(error)[-3000:]}")
    seconds = time.perf_counter() - start
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell ran"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    for cell in code:  # each error shown on purpose prints one traceback-like line
        if "helpers.shows_error(" in cell.source:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert re.fullmatch(r"\w+: .+\n", text), f"shows_error printed {text!r} in {cell.source!r}"
            assert "/site-packages/" not in text and "/work/" not in text
    print(
        f"{path.name}: Run all took {seconds:.1f} s ({WAKEUP.missed_wakeups} missed wakeups recovered so far)"
    )
