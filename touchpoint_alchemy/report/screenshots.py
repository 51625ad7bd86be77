"""Screenshots of a built journey report at 1280x800, for the docs (``make screenshots``).

Usage: ``python -m touchpoint_alchemy.report.screenshots [--report PATH] [--out docs/img]``.
The report defaults to the one ``make run`` writes beside the warehouse. Needs the dev
dependency playwright and the system chromium (``make browser``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from touchpoint_alchemy.report.browser import VIEWPORT, launch
from touchpoint_alchemy.report.files import default_report_path
from touchpoint_alchemy.settings import REPO_ROOT, Settings

#: file name -> element to scroll to the top of the viewport (None: the top of the page)
SHOTS = {
    "journey_report_header.png": None,
    "journey_report_funnel.png": "#funnel-purchase",
    "journey_report_cohort_retention.png": "#cohort-retention",
    "journey_report_attribution.png": "#attribution",
    "journey_report_hour_weekday.png": "#hour-weekday",
}
#: JavaScript: true once every plotly chart of the page has been drawn
CHARTS_DRAWN = (
    "() => [...document.querySelectorAll('.js-plotly-plot')]"
    ".every(d => d._fullLayout && d.querySelector('svg.main-svg'))"
)


def open_report(browser: object, report: Path) -> object:
    """A 1280x800 page with ``report`` loaded and every chart drawn."""
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[attr-defined]
    page.goto(report.resolve().as_uri(), wait_until="load")
    page.wait_for_function(CHARTS_DRAWN, timeout=30_000)
    return page


def take_screenshots(
    report: Path, out_dir: Path, shots: dict[str, str | None] = SHOTS
) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = open_report(browser, report)
            for name, selector in shots.items():
                if selector is None:
                    page.evaluate("() => window.scrollTo(0, 0)")
                else:
                    page.evaluate(
                        "(s) => document.querySelector(s).scrollIntoView({block: 'start'})",
                        selector,
                    )
                page.wait_for_timeout(200)
                path = out_dir / name
                page.screenshot(path=str(path))
                written.append(path)
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--report", type=Path, default=default_report_path(Settings.from_env().warehouse_path)
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    if not args.report.exists():
        parser.error(f"no report at {args.report}: run `make run` first")
    for path in take_screenshots(args.report, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
