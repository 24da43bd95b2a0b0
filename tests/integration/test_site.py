"""The built website, checked in a real browser (headless Chromium; see tools/site/check_site.py for the checks).

The site is taken from $COURSE_SITE_DIR (default: _build/html), so build it first:
    jupyter-book build . -W -n --keep-going
Without a built site or without Chromium these tests skip locally; with the environment variable CI set
(CI=true, as on GitHub Actions and in .ci/run) they fail instead, because CI installs both.
Screenshots (landing page, a chapter, an exercise with its solution open, a quiz after a click, a figure; light,
dark and phone) are saved in <site>/../screenshots/, and the list of tolerated failures (CDN scripts that
cannot load offline) and of code lines longer than the code column in <site>/../site_check.txt.

The quiz is also tested outside the website: quiz()'s outputs are put into a page the way Colab and JupyterLab
show a cell's outputs (HTML set as innerHTML, JavaScript run as a function), without the built site.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tools.course import ROOT
from tools.site.browser import Browser, find_chromium, serve
from tools.site.checks import (
    CODE_COLUMN,
    DESKTOP,
    SiteChecker,
    colab_url,
    pages,
    search_term,
    take_screenshots,
)

SITE = Path(os.environ.get("COURSE_SITE_DIR", ROOT / "_build" / "html")).resolve()
HAVE_SITE = (SITE / "index.html").is_file()
PAGES = pages(SITE) if HAVE_SITE else []
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
_tolerated: dict[str, list[str]] = {}
_long_lines: dict[str, list[str]] = {}


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
    yield from _browser()


def _browser():
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
    if _tolerated or _long_lines:
        lines = ["Tolerated: external resources that cannot load offline"]
        lines += [f"{page}: {line}" for page, found in sorted(_tolerated.items()) for line in found]
        lines += [f"Code lines longer than {CODE_COLUMN} characters (they wrap on the page; shorten them)"]
        lines += [f"{page}: {line}" for page, found in sorted(_long_lines.items()) for line in found]
        (site.parent / "site_check.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


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


def test_the_landing_page_leads_to_chapter_1(site):
    """Both ways on from the landing page go to Chapter 1: the button and the footer's "Next" link."""
    html = (site / "intro.html").read_text(encoding="utf-8")
    assert "Start with Chapter 1" in html
    nexts = re.findall(
        r'<a[^>]*class="right-next"[^>]*href="([^"]+)"|<a[^>]*href="([^"]+)"[^>]*class="right-next"', html
    )
    assert [a or b for a, b in nexts] == ["chapters/01_tensors.html"], nexts


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
    expected = {
        f"{what}-{mode}.png"
        for what in ("landing", "chapter", "quiz", "solution", "figure")
        for mode in ("light", "dark", "phone")
    }
    assert expected <= names, sorted(expected - names)

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


# ---------------------------------------------------------------------------------------------- quizzes


def _quiz_outputs(question_id: str) -> list[tuple[str, str]]:
    """quiz()'s outputs as (mime type, data), in display order."""
    from helpers.course import quiz as quiz_module

    shown: list = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(quiz_module, "display", shown.append)
        patch.setattr("jupyterquiz.dynamic.display.display", shown.append)
        quiz_module.quiz(question_id)
    kinds = {"HTML": "text/html", "Javascript": "application/javascript"}
    return [(kinds[type(o).__name__], o.data) for o in shown]


_FRONT_END = """<!doctype html><html><head><meta charset="utf-8"><title>outputs</title></head><body>
<div id="outputs"></div>
<script>
// What JupyterLab and Colab do with a cell's outputs: HTML goes in with innerHTML (its scripts do not run),
// JavaScript is run as a function, one output after the other.
const outputs = %s;
for (const [mime, data] of outputs) {
  const area = document.createElement("div");
  document.getElementById("outputs").appendChild(area);
  if (mime === "text/html") area.innerHTML = data;
  else new Function("element", data)(area);
}
</script></body></html>"""


