"""Headless Chromium for the report's browser test and screenshots: the system's chromium
(Debian package ``chromium``), driven by playwright, which never downloads a browser of its own.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

#: flags for a quiet, offline, sandbox-free headless run (containers run as root)
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1280, "height": 800}


class ChromiumNotFoundError(RuntimeError):
    pass


def chromium_path() -> Path:
    """``$CHROMIUM_PATH``, else /usr/bin/chromium, else chromium on PATH."""
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise ChromiumNotFoundError(
        "Chromium not found (looked at $CHROMIUM_PATH, /usr/bin/chromium and PATH). "
        "Install it with `make browser` (apt-get install -y --no-install-recommends chromium)."
    )


def launch(playwright: Any) -> Any:
    """A headless Chromium browser from a started ``sync_playwright()``."""
    # playwright must never fetch a browser: it is told where the system one is.
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    return playwright.chromium.launch(
        executable_path=str(chromium_path()), headless=True, args=list(CHROMIUM_ARGS)
    )
