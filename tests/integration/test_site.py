"""The built website, checked in a real browser (headless Chromium; see tools/site/check_site.py for the checks).

The site is taken from $COURSE_SITE_DIR (default: _build/html), so build it first:
    jupyter-book build . -W -n --keep-going
Without a built site or without Chromium these tests skip locally; with the environment variable CI set
(CI=true, as on GitHub Actions and in .ci/run) they fail instead, because CI installs both.
Screenshots of the landing page and the first chapter, light and dark, are saved in <site>/../screenshots/,
and the list of tolerated failures (CDN scripts that cannot load offline) in <site>/../site_check.txt.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tools.course import ROOT
from tools.site.check_site import (
    Browser,
    SiteChecker,
    colab_url,
    find_chromium,
    pages,
    search_term,
    take_screenshots,
)

SITE = Path(os.environ.get("COURSE_SITE_DIR", ROOT / "_build" / "html")).resolve()
HAVE_SITE = (SITE / "index.html").is_file()
PAGES = pages(SITE) if HAVE_SITE else []
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
_tolerated: dict[str, list[str]] = {}


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is an error: CI must build the site and install Chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site() -> Path:
    if not HAVE_SITE:
        _unavailable(
            f"no built site in {SITE}: run `jupyter-book build . -W -n --keep-going` first "
            "(or set COURSE_SITE_DIR)"
        )
    return SITE


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if not executable:
        _unavailable("Chromium not found: install it (Debian: apt-get install chromium) or set CHROMIUM")
    try:
        import websocket  # noqa: F401  (websocket-client, in requirements.txt)
    except ImportError:
        _unavailable("the websocket-client package is not installed (pip install -r requirements.txt)")
    with Browser(executable) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def checker(site, browser):
    with SiteChecker(site, browser) as site_checker:
        yield site_checker
    if _tolerated:
        lines = [f"{page}: {line}" for page, found in sorted(_tolerated.items()) for line in found]
        (site.parent / "site_check.txt").write_text(
            "Tolerated: external resources that cannot load offline\n" + "\n".join(lines) + "\n",
            encoding="utf-8",
        )


@pytest.mark.parametrize("page", PAGES or ["(no built site)"])
def test_page_loads_cleanly(checker, page):
    """No JS errors from our files, a title, images that load, no dead local links or anchors, no HTTP errors,
    no stray kernel warnings; notebook pages have the right Colab link and a download link."""
    report = checker.check_page(page)
    if report.tolerated:
        _tolerated[page] = report.tolerated
        print(f"{page}: tolerated (external, offline):", *report.tolerated, sep="\n  ")
    assert report.ok, f"{page}:\n  " + "\n  ".join(report.errors)


def test_there_are_pages_and_chapters(site):
    assert "intro.html" in PAGES and "search.html" in PAGES and "glossary.html" in PAGES, PAGES
    assert any(p.startswith("chapters/") for p in PAGES), "no chapter pages in the site"


def test_every_chapter_page_links_to_its_notebook_in_colab(checker):
    chapters = [p for p in PAGES if p.startswith("chapters/")]
    for page in chapters:
        report = checker.check_page(page)
        notebook = page.removesuffix(".html") + ".ipynb"
        # the theme's launch button and the "Open in Colab" badge (_ext/colab_badge.py)
        assert report.info.get("colab") == [colab_url(notebook)] * 2, (page, report.info.get("colab"))


@pytest.mark.parametrize("term", [search_term(SITE) if HAVE_SITE else "autograd"])
def test_search_finds(checker, term):
    """Sphinx search runs in the browser: "autograd" once a page mentions it (else a Chapter 1 term)."""
    hits = checker.search(term)
    assert hits, f"the search page shows no results for {term!r}"
    assert all(hit.startswith(checker.base) for hit in hits)


def test_screenshots_light_and_dark(checker, site):
    from PIL import Image, ImageStat

    shots = take_screenshots(checker, site.parent / "screenshots")
    names = {p.name for p in shots}
    assert {"landing-light.png", "landing-dark.png", "chapter-light.png", "chapter-dark.png"} <= names, names

    def brightness(name):
        with Image.open(site.parent / "screenshots" / name) as img:
            return ImageStat.Stat(img.convert("L")).mean[0]

    for page in ("landing", "chapter"):
        assert brightness(f"{page}-dark.png") < 100 < brightness(f"{page}-light.png"), (
            f"{page}: the dark screenshot should be dark and the light one light"
        )


def test_colab_url_is_derived_from_the_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text(
        "repository:\n  url: https://github.com/someone/some-book.git\n  branch: v2\n  path_to_book: book/\n",
        encoding="utf-8",
    )
    assert (
        colab_url("chapters/03_nn.ipynb", config)
        == "https://colab.research.google.com/github/someone/some-book/blob/v2/book/chapters/03_nn.ipynb"
    )


def test_a_broken_site_is_reported(site, browser, tmp_path):
    """Break a copy of the site in five ways and check that the checker reports each one."""
    broken = tmp_path / "html"
    shutil.copytree(site, broken)
    chapter = next(p for p in PAGES if p.startswith("chapters/"))
    chapter_html = (broken / chapter).read_text(encoding="utf-8")
    # 1. a missing image
    image = re.search(r'<img[^>]*src="\.\./(_images/[^"]+)"', chapter_html).group(1)
    (broken / image).unlink()
    # 2. a dead link and a dead anchor, 3. a script of ours with an error, 4. a stray kernel warning,
    # and a CDN script that cannot load (tolerated, not an error)
    (broken / "_static" / "broken.js").write_text("window.courseValue = notDefinedAnywhere();\n")
    additions = (
        '<a href="no-such-page.html">dead</a> <a href="glossary.html#no-such-term">dead anchor</a>'
        '<script src="_static/broken.js"></script>'
        '<script src="https://cdn.example.org/some-library.js"></script>'
        '<div class="cell_output"><pre>[IPKernelApp] WARNING | Kernel is running over TCP</pre></div>'
    )
    intro = broken / "intro.html"
    intro.write_text(
        intro.read_text(encoding="utf-8").replace("</body>", additions + "</body>"), encoding="utf-8"
    )
    # 5. a Colab link to the wrong branch
    expected = colab_url(chapter.removesuffix(".html") + ".ipynb")
    (broken / chapter).write_text(
        chapter_html.replace(expected, expected.replace("/blob/", "/blob/x")), encoding="utf-8"
    )

    with SiteChecker(broken, browser) as broken_checker:
        intro_report = broken_checker.check_page("intro.html")
        chapter_report = broken_checker.check_page(chapter)
    intro_errors, chapter_errors = "\n".join(intro_report.errors), "\n".join(chapter_report.errors)
    assert "dead link: no-such-page.html" in intro_errors
    assert "dead anchor: glossary.html#no-such-term" in intro_errors
    assert re.search(r"JavaScript error in \S*_static/broken\.js.*notDefinedAnywhere", intro_errors), (
        intro_errors
    )
    assert "stray warning in a cell output: [IPKernelApp]" in intro_errors
    assert any("cdn.example.org" in line for line in intro_report.tolerated), intro_report.tolerated
    assert not any("cdn.example.org" in line for line in intro_report.errors)
    assert f"image does not load: {image}" in chapter_errors
    assert "Colab link is" in chapter_errors