def test_quiz_works_in_a_notebook_front_end(browser, tmp_path):
    """Colab and JupyterLab show quiz()'s outputs without the website: the quiz must answer there too."""
    import json

    (tmp_path / "quiz.html").write_text(_FRONT_END % json.dumps(_quiz_outputs("q-4.3")), encoding="utf-8")
    server, base = serve(tmp_path)
    try:
        browser.open(base + "quiz.html")
        state = "(f => f.className + ' | ' + f.textContent)(document.querySelector('.Quiz .Feedback'))"
        assert browser.evaluate("document.querySelectorAll('.Quiz label.MCButton').length") == 4
        assert (
            browser.evaluate("getComputedStyle(document.querySelector('.course-quiz-fallback')).display")
            == "none"
        )
        assert browser.click('.Quiz label.MCButton[data-correct="false"]')
        wrong = browser.evaluate(state)
        assert "incorrect" in wrong and "Not this one." in wrong, wrong
        assert browser.click('.Quiz label.MCButton[data-correct="true"]')
        right = browser.evaluate(state)
        assert "correct" in right and "incorrect" not in right and "Right!" in right, right
        assert browser.evaluate("document.querySelector('.Quiz code') !== null"), "backticks became <code>"
        errors = [e for e in browser.events if e["method"] == "Runtime.exceptionThrown"]
        assert not errors, errors
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("page", CHAPTERS or ["(no built site)"])
def test_quizzes_answer_on_the_site(checker, page):
    """Click a wrong and then the right option of the page's first quiz: each shows its own feedback."""
    report = checker.try_quiz(page)
    before = report.before
    assert before["quizzes"] >= 1 and before["quizzes"] == before["fallbacks"], before
    assert before["fallbacks_visible"] == 0, "the no-JavaScript fallback shows next to the working quiz"
    assert report.after_wrong and report.after_right, "could not click the quiz's options"
    wrong = [f for f in report.after_wrong["feedback"] if f["text"]]
    assert (
        len(wrong) == 1
        and "incorrect" in wrong[0]["classes"]
        and wrong[0]["text"].startswith("Not this one.")
    )
    right = [f for f in report.after_right["feedback"] if f["text"]]
    assert (
        len(right) == 1 and "incorrect" not in right[0]["classes"] and right[0]["text"].startswith("Right!")
    )
    assert right[0]["text"] != wrong[0]["text"]


def test_quiz_fallback_without_javascript(checker, browser):
    """Without JavaScript, a quiz is its question, lettered options and a collapsed answer."""
    page = CHAPTERS[0]
    browser.javascript(False)
    try:
        browser.open(checker.base + page)
        found = browser.evaluate(
            "(() => { const f = document.querySelector('.course-quiz-fallback');"
            " return f && {visible: f.offsetParent !== null, options: f.querySelectorAll('ol li').length,"
            " answer: !!f.querySelector('details:not([open]) summary'),"
            " quizzes: document.querySelectorAll('.Quiz').length}; })()"
        )
    finally:
        browser.javascript(True)
    assert found and found["visible"] and found["options"] >= 2 and found["answer"], found
    assert found["quizzes"] == 0


# ---------------------------------------------------------------------------------------------- layout


