"""Headless Chromium for the tests that open generated HTML (the run report, the API reference)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def find_browser() -> str:
    """The path of a Chromium binary; skips the calling test, with the reason, when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (make test installs Debian's chromium where it can)")


def dump_dom(browser: str, page: Path, profile: Path, budget_ms: int = 5000) -> subprocess.CompletedProcess:
    """Load ``page`` in headless Chromium (no network, a throw-away profile) and return the run, whose
    stdout is the DOM after the page's scripts ran."""
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
