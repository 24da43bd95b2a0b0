"""The checks of the built website, page by page, in a real browser (see ``tools.site.browser``).

For every page: it loads without JavaScript errors from our own files, has a title, its images load, every
local link and resource exists (anchors included), no stray kernel warnings appear in cell outputs, and each
notebook page has a Colab link (derived from ``_config.yml``) and a download link for its ``.ipynb``.
Scripts from CDNs (MathJax, widget managers) cannot load in the offline browser; those failures are listed as
"tolerated", never as errors. The search page must return results.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from tools import course
from tools.course import ROOT
from tools.site.browser import Browser, BrowserError, serve

STRAY_OUTPUT = re.compile(
    r"\[IPKernelApp\]|Kernel is running over TCP|\b(FutureWarning|DeprecationWarning)\b"
)
_URL_IN_TEXT = re.compile(r"https?://[^\s'\"()]+")
CODE_COLUMN = (
    88  # characters a code line may have (chapters/ruff.toml); such a line fits unwrapped at DESKTOP
)
DESKTOP, PHONE = 1280, 390  # CSS pixels: the width the layout checks run at, and a phone's
# displayed / design width of a figure: matplotlib's "small" text (8.3 pt = 11.6 px at 100 dpi) stays >= 9 px
MIN_FIGURE_SCALE = 0.78
MIN_SVG_TEXT_PX = 9.0  # the smallest text of an SVG image (the course map), as displayed at DESKTOP width
MAX_TRACEBACK_PX = 420  # an error output taller than this must scroll inside its own box


def pages(site: Path) -> list[str]:
    """Every HTML page of the site (paths relative to it), except theme templates and redirect stubs."""
    found = []
    for path in sorted(site.rglob("*.html")):
        rel = path.relative_to(site).as_posix()
        if rel.startswith(("_static/", "_sources/", "_images/")):
            continue
        if re.search(r'http-equiv="refresh"', path.read_text(encoding="utf-8", errors="ignore")[:2000], re.I):
            continue  # index.html is a redirect to the root page; its target is checked as a page
        found.append(rel)
    return found


def colab_url(notebook: str, config_path: Path = ROOT / "_config.yml") -> str:
    """The Colab URL of ``notebook`` (a path like "chapters/01_tensors.ipynb"), from _config.yml's repository.

    Colab opens the learner notebook, on the notebooks branch (``tools.course.notebooks_branch``)."""
    url, _, path_to_book = course.repository(config_path)
    branch = course.notebooks_branch(config_path)
    owner, name = urlparse(url).path.strip("/").removesuffix(".git").split("/")[:2]
    launch = course.book_config(config_path).get("launch_buttons") or {}
    colab = launch.get("colab_url", "https://colab.research.google.com").rstrip("/")
    path = "/".join(p for p in (path_to_book, notebook) if p)
    return f"{colab}/github/{owner}/{name}/blob/{branch}/{path}"


def search_term(site: Path) -> str:
    """ "autograd" once a page mentions it (Chapter 2 onwards), before that a term Chapter 1 teaches."""
    index = (site / "searchindex.js").read_text(encoding="utf-8", errors="ignore")
    return "autograd" if re.search(r'"autograd"\s*:', index) else "broadcasting"


# ---------------------------------------------------------------------------------------------- the checks

_COLLECT = r"""
(async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.race([
    Promise.all(images.map(img => img.complete ? null : new Promise(ok => { img.onload = img.onerror = ok; }))),
    new Promise(ok => setTimeout(ok, 5000)),
  ]);
  const h1 = document.querySelector("main h1") || document.querySelector("h1");
  return {
    url: location.href,
    title: document.title,
    h1: h1 ? h1.textContent.replace(/[#¶]/g, "").trim() : "",
    theme: document.documentElement.dataset.theme || "",
    images: images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth})),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    resources: [...document.querySelectorAll("link[href]")].map(l => l.href)
      .concat([...document.querySelectorAll("script[src]")].map(s => s.src)),
    ids: [...document.querySelectorAll("[id]")].map(e => e.id).concat(
      [...document.querySelectorAll("a[name]")].map(a => a.name)),
    outputs: [...document.querySelectorAll(".cell_output")].map(o => o.textContent),
    colab: [...document.querySelectorAll('a[href*="colab.research.google.com"]')].map(a => a.href),
    downloads: [...document.querySelectorAll('a[href$=".ipynb"]')].map(a => a.href),
  };
})()
"""


@dataclass
class PageReport:
    page: str
    errors: list[str] = field(default_factory=list)  # what is wrong, one line each
    tolerated: list[str] = field(default_factory=list)  # failures of external (CDN) resources, offline
    info: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class SiteChecker:
    """Serves ``site`` and checks its pages in ``browser``."""

    def __init__(self, site: Path, browser: Browser, config_path: Path = ROOT / "_config.yml"):
        self.site, self.browser, self.config_path = Path(site), browser, config_path
        self.server, self.base = serve(self.site)
        self._ids: dict[Path, set[str]] = {}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- helpers
    def _local(self, url: str) -> bool:
        return url.startswith(self.base)

    def _file(self, url: str) -> Path:
        path = unquote(urlparse(url).path).lstrip("/")
        target = self.site / path
        return target / "index.html" if (not path or path.endswith("/") or target.is_dir()) else target

    def _ids_in(self, path: Path) -> set[str]:
        if path not in self._ids:
            text = path.read_text(encoding="utf-8", errors="ignore")
            self._ids[path] = set(re.findall(r'\s(?:id|name)="([^"]+)"', text))
        return self._ids[path]

    def _is_ours(self, source: str, message: str) -> bool:
        """An error is ours if it comes from a file we serve and is not about an external resource."""
        if source and not self._local(source):
            return False
        return not any(not self._local(u) for u in _URL_IN_TEXT.findall(message))

    # -- one page
    def check_page(self, page: str, dark: bool = False) -> PageReport:
        report = PageReport(page)
        try:
            self.browser.open(self.base + page, dark=dark)
            data = self.browser.evaluate(_COLLECT)
        except BrowserError as err:
            report.errors.append(str(err))
            return report
        report.info = data
        self._javascript_and_network(report)
        if not data["title"].strip() or "<no title>" in data["title"]:
            report.errors.append(f"no page title (got {data['title']!r})")
        elif data["h1"] and data["h1"] not in data["title"]:
            report.errors.append(f"title {data['title']!r} does not name the page's heading {data['h1']!r}")
        for image in data["images"]:
            if self._local(image["src"]) and not image["width"]:
                report.errors.append(f"image does not load: {image['src'][len(self.base) :]}")
        for url in data["links"] + data["resources"]:
            problem = self._dead(url, data)
            if problem:
                report.errors.append(problem)
        for text in data["outputs"]:
            match = STRAY_OUTPUT.search(text)
            if match:
                line = next(x for x in text.splitlines() if match.group(0) in x)
                report.errors.append(f"stray warning in a cell output: {line.strip()[:160]}")
        self._notebook_buttons(page, data, report)
        return report

    def _javascript_and_network(self, report: PageReport) -> None:
        for event in self.browser.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                frames = (details.get("stackTrace") or {}).get("callFrames") or []
                source = details.get("url") or (frames[0]["url"] if frames else "")
                message = (details.get("exception") or {}).get("description") or details.get("text", "")
                line = (
                    f"JavaScript error in {source or 'inline script'}:{details.get('lineNumber', 0) + 1}: "
                    f"{message.splitlines()[0] if message else ''}"
                )
                (report.errors if self._is_ours(source, message) else report.tolerated).append(line)
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                url = entry.get("url", "")
                line = f"{entry.get('source')}: {entry.get('text', '')} {url}".strip()
                if self._local(url) or (not url and self._is_ours("", entry.get("text", ""))):
                    report.errors.append(line)
                else:
                    report.tolerated.append(line)
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                frames = (params.get("stackTrace") or {}).get("callFrames") or []
                source = frames[0]["url"] if frames else ""
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                line = f"console.error in {source or 'inline script'}: {text[:200]}"
                (report.errors if self._is_ours(source, text) else report.tolerated).append(line)
            elif method == "Network.responseReceived":
                response = params["response"]
                if self._local(response["url"]) and response["status"] >= 400:
                    report.errors.append(f"HTTP {response['status']} for {response['url'][len(self.base) :]}")

    def _dead(self, url: str, data: dict) -> str | None:
        """Why a local link is dead (missing file or missing anchor), or None."""
        if not self._local(url):
            return None
        parsed = urlparse(url)
        target = self._file(url)
        if not target.is_file():
            return f"dead link: {url[len(self.base) :]} (no file {target.relative_to(self.site).as_posix()})"
        fragment = unquote(parsed.fragment)
        if fragment and target.suffix == ".html":
            same_page = url.split("#")[0] == data["url"].split("#")[0]
            ids = set(data["ids"]) if same_page else self._ids_in(target)
            if fragment not in ids:
                return f"dead anchor: {url[len(self.base) :]} (no id {fragment!r} in {target.name})"
        return None

    def _notebook_buttons(self, page: str, data: dict, report: PageReport) -> None:
        source = self.site / "_sources" / (page.removesuffix(".html") + ".ipynb")
        if not source.is_file():
            return
        notebook = page.removesuffix(".html") + ".ipynb"
        expected = colab_url(notebook, self.config_path)
        if data["colab"] != [expected, expected]:  # the theme's launch button and the "Open in Colab" badge
            report.errors.append(
                f"Colab link is {data['colab']}, expected [{expected!r}] * 2 (button, badge)"
            )
        if not any(self._local(u) and self._file(u) == source for u in data["downloads"]):
            report.errors.append(f"no 'Download .ipynb' link to _sources/{notebook}")

    # -- layout: code that fits, figures that can be read, compact errors
    def layout(self, page: str, width: int = DESKTOP, dark: bool = False) -> dict:
        """Measure ``page`` at ``width`` px with every dropdown open: overflowing code blocks, figure scales,
        traceback heights (see _LAYOUT)."""
        self.browser.viewport(width)
        try:
            self.browser.open(self.base + page, dark=dark)
            self.browser.evaluate(_OPEN_EVERYTHING)
            self.browser.pump(0.2)
            return self.browser.evaluate(_LAYOUT)
        finally:
            self.browser.viewport(DESKTOP)

    def layout_problems(
        self, page: str, width: int = DESKTOP, wide_figures: Collection[str] = ()
    ) -> list[str]:
        """One line per code block that overflows its column (or whose lines of at most CODE_COLUMN characters
        would not fit unwrapped), unreadable figure or over-tall traceback. Longer code lines wrap on a wide
        page (course.css): ``layout(page)["long_lines"]`` lists them, not a problem here. ``wide_figures``: ids
        of figures (their caption's name) not to measure."""
        found = self.layout(page, width)
        problems = [
            f"code overflows its column by {b['hidden_px']} px (longest line {b['longest']} characters): "
            f"{b['text'].strip()[:90]!r}"
            for b in found["overflowing"]
        ]
        problems += [
            f"code of {b['longest']} characters does not fit unwrapped at {width} px (font {b['font_px']:.1f} px): "
            f"the code font is too large for the column: {b['text'].strip()[:90]!r}"
            for b in found["long_lines"]
            if b["longest"] <= CODE_COLUMN
        ]
        for fig in found["figures"]:
            if fig["figure_id"] and fig["figure_id"] in wide_figures:
                continue
            name = fig["figure_id"] or fig["src"].rsplit("/", 1)[-1]
            if fig.get("min_text_px") is not None:
                if fig["min_text_px"] < MIN_SVG_TEXT_PX:
                    problems.append(
                        f"figure {name}: smallest text {fig['min_text_px']:.1f} px < {MIN_SVG_TEXT_PX}"
                    )
            elif fig["scale"] < MIN_FIGURE_SCALE:
                problems.append(
                    f"figure {name} shown at {fig['scale']:.2f} of its design width "
                    f"({fig['shown']:.0f} of {fig['design']:.0f} px; at least {MIN_FIGURE_SCALE})"
                )
        for tb in found["tracebacks"]:
            if tb["height"] > MAX_TRACEBACK_PX:
                problems.append(f"error output {tb['height']:.0f} px tall: {tb['text'][:60]!r}")
        return problems

    # -- quizzes
    def try_quiz(self, page: str) -> QuizReport:
        """Open ``page``, click a wrong and then the right option of its first quiz; what the page showed."""
        self.browser.open(self.base + page)
        report = QuizReport(page, before=self.browser.evaluate(_QUIZ_STATE))
        if report.before["quizzes"]:
            wrong = '.Quiz label.MCButton[data-correct="false"]'
            right = '.Quiz label.MCButton[data-correct="true"]'
            if self.browser.click(wrong):
                report.after_wrong = self.browser.evaluate(_QUIZ_STATE)
            if self.browser.click(right):
                report.after_right = self.browser.evaluate(_QUIZ_STATE)
        return report

    # -- search
    def search(self, term: str, timeout: float = 15) -> list[str]:
        """The result links that the site's own (client-side) search shows for ``term``."""
        self.browser.open(f"{self.base}search.html?q={term}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.browser.evaluate(
                "({links: [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href),"
                " done: !!document.querySelector('#search-results p.search-summary')"
                "   && !document.querySelector('#search-results p.search-summary').textContent.includes('Preparing')})"
            )
            if state["links"] or state["done"]:
                return state["links"]
            time.sleep(0.1)
        return []


_OPEN_EVERYTHING = r"""
(() => {
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach(e => e.classList.remove("toggle-hidden"));
  document.querySelectorAll(".dropdown").forEach(e => { if (e.tagName === "DETAILS") e.open = true; });
  return true;
})()
"""

_LAYOUT = r"""
(async () => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
  const visible = e => e.offsetParent !== null && e.getClientRects().length > 0;
  // Every code block: does it overflow as shown, and would it overflow if it did not wrap?
  const code = [...article.querySelectorAll("pre")].filter(visible).map(pre => {
    const lines = pre.textContent.replace(/\n$/, "").split("\n");
    const longest = lines.reduce((a, b) => b.length > a.length ? b : a, "");
    const shown = pre.scrollWidth - pre.clientWidth;
    const saved = pre.style.whiteSpace;
    pre.style.whiteSpace = "pre";
    const unwrapped = pre.scrollWidth - pre.clientWidth;
    pre.style.whiteSpace = saved;
    return {text: longest.slice(0, 120), longest: longest.length, hidden_px: shown, unwrapped_px: unwrapped,
            output: !!pre.closest(".cell_output"), font_px: parseFloat(getComputedStyle(pre).fontSize)};
  });
  const overflowing = code.filter(b => b.hidden_px > 1);
  const long_lines = code.filter(b => !b.output && b.unwrapped_px > 1);
  const figures = [];
  for (const img of article.querySelectorAll("img")) {
    if (!visible(img) || !img.naturalWidth) continue;
    const shown = img.getBoundingClientRect().width;
    const output = img.closest(".cell_output");
    const entry = {src: img.currentSrc || img.src, shown: shown, alt: img.alt || "",
                   linked: !!img.closest("a[href]"), caption: "",
                   single: !!output && output.querySelectorAll("img").length === 1};
    const figure = img.closest("figure");
    entry.figure_id = figure ? figure.id : "";
    const caption = figure && figure.querySelector("figcaption");
    if (caption) entry.caption = caption.textContent.trim();
    if (/\.svg(\?|$)/.test(entry.src)) {
      const text = await (await fetch(entry.src)).text();
      const box = (text.match(/viewBox="[\d.\s-]*?\s([\d.]+)\s+[\d.]+"/) || [])[1];
      const sizes = [...text.matchAll(/font-size[=:]\s*"?([\d.]+)/g)].map(m => parseFloat(m[1]));
      entry.design = parseFloat(box || img.naturalWidth);
      entry.min_text_px = sizes.length ? Math.min(...sizes) * shown / entry.design : null;
    } else {
      // myst-nb writes a retina figure's display size as an inline style (width: 547px); else the PNG's size
      entry.design = parseFloat(img.style.width) || parseFloat(img.getAttribute("width")) || img.naturalWidth;
    }
    entry.scale = shown / entry.design;
    figures.push(entry);
  }
  const tracebacks = [...article.querySelectorAll(".cell_output .traceback, .cell_output .output.error")]
    .filter(visible).map(e => ({height: e.getBoundingClientRect().height, text: e.textContent.trim().slice(0, 80)}));
  return {overflowing, long_lines, figures, tracebacks};
})()
"""

_QUIZ_STATE = r"""
(() => {
  const quizzes = document.querySelectorAll(".Quiz");
  const fallbacks = [...document.querySelectorAll(".course-quiz-fallback")];
  return {
    quizzes: quizzes.length,
    fallbacks: fallbacks.length,
    fallbacks_visible: fallbacks.filter(e => e.offsetParent !== null).length,
    answers_in_fallback: fallbacks.filter(e => e.querySelector("details")).length,
    feedback: [...document.querySelectorAll(".Quiz .Feedback")].map(f => ({text: f.textContent.trim(),
                                                                          classes: f.className})),
  };
})()
"""


@dataclass
class QuizReport:
    """What a reader sees around the first quiz of a page: before, after a wrong and after a right click."""

    page: str
    before: dict
    after_wrong: dict | None = None
    after_right: dict | None = None


def check_site(site: Path, browser: Browser, page_list: list[str] | None = None) -> list[PageReport]:
    with SiteChecker(site, browser) as checker:
        return [checker.check_page(page) for page in (page_list or pages(site))]


SCREENSHOT_MODES = {
    "light": (DESKTOP, False, False),
    "dark": (DESKTOP, True, False),
    "phone": (PHONE, False, True),
}


def take_screenshots(checker: SiteChecker, folder: Path) -> list[Path]:
    """What a reader sees, in light and dark at DESKTOP width and on a PHONE: the landing page, the first
    chapter's top, its first quiz after a wrong click, its first exercise with the solution open, and its
    first figure. Files: <what>-<mode>.png in ``folder``; returns the paths written."""
    chapters = [p for p in pages(checker.site) if p.startswith("chapters/")]
    landing = "intro.html" if (checker.site / "intro.html").is_file() else pages(checker.site)[0]
    browser, shots = checker.browser, []
    scroll_to = (
        "(sel => { const e = document.querySelector(sel); if (!e) return false;"
        " e.scrollIntoView({block: 'start'}); window.scrollBy(0, -80); return true; })(%s)"
    )
    try:
        for mode, (width, dark, mobile) in SCREENSHOT_MODES.items():
            browser.viewport(width, 900 if not mobile else 844, mobile=mobile)
            browser.open(checker.base + landing, dark=dark, settle=0.5)
            shots.append(browser.screenshot(folder / f"landing-{mode}.png"))
            if not chapters:
                continue
            browser.open(checker.base + chapters[0], dark=dark, settle=0.5)
            shots.append(browser.screenshot(folder / f"chapter-{mode}.png"))
            if browser.click('.Quiz label.MCButton[data-correct="false"]'):
                browser.evaluate(scroll_to % json.dumps(".Quiz"))
                browser.pump(0.2)
                shots.append(browser.screenshot(folder / f"quiz-{mode}.png"))
            if browser.evaluate(scroll_to % json.dumps("div.solution")):
                browser.click("div.solution .admonition-title, div.solution summary")
                browser.evaluate(scroll_to % json.dumps("div.exercise"))
                browser.pump(0.3)
                shots.append(browser.screenshot(folder / f"solution-{mode}.png"))
            if browser.evaluate(scroll_to % json.dumps(".cell_output img")):
                browser.pump(0.3)
                shots.append(browser.screenshot(folder / f"figure-{mode}.png"))
    finally:
        browser.viewport(DESKTOP)
    return shots
