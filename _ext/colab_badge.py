"""An "Open in Colab" link at the top of every chapter page (a local Sphinx extension).

The theme's launch button (rocket icon -> Colab) is easy to miss; this adds a labelled link under each chapter
title. Both open the same URL, built from the same settings in ``_config.yml``: the repository URL, the theme's
``repository_branch`` (the learner notebooks' branch, see ``tools.learner_notebooks``), ``path_to_book`` and
``launch_buttons.colab_url``. Pages that are not notebooks get nothing. No image is fetched from elsewhere:
the badge is styled text (``.colab-badge`` in ``_static/course.css`` may restyle it).
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlparse

from docutils import nodes

STYLE = (
    "display:inline-block;margin:0 0 1em;padding:.2em .7em;border-radius:4px;border:1px solid #f9ab00;"
    "font-size:.9em;font-weight:600;text-decoration:none;color:inherit"
)


def colab_url(config, docname: str) -> str | None:
    """The Colab URL of the notebook behind ``docname``, from the theme options jupyter-book derives."""
    options = config.html_theme_options or {}
    repo = str(options.get("repository_url") or "").rstrip("/").removesuffix(".git")
    parts = urlparse(repo).path.strip("/").split("/")
    if "github.com" not in repo or len(parts) < 2:
        return None
    branch = options.get("repository_branch") or "main"
    colab = str((options.get("launch_buttons") or {}).get("colab_url") or "").rstrip("/")
    if not colab:
        return None
    path = "/".join(p for p in (str(options.get("path_to_docs") or "").strip("/"), f"{docname}.ipynb") if p)
    return f"{colab}/github/{parts[0]}/{parts[1]}/blob/{branch}/{path}"


def _add_badge(app, doctree) -> None:
    docname = app.env.docname
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    url = colab_url(app.config, docname)
    section = next(iter(doctree.findall(nodes.section)), None)
    if url is None or section is None or not section.children:
        return
    html = (
        f'<p><a class="colab-badge" href="{escape(url)}" target="_blank" rel="noopener" style="{STYLE}">'
        "Open in Colab</a></p>"
    )
    section.insert(1, nodes.raw("", html, format="html"))  # right under the chapter title


def setup(app):
    app.connect("doctree-read", _add_badge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
