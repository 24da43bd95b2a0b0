"""A headless Chromium driven over the Chrome DevTools Protocol, and a local HTTP server for a built site.

Used by ``tools.site.checks`` (the page checks) and ``tests/integration/test_site.py``. The browser never
reaches the network: every host except 127.0.0.1 is unresolvable, so a check behaves the same offline and
online. Needs the ``websocket-client`` package and a Chromium or Chrome executable.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

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


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``site`` on 127.0.0.1 (a free port) from a daemon thread. Returns (server, base URL ending in /)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


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

    def viewport(self, width: int, height: int = 900, mobile: bool = False) -> None:
        """Resize the page: ``width`` x ``height`` CSS pixels; ``mobile`` emulates a phone (touch, meta viewport)."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def javascript(self, enabled: bool) -> None:
        """Switch the page's scripts on or off (from the next navigation on)."""
        self.send("Emulation.setScriptExecutionDisabled", value=not enabled)

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

    def click(self, selector: str, index: int = 0) -> bool:
        """Click (a real mouse press and release) the middle of the ``index``-th element matching ``selector``.

        Returns False when there is no such element or it is not visible."""
        where = (
            f"(() => {{ const e = document.querySelectorAll({json.dumps(selector)})[{index}];"
            " if (!e) return null; e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return r.width && r.height ? {x: r.x + r.width / 2, y: r.y + r.height / 2} : null; })()"
        )
        box = self.evaluate(where)
        if not box:  # a lazily loaded image has no size until it is scrolled to and loaded
            self.pump(0.5)
            box = self.evaluate(where)
        if not box:
            return False
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1
            )
        self.pump(0.2)
        return True

    def screenshot(self, path: Path) -> Path:
        """Save what the viewport shows as a PNG file at ``path``; returns ``path``."""
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
