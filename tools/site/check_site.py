"""Check the built website in a real browser (headless Chromium, driven over the Chrome DevTools Protocol).

    python -m tools.site.check_site [SITE_DIR] [--screenshots DIR]    # SITE_DIR defaults to _build/html

The browser and the HTTP server live in ``tools.site.browser``, the checks in ``tools.site.checks``; this is
the command line. Exit status 1 if anything is wrong. ``tests/integration/test_site.py`` runs the same checks
and also proves, on a deliberately broken copy of the site, that each kind of breakage is reported.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tools.course import ROOT
from tools.site.browser import Browser, find_chromium
from tools.site.checks import SiteChecker, pages, search_term, take_screenshots


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "site", nargs="?", default=os.environ.get("COURSE_SITE_DIR", str(ROOT / "_build" / "html"))
    )
    parser.add_argument(
        "--screenshots", type=Path, help="also save screenshots (landing, chapter, quiz, figure)"
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


if __name__ == "__main__":
    sys.exit(main())
