"""Check the built website in a real browser (headless Chromium, driven over the Chrome DevTools Protocol).

    python -m tools.site.check_site [SITE_DIR] [--screenshots DIR]    # SITE_DIR defaults to _build/html

For every page: it loads without JavaScript errors from our own files, has a title, its images load, every
local link and resource exists (anchors included), no stray kernel warnings appear in cell outputs, and each
notebook page has a Colab link (derived from ``_config.yml``) and a download link for its ``.ipynb``.
The search page must return results. Exit status 1 if anything is wrong.

The browser never reaches the network: every host except 127.0.0.1 is unresolvable, so the check is the same
offline and online. Scripts from CDNs (MathJax, widget managers) therefore fail to load; those failures are
listed as "tolerated", never as errors. ``tests/test_site.py`` runs this and also proves, on a deliberately
broken copy of the site, that each kind of breakage is reported.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from tools import course
from tools.course import ROOT

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# the flags the course's CI uses, plus: a DevTools port, and no network except our own server
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
STRAY_OUTPUT = re.compile(
    r"\[IPKernelApp\]|Kernel is running over TCP|\b(FutureWarning|DeprecationWarning)\b"
)
_URL_IN_TEXT = re.compile(r"https?://[^\s'\"()]+")


# ---------------------------------------------------------------------------------------------- the site


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``site`` on 127.0.0.1 (a free port) from a daemon thread. Returns (server, base URL ending in /)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


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


# ---------------------------------------------------------------------------------------------- the browser


def find_chromium() -> str | None:
    """$CHROMIUM (a path or a command name), else the first Chromium/Chrome on PATH, else None."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((shutil.which(n) for n in CHROMIUM_NAMES if shutil.which(n)), None)


class BrowserError(RuntimeError):
    pass


class Browser:
    """A headless Chromium with one tab, driven over the DevTools protocol (needs ``websocket-client``)."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900, timeout: float = 30):
        import websocket  # websocket-client

        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="course-chromium-"))
        self._log = open(self.profile / "chromium.log", "wb")
        self.process = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise BrowserError(f"{executable} did not start; its log:\n{self._read_log()}")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            target = json.load(response)
        self.ws = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True
        )
        self._id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _read_log(self) -> str:
        try:
            return (self.profile / "chromium.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def _receive(self, timeout: float) -> dict | None:
        import websocket

        self.ws.settimeout(max(timeout, 0.01))
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def send(self, method: str, **params) -> dict:
        """Call a DevTools method and return its result; events that arrive meanwhile are kept in ``events``."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = self._receive(deadline - time.monotonic())
            if message is None:
                break
            if message.get("id") == self._id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
        raise BrowserError(f"{method}: no answer within {self.timeout} s")

    def pump(self, seconds: float, until: str | None = None) -> bool:
        """Collect events for ``seconds`` (or until an event named ``until`` arrives: then True)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            message = self._receive(left)
            if message and "method" in message:
                self.events.append(message)
                if message["method"] == until:
                    return True
        return False

    def open(self, url: str, dark: bool = False, settle: float = 0.3) -> None:
        """Navigate to ``url`` (with the system colour scheme light or dark) and wait for the load event."""
        self.events.clear()
        self.send(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}],
        )
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"could not open {url}: {result['errorText']}")
        if not self.pump(self.timeout, until="Page.loadEventFired"):
            raise BrowserError(f"{url} did not finish loading within {self.timeout} s")
        self.pump(settle)  # late errors from deferred and module scripts

    def evaluate(self, expression: str):
        """Evaluate JavaScript in the page (promises are awaited) and return the value as JSON data."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            self._log.close()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "site", nargs="?", default=os.environ.get("COURSE_SITE_DIR", str(ROOT / "_build" / "html"))
    )
    parser.add_argument(
        "--screenshots", type=Path, help="also save screenshots of the landing page and a chapter"
    )
    args = parser.parse_args()
    site = Path(args.site)
    if not (site / "index.html").is_file():
        print(f"no built site in {site}: run `jupyter-book build . -W -n --keep-going` first")
        return 1
    executable = find_chromium()
    if not executable:
        print("no Chromium found: install it (Debian: apt-get install chromium) or set CHROMIUM")
        return 1
    failed = 0
    with Browser(executable) as browser, SiteChecker(site, browser) as checker:
        for page in pages(site):
            report = checker.check_page(page)
            failed += not report.ok
            print(f"{'ok  ' if report.ok else 'FAIL'} {page}")
            for line in report.errors:
                print(f"       error: {line}")
            for line in report.tolerated:
                print(f"       tolerated (external): {line}")
        term = search_term(site)
        hits = checker.search(term)
        print(f"{'ok  ' if hits else 'FAIL'} search for {term!r}: {len(hits)} results")
        failed += not hits
        if args.screenshots:
            for path in take_screenshots(checker, args.screenshots):
                print(f"screenshot: {path}")
    return 1 if failed else 0


def take_screenshots(checker: SiteChecker, folder: Path) -> list[Path]:
    """Landing page and the first chapter, light and dark, plus the chapter's first figure."""
    chapters = [p for p in pages(checker.site) if p.startswith("chapters/")]
    landing = "intro.html" if (checker.site / "intro.html").is_file() else pages(checker.site)[0]
    shots = []
    for mode in ("light", "dark"):
        dark = mode == "dark"
        checker.browser.open(checker.base + landing, dark=dark, settle=0.5)
        shots.append(checker.browser.screenshot(folder / f"landing-{mode}.png"))
        if chapters:
            checker.browser.open(checker.base + chapters[0], dark=dark, settle=0.5)
            shots.append(checker.browser.screenshot(folder / f"chapter-{mode}.png"))
            found = checker.browser.evaluate(
                "(() => { const img = document.querySelector('.cell_output img');"
                " if (!img) return false; img.scrollIntoView({block: 'center'}); return true; })()"
            )
            if found:
                checker.browser.pump(0.3)
                shots.append(checker.browser.screenshot(folder / f"chapter-figure-{mode}.png"))
    return shots


if __name__ == "__main__":
    sys.exit(main())
