"""Docs that cannot rot: every ```python block of README.md and docs/*.md runs as a standalone script.

Each block is written to a temporary folder and run there with the project's interpreter
(``python example.py``, cwd the temporary folder, ``MPLBACKEND=Agg``, ``OMP_NUM_THREADS=1``); it must
exit 0 and print something. ```bash and ```text blocks are not run. One test per block, with an id such
as ``docs/anderson.md:L42`` (the line of the opening fence), so pytest-xdist spreads them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT = 120  # seconds per block; the docs promise well under 30 s on one core
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")


def code_blocks(path: Path) -> list[tuple[int, str, str]]:
    """``(line of the opening fence, language, code)`` of every fenced block of a Markdown file."""
    blocks, lines, i = [], path.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, fence, body = i + 1, m["fence"], []
        i += 1
        close = re.compile(rf"\s*{re.escape(fence[0])}{{{len(fence)},}}\s*")
        while i < len(lines) and not close.fullmatch(lines[i]):
            body.append(lines[i])
            i += 1
        blocks.append((start, m["lang"].lower(), textwrap.dedent("\n".join(body)) + "\n"))
        i += 1
    return blocks


def _python_blocks() -> list:
    params = []
    for page in PAGES:
        name = page.relative_to(ROOT).as_posix()
        for line, lang, code in code_blocks(page):
            if lang in ("python", "py"):
                params.append(pytest.param(code, id=f"{name}:L{line}"))
    return params


def _interpreter() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


@pytest.mark.timeout(TIMEOUT + 30)
@pytest.mark.parametrize("code", _python_blocks())
def test_python_block_runs_as_a_script(code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)  # the installed package, as a user has it
    try:
        proc = subprocess.run([_interpreter(), script.name], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the block ran longer than {TIMEOUT} s")
    if proc.returncode != 0:
        pytest.fail(f"the block exited {proc.returncode}:\n{proc.stderr[-3000:]}", pytrace=False)
    assert proc.stdout.strip(), "the block printed nothing; an example shows what it computes"


def test_blocks_are_found():
    ids = [p.id for p in _python_blocks()]
    assert any(i.startswith("docs/conventions.md:") for i in ids)
    assert len(ids) == len(set(ids))


def test_fences_are_parsed(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n```python\nprint(1)\n```\n\n- item\n\n  ```bash\n  make\n  ```\n"
                    "````python\n```text\nx\n```\n````\n")
    assert code_blocks(page) == [(2, "python", "print(1)\n"), (8, "bash", "make\n"),
                                 (11, "python", "```text\nx\n```\n")]


def _table(text: str, header: str) -> dict[str, list[str]]:
    """First column -> the backquoted words of the other columns, for the table whose header starts so."""
    rows, inside = {}, False
    for line in text.splitlines():
        if line.startswith(header):
            inside = True
        elif inside and line.startswith("|") and not line.startswith("|---"):
            first, *rest = [c.strip() for c in line.strip("|").split("|")]
            rows[first.strip("`")] = re.findall(r"`([^`]+)`", " ".join(rest))
        elif inside and not line.startswith("|"):
            break
    return rows


def test_conventions_page_lists_the_status_words_and_each_librarys_statuses():
    import importlib

    from stablelearn._conventions import STATUS_WORDS

    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    words = _table(text, "| status | meaning |")
    assert set(words) == set(STATUS_WORDS), "docs/conventions.md: the status table differs from STATUS_WORDS"
    for word, meaning in STATUS_WORDS.items():
        assert f"| `{word}` | {meaning} |" in text, f"docs/conventions.md: update the meaning of {word!r}"
    libraries = _table(text, "| library | `STATUSES` |")
    assert set(libraries) == {f"stablelearn.{n}" for n in ("anderson", "stability", "rbno", "attacks", "depth")}
    for name, listed in libraries.items():
        statuses = importlib.import_module(name).STATUSES
        assert listed == list(statuses), f"docs/conventions.md lists {listed} for {name}, the code {statuses}"
