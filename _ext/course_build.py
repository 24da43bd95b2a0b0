"""Build-time settings for the kernels that execute the chapters (a local Sphinx extension).

Loaded through ``sphinx.local_extensions`` in ``_config.yml``, so a plain ``jupyter-book build .`` gets it.
myst-nb runs every notebook in a fresh IPython kernel that inherits this process's environment. Before
any notebook runs, we point ``IPYTHONDIR`` at a temporary IPython profile whose kernel configuration

* draws matplotlib figures as "retina" PNGs (twice the pixels, displayed at the normal size), so figures
  stay crisp on high-density screens without a ``%config`` line in every notebook;
* logs only errors from the kernel application, which removes ipykernel's start-up warning
  "[IPKernelApp] WARNING | Kernel is running over TCP without encryption" from the build log.

Learners' own Jupyter/Colab sessions are not affected: this runs only inside the book build.

On the website, the first line of a code cell that is Colab's form title (``# @title Solution to exercise 1.1
(double-click to show)``) is dropped: it is an instruction for Colab, meaningless on a page where the
solution is a dropdown. The notebooks keep it.

MyST substitutions (``{{ repository_url }}``, from ``parse.myst_substitutions`` in ``_config.yml``) are also
filled in inside fenced code blocks of Markdown pages, where MyST leaves them alone, so that a command such as
``git clone {{ repository_url }}`` on the setup page can be copied and pasted as shown.

It also removes duplicated inline scripts from every page. Sphinx 7.4 adds an inline script that an extension
registers after the builder starts (sphinx-thebe's ``const THEBE_JS_URL = ...``, sphinx-togglebutton's selector)
twice, once with ``filename=None`` and once with ``filename=''``; the second ``const`` is a JavaScript
SyntaxError on every page (found by ``tests/test_site.py``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

KERNEL_CONFIG = """\
# Written by _ext/course_build.py for the book build only.
c.InlineBackend.figure_formats = {"retina"}
c.IPKernelApp.log_level = "ERROR"
"""


def _ipython_dir() -> Path:
    """A fresh IPython directory holding only the build's kernel configuration."""
    root = Path(tempfile.mkdtemp(prefix="course-ipython-"))
    profile = root / "profile_default"
    profile.mkdir()
    (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG, encoding="utf-8")
    return root


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return (
        getattr(script, "filename", script) or "",
        getattr(script, "priority", 0),
        tuple(sorted((k, str(v)) for k, v in attributes.items())),
    )


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # the same list object the page template renders


def _drop_colab_titles(app, doctree) -> None:
    """Remove a leading ``# @title ...`` line from every code cell's source shown on the page."""
    from docutils import nodes

    for container in doctree.findall(nodes.container):
        if "cell_input" not in container.get("classes", []):
            continue
        for block in container.findall(nodes.literal_block):
            text = block.astext()
            first, _, rest = text.partition("\n")
            if first.lstrip().startswith("# @title"):
                block.children = [nodes.Text(rest)]
                block.rawsource = rest


_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_SUBSTITUTION = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _substitute_in_code_fences(app, docname, source) -> None:
    """Fill ``{{ name }}`` inside fenced code blocks with ``myst_substitutions[name]`` (Markdown pages only)."""
    if not str(app.env.doc2path(docname)).endswith(".md"):
        return
    values = getattr(app.config, "myst_substitutions", {}) or {}

    def fill(fence: re.Match) -> str:
        return _SUBSTITUTION.sub(lambda m: str(values.get(m.group(1), m.group(0))), fence.group(0))

    source[0] = _FENCE.sub(fill, source[0])


def setup(app):
    app.connect("source-read", _substitute_in_code_fences)
    app.connect("html-page-context", _drop_duplicate_scripts)
    app.connect("doctree-read", _drop_colab_titles)
    ipython_dir = _ipython_dir()
    os.environ["IPYTHONDIR"] = str(ipython_dir)
    app.connect("build-finished", lambda app, exc: shutil.rmtree(ipython_dir, ignore_errors=True))
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
