"""The API reference builds in strict mode (any MkDocs or mkdocstrings warning fails it) and opens in
headless Chromium with a page for each library that shows the docstrings of its public functions."""

from __future__ import annotations

import html
import importlib
import importlib.util
import inspect
import re
import subprocess
from pathlib import Path

import pytest

from tests.runtime.browser import dump_dom, find_browser

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("anderson", "stability", "rbno", "attacks", "depth")


def _words(text: str) -> str:
    return " ".join(re.findall(r"[A-Za-z0-9]+", text))


def _plain_function_docline(module_name: str) -> tuple[str, str]:
    """A public function of the module, and the first line of its docstring, picked so that the line
    renders as plain text (no roles or inline code)."""
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        doc = inspect.getdoc(obj) if inspect.isfunction(obj) else None
        if doc and not re.search(r"[`:*\\$|_]", doc.splitlines()[0]) and len(doc.split()) >= 3:
            return name, doc.splitlines()[0]
    pytest.fail(f"{module_name} has no public function with a plain first docstring line")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    mkdocs = ROOT / ".venv" / "bin" / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("mkdocs is not installed in .venv (extra 'docs')")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert proc.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(warnings or [proc.stderr[-3000:]])
    return out


@pytest.mark.timeout(600)
def test_reference_opens_with_every_library_and_its_docstrings(site, tmp_path):
    browser = find_browser()
    index = dump_dom(browser, site / "index.html", tmp_path / "profile")
    assert "<h1" in index.stdout, f"index did not load: {index.stderr[-2000:]}"
    for page in [f"api/{lib}.html" for lib in (*LIBRARIES, "runtime")] + [f"{lib}.html" for lib in LIBRARIES]:
        assert f'href="{page}"' in index.stdout, f"the index does not link {page}"
    for lib in (*LIBRARIES, "runtime"):
        name, line = _plain_function_docline(f"stablelearn.{lib}")
        proc = dump_dom(browser, site / "api" / f"{lib}.html", tmp_path / "profile")
        text = _words(html.unescape(re.sub(r"<[^>]+>", " ", proc.stdout)))
        assert f"stablelearn.{lib}" in proc.stdout, f"api/{lib}.html did not load: {proc.stderr[-2000:]}"
        assert _words(line) in text, f"api/{lib}.html does not show the docstring of {name}: {line!r}"


def test_conventions_and_library_pages_are_in_the_nav():
    text = (ROOT / "mkdocs.yml").read_text()
    for page in ["index.md", "conventions.md", *(f"{lib}.md" for lib in LIBRARIES),
                 *(f"api/{lib}.md" for lib in (*LIBRARIES, "runtime"))]:
        assert page in text and (ROOT / "docs" / page).exists(), page


@pytest.mark.timeout(300)
@pytest.mark.parametrize("lib", (*LIBRARIES, "runtime"))
def test_every_public_name_has_an_entry(site, lib):
    module = importlib.import_module(f"stablelearn.{lib}")
    page = (site / "api" / f"{lib}.html").read_text()
    assert not re.search(r":(func|class|meth|mod|attr|data|exc):", page), "a Sphinx role is shown as it is"
    ids = set(re.findall(r'id="(stablelearn\.[\w.]+)"', page))
    missing = [n for n in module.__all__ if not any(i == f"stablelearn.{lib}.{n}" or i.endswith(f".{n}") for i in ids)]
    assert not missing, (f"docs/api/{lib}.md: no entry for {missing} (a function named like a module of the "
                         "package is hidden by the module: list it there explicitly)")


def test_sphinx_roles_become_inline_code():
    spec = importlib.util.spec_from_file_location("sphinx_roles", ROOT / "docs" / "api" / "sphinx_roles.py")
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    assert roles.plain("see :func:`a.b`, :class:`~numpy.random.Generator` and :ref:`the page <x>`.") == \
        "see `a.b`, `Generator` and `the page`."
