"""JupyterLab, in headless Chromium, opens a learner notebook: exercises are formatted text, solutions collapsed.

Starts ``jupyter lab`` on 127.0.0.1 (no token, a temporary folder holding Chapter 1's learner notebook) and
drives it with the site test's DevTools browser. Keeps a screenshot in ``_build/screenshots/``. Skips (with
the reason) when JupyterLab or Chromium is not installed.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tools.course import ROOT
from tools.learner_notebooks import build
from tools.site.browser import Browser, find_chromium

jupyterlab = pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install jupyterlab)")
CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not found (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    learner = build(root / "learner")
    notebook = root / "01_tensors.ipynb"
    notebook.write_bytes(next(p for p in learner if p.name == "01_tensors.ipynb").read_bytes())
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # render every cell (JupyterLab 4 only renders the cells in view by default)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
        "JUPYTER_CONFIG_DIR": str(root / "cfg"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
    }
    log = open(root / "lab.log", "wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.allow_root=True",  # CI containers run as root
            f"--ServerApp.root_dir={root}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api", timeout=5).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"jupyter lab did not start: {(root / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield base
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


STATE = """(() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  const md = cells.filter(c => c.classList.contains('jp-MarkdownCell'));
  const heading = [...document.querySelectorAll('.jp-RenderedMarkdown h3')]
      .map(h => h.textContent).find(t => t.includes('Exercise 1.1'));
  const solutionLine = md.find(c => c.textContent.includes('Solution to Exercise 1.1'));
  const solution = solutionLine ? solutionLine.nextElementSibling : null;
  return {
    cells: cells.length,
    heading: heading || null,
    rawMyst: md.some(c => /:::|\\{exercise\\}|:label:/.test(c.textContent)),
    solutionCollapsed: solution ? !!solution.querySelector('.jp-InputPlaceholder') : null,
    solutionCodeShown: solution ? (solution.querySelector('.cm-content') || {textContent: ''}).textContent
        .includes('torch.arange(3') : null,
  };
})()"""


def test_jupyterlab_shows_the_exercise_as_text_and_the_solution_collapsed(lab):
    with Browser(CHROMIUM, width=1280, height=900, timeout=60) as browser:
        browser.open(f"{lab}/lab/tree/01_tensors.ipynb", settle=1)
        deadline = time.monotonic() + 90
        state = {}
        while time.monotonic() < deadline:
            state = browser.evaluate(STATE) or {}
            if state.get("heading") and state.get("solutionCollapsed") is not None:
                break
            browser.pump(1)
        assert state.get("heading", "") and state["heading"].startswith("Exercise 1.1 ★"), state
        assert state["rawMyst"] is False, state
        assert state["solutionCollapsed"] is True and state["solutionCodeShown"] is False, state
        browser.evaluate(
            "[...document.querySelectorAll('.jp-RenderedMarkdown h3')]"
            ".find(h => h.textContent.includes('Exercise 1.1')).scrollIntoView()"
        )
        browser.pump(1)
        shot = browser.screenshot(ROOT / "_build" / "screenshots" / "jupyterlab-exercise.png")
        assert shot.stat().st_size > 10_000
