"""Write the shared Colab setup cell into every chapter notebook, derived from _config.yml.

The repository URL and branch live in exactly one place, ``_config.yml`` (``repository.url`` and
``repository.branch``). Run this after changing them:

    python -m tools.sync_setup_cells          # rewrite the first code cell of every notebook
    python -m tools.sync_setup_cells --check  # exit 1 if any notebook is out of date (rewrites nothing)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from tools import course
from tools.course import ROOT, SETUP_TAGS


def repository() -> tuple[str, str]:
    """(url, branch) of the book's repository, read from _config.yml."""
    url, branch, _ = course.repository()
    return url, branch


def helpers_version() -> str:
    """helpers.__version__, read from the source without importing it."""
    for line in (ROOT / "helpers" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError("helpers/__init__.py defines no __version__")


def setup_source(url: str, branch: str, version: str) -> str:
    """The setup cell's code: in Colab, install helpers from the repository at the book's branch."""
    # Written the way `ruff format chapters/` (88 columns) leaves it, so formatting never makes it stale.
    return f'''# @title Setup: run me first in Colab (installs the book's helpers; elsewhere does nothing)
# Generated from _config.yml by tools/sync_setup_cells.py: do not edit by hand.
import importlib, os, subprocess, sys

IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:
    source = os.environ.get(
        "HELPERS_SOURCE",
        "git+{url}@{branch}",
    )
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)
    # let this running Python see the package pip just installed
    importlib.invalidate_caches()
    import helpers, torch

    assert helpers.__version__ == "{version}", (
        f"expected helpers {version}, got {{helpers.__version__}}"
    )
    print(f"helpers {{helpers.__version__}} installed from {{source}}")
    print(
        "GPU:",
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else "none (Runtime > Change runtime type > T4 GPU to use one)",
    )'''


def notebooks() -> list[Path]:
    return course.chapter_notebooks()


def sync(path: Path, source: str, write: bool) -> bool:
    """Make the first code cell of ``path`` the setup cell. Returns True if the file was (or would be) changed."""
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    first = code_cells[0] if code_cells else None
    if first is not None and "colab-setup" in first.metadata.get("tags", []):
        if (
            first.source == source
            and first.metadata.get("tags") == SETUP_TAGS
            and first.metadata.get("cellView") == "form"
        ):
            return False
        first.source = source
        first.metadata["tags"] = SETUP_TAGS
        first.metadata["cellView"] = "form"  # Colab shows the title and folds the code
    else:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": SETUP_TAGS, "cellView": "form"})
        index = nb.cells.index(first) if first is not None else len(nb.cells)
        nb.cells.insert(index, cell)
    if write:
        nbformat.write(nb, path)
    return True


def drop_editor_metadata(path: Path) -> bool:
    """Remove cell metadata that editors add and the book does not use (jupytext's lines_to_next_cell)."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if "lines_to_next_cell" in cell.metadata:
            del cell.metadata["lines_to_next_cell"]
            changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    args = parser.parse_args()
    source = setup_source(*repository(), helpers_version())
    if not args.check:
        for p in notebooks():
            drop_editor_metadata(p)
    stale = [p for p in notebooks() if sync(p, source, write=not args.check)]
    for p in stale:
        print(f"{'out of date' if args.check else 'updated'}: {p.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
