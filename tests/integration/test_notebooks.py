"""Static checks on the chapter notebooks (the notebooks themselves are executed by nbval)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.course import ROOT, chapter_notebooks
from tools.sync_setup_cells import helpers_version, repository, setup_source, sync

NOTEBOOKS = chapter_notebooks()


def markdown(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have stored outputs; strip them (the book executes notebooks on build)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_is_first_and_up_to_date(path):
    assert not sync(path, setup_source(*repository(), helpers_version()), write=False), (
        f"{path.name}: setup cell missing or stale; run `python -m tools.sync_setup_cells`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_anatomy(path):
    text = markdown(path)
    assert re.search(r"^# ", text, re.M), "a title (# heading)"
    for heading in ("Learning objectives", "Summary", "Exercises"):
        assert re.search(rf"^## {heading}\s*$", text, re.M), f"{path.name} needs a '## {heading}' section"


def test_every_notebook_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = re.findall(r"'file': '([^']+)'", str(toc))
    for path in NOTEBOOKS:
        assert str(path.relative_to(ROOT).with_suffix("")) in files, f"add {path.name} to _toc.yml"


def test_repository_url_lives_in_one_place():
    url, _ = repository()
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    holders = [
        f
        for f in tracked
        if (ROOT / f).is_file()
        and not f.endswith(".ipynb")
        and url in (ROOT / f).read_text(encoding="utf-8", errors="ignore")
    ]
    assert holders == ["_config.yml"], (
        f"the repository URL must only be written in _config.yml, found in {holders}"
    )


def test_deprecation_warning_in_a_notebook_fails_the_notebook_test(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import warnings\nwarnings.warn('old API', FutureWarning)")]
    )
    nbformat.write(nb, tmp_path / "warns.ipynb")
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            "warns.ipynb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "printed a FutureWarning" in result.stdout


def test_exercise_index_page_is_up_to_date():
    from tools.exercise_index import PAGE, render

    assert PAGE.read_text(encoding="utf-8") == render(), "run `python -m tools.exercise_index`"
