"""The report opens in headless Chromium with every image decoded (non-zero natural size)."""

import json
import re

from stablelearn.cli import main
from stablelearn.runtime import register, unregister
from tests.runtime import toy
from tests.runtime.browser import dump_dom, find_browser

CHECK = ("<script>window.addEventListener('load', () => {document.body.setAttribute('data-images', "
         "JSON.stringify([...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])));"
         "});</script>")


def test_report_loads_with_every_image_decoded(tmp_path):
    browser = find_browser()
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
    proc = dump_dom(browser, page, tmp_path / "profile")
    match = re.search(r'data-images="([^"]*)"', proc.stdout)
    assert match, f"page did not load: {proc.stderr[-2000:]}"
    images = json.loads(match.group(1).replace("&quot;", '"'))
    assert len(images) == 2
    assert all(done and w > 0 and h > 0 for done, w, h in images), images
    assert "claims held / total" in proc.stdout