# Figures still drawn wider than the text column (688 px at 1280 px and wider), so their text falls below the
# threshold: each needs its drawing code changed by the owner named here. Keep this list short.
WIDE_FIGURES = {
    "fig-8-12da3126": "Chapter 8's workflow diagram (lesson cell): redraw at <= 8.6 in, labels clear of arrows",
    "fig-8-872092f6": "helpers.plotting.plot_history draws 9 in wide: <= 8.6 in (helpers owner)",
}


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p not in ("search.html", "genindex.html")] or ["(none)"]
)
def test_code_fits_figures_are_legible_errors_are_short(checker, page):
    """At 1280 px: no code block overflows its column, and a line of 88 characters fits without wrapping;
    every figure is shown at >= MIN_FIGURE_SCALE of its design width (SVG text >= 9 px); no error output
    is taller than a short box."""
    layout = checker.layout(page)
    _long_lines[page] = [f"{b['longest']} chars: {b['text'].strip()[:100]}" for b in layout["long_lines"]]
    problems = checker.layout_problems(page, wide_figures=WIDE_FIGURES)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_figures_have_captions_alt_text_and_enlarge(checker, browser):
    """Notebook figures carry a numbered caption (a cell that draws several figures: alt text only) and real
    alt text, and a click shows them larger."""
    missing = []
    for page in CHAPTERS:
        for fig in checker.layout(page)["figures"]:
            name = fig["src"].rsplit("/", 1)[-1]
            if fig["single"] and not re.match(r"Fig(ure)?\.? ?\d", fig["caption"]):
                missing.append(f"{page}: {name}: no numbered caption ({fig['caption'][:40]!r})")
            if len(fig["alt"]) < 15 or re.fullmatch(r"[0-9a-f]{16,}\S*", fig["alt"]):
                missing.append(f"{page}: {name}: alt text {fig['alt'][:40]!r}")
    assert not missing, "\n".join(missing)
    page = next(p for p in CHAPTERS if checker.layout(p)["figures"])
    browser.open(checker.base + page)
    assert browser.click("figure img.course-enlargeable")
    state = browser.evaluate(
        "(() => { const box = document.querySelector('.course-lightbox'); const img = box.querySelector('img');"
        " return {open: !box.hidden, width: img.getBoundingClientRect().width,"
        " inline: document.querySelector('figure img.course-enlargeable').getBoundingClientRect().width}; })()"
    )
    assert state["open"] and state["width"] > state["inline"], state
    browser.send(
        "Input.dispatchKeyEvent", type="keyDown", key="Escape", code="Escape", windowsVirtualKeyCode=27
    )
    browser.pump(0.2)
    assert browser.evaluate("document.querySelector('.course-lightbox').hidden")


def test_exercises_can_be_jumped_between_and_solution_titles_open_solutions(checker, browser):
    page = CHAPTERS[0]
    browser.open(checker.base + page)
    nav = browser.evaluate(
        "({list: document.querySelectorAll('#course-exercise-list li a').length,"
        " exercises: document.querySelectorAll('article div.exercise').length,"
        " bars: document.querySelectorAll('.course-exercise-nav').length})"
    )
    assert nav["list"] >= 2 and nav["list"] == nav["exercises"] == nav["bars"], nav
    before = browser.evaluate("window.scrollY")
    link = "div.solution .admonition-title a, div.solution summary a"
    if browser.click(link):
        after = browser.evaluate(
            "({y: window.scrollY, hash: location.hash,"
            " open: (() => { const s = document.querySelector('div.solution');"
            " return !s.classList.contains('toggle-hidden') && s.offsetHeight > 80; })()})"
        )
        assert after["hash"] == "" and after["open"], (before, after)


def test_website_shows_no_colab_form_titles(checker, browser):
    """Colab's '# @title ... (double-click to show)' lines are for Colab: the website hides them."""
    for page in CHAPTERS:
        browser.open(checker.base + page)
        text = browser.evaluate(
            "[...document.querySelectorAll('.cell_input pre')].map(p => p.textContent).join('\\n')"
        )
        assert "# @title" not in text and "double-click to show" not in text, page


@pytest.mark.parametrize("width", [1920, DESKTOP, 390])
def test_one_search_field(checker, browser, width):
    """The sidebar's search field (or, on a phone, the top bar's search icon): never two of them."""
    browser.viewport(width, 900, mobile=width < 500)
    try:
        browser.open(checker.base + (CHAPTERS[0] if CHAPTERS else "intro.html"))
        visible = browser.evaluate(
            "[...document.querySelectorAll('.search-button-field, .search-button')]"
            ".filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0).length"
        )
    finally:
        browser.viewport(DESKTOP)
    assert visible == 1, f"{visible} search fields at {width} px"


def test_printed_code_wraps(checker, browser):
    """Printing (to paper or PDF) clips what overflows: in print media every code block wraps instead."""
    page = next((p for p in CHAPTERS if p.startswith("chapters/04")), CHAPTERS[0])
    browser.open(checker.base + page)
    browser.send("Emulation.setEmulatedMedia", media="print")
    try:
        cut = browser.evaluate(
            "[...document.querySelectorAll('article pre')].filter(p => p.offsetParent !== null"
            " && p.scrollWidth > p.clientWidth + 1).length"
        )
    finally:
        browser.send("Emulation.setEmulatedMedia", media="")
    assert cut == 0, f"{cut} code blocks of {page} would lose text when printed"
