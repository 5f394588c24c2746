"""The report opens in headless Chromium with every image decoded (non-zero natural size)."""

import json
import re
import shutil
import subprocess

import pytest

from stablelearn.cli import main
from stablelearn.runtime import register, unregister
from tests.runtime import toy

CHECK = ("<script>window.addEventListener('load', () => {document.body.setAttribute('data-images', "
         "JSON.stringify([...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])));"
         "});</script>")


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (make test installs Debian's chromium where it can)")


def test_report_loads_with_every_image_decoded(tmp_path):
    browser = _browser()
    register(toy.make("toy_a"))
    register(toy.make("toy_b", n=5))
    try:
        out = tmp_path / "run"
        assert main(["reproduce", "toy_a", "toy_b", "--out", str(out)]) == 0
    finally:
        unregister("toy_a")
        unregister("toy_b")
    page = tmp_path / "check.html"
    page.write_text((out / "report.html").read_text().replace("</body>", CHECK + "</body>"))
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
         page.as_uri()], capture_output=True, text=True, timeout=120)
    match = re.search(r'data-images="([^"]*)"', proc.stdout)
    assert match, f"page did not load: {proc.stderr[-2000:]}"
    images = json.loads(match.group(1).replace("&quot;", '"'))
    assert len(images) == 2
    assert all(done and w > 0 and h > 0 for done, w, h in images), images
    assert "claims held / total" in proc.stdout
