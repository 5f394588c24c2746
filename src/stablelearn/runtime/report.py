"""The run's report: ``report.md`` and a self-contained ``report.html`` (images embedded).

Both open with a summary (experiment, status, claims held / total, wall time), then give each
experiment's claims (held or not, with what was measured), tables, figures and notes.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Any

from stablelearn.runtime.experiment import Table, escape_cell, format_cell, verdict_word
from stablelearn.runtime.runfolder import load_results

__all__ = ["render_report"]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _held(rec: dict[str, Any]) -> str:
    claims = rec.get("claims") or []
    text = f"{sum(c['holds'] is True for c in claims)} / {len(claims)}"
    open_ = sum(c["holds"] is None for c in claims)
    return text + (f" ({open_} inconclusive)" if open_ else "")


_VERDICT_CELL = {"holds": ("yes", "yes"), "fails": ("no", "NO"), "inconclusive": ("open", "inconclusive")}


def _time(rec: dict[str, Any]) -> str:
    t = rec.get("wall_time")
    if t is None:
        return "–"
    return f"{t:.1f} s" if t < 120 else f"{t / 60:.1f} min"


def _tables(rec: dict[str, Any]) -> list[Table]:
    return [Table(_text(t.get("title")), [_text(c) for c in t["columns"]], t["rows"], _text(t.get("caption")))
            for t in rec.get("tables", [])]


def render_markdown(records: list[dict[str, Any]]) -> str:
    """The report in Markdown.

    Parameters
    ----------
    records : list of dict
        Checked ``result.json`` records (see :func:`stablelearn.runtime.runfolder.load_results`).

    Returns
    -------
    str
        A summary table, then each experiment's claims, tables, figures (linked) and notes.
    """
    lines = ["# stablelearn reproduction report", "",
             "| experiment | profile | status | claims held | wall time |", "|---|---|---|---|---|"]
    for r in records:
        cells = [r["name"], _text(r.get("profile")), r["status"], _held(r), _time(r)]
        lines.append("| " + " | ".join(escape_cell(c) for c in cells) + " |")
    for r in records:
        lines += ["", f"## {r['name']}", "", _text(r.get("description")), ""]
        if r.get("error"):
            lines += ["**Status: " + r["status"] + "**", "", "```", _text(r["error"]).rstrip(), "```", ""]
        if r.get("claims"):
            lines += ["| claim | criterion | measured | verdict |", "|---|---|---|---|"]
            for c in r["claims"]:
                word = verdict_word(c["holds"])
                cells = [c.get("statement"), c.get("criterion"), c.get("measured"),
                         f"**{word}**" if word != "holds" else word]
                lines.append("| " + " | ".join(escape_cell(_text(x)) for x in cells) + " |")
            lines.append("")
        for t in _tables(r):
            lines += [t.to_markdown(), ""]
        for f in r.get("figures", []):
            lines += [f"![{f}]({r['name']}/{f})", ""]
        if r.get("notes"):
            lines += [_text(r["notes"]), ""]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.92em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} .yes{color:#11772b;font-weight:600} .no{color:#b00020;font-weight:700} .open{color:#8a6d00;font-weight:600}
.failed,.interrupted{color:#b00020;font-weight:700} .ok{color:#11772b}
pre{background:#f7f7f7;padding:0.8em;overflow-x:auto;font-size:0.85em}
figure{margin:1em 0} img{max-width:100%;border:1px solid #ddd} .notes{white-space:pre-wrap}
caption{caption-side:top;font-weight:600;text-align:left;padding:4px 0}
"""


def _html_table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(format_cell(v))}</td>" for v in row) + "</tr>"
                   for row in t.rows)
    cap = f"<p>{html.escape(t.caption)}</p>" if t.caption else ""
    return f"<table><caption>{html.escape(t.title)}</caption><tr>{head}</tr>{body}</table>{cap}"


def render_html(records: list[dict[str, Any]], root: Path) -> str:
    """The report as one self-contained HTML page (figures embedded).

    Parameters
    ----------
    records : list of dict
        Checked ``result.json`` records.
    root : pathlib.Path
        The run folder (figures are read from ``root/<name>/``).

    Returns
    -------
    str
        The page.
    """

    def e(value: Any) -> str:
        return html.escape(_text(value))

    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>stablelearn report</title>",
             f"<style>{_CSS}</style></head><body><h1>stablelearn reproduction report</h1>",
             "<table id='summary'><tr><th>experiment</th><th>profile</th><th>status</th>"
             "<th>claims held / total</th><th>wall time</th></tr>"]
    for r in records:
        parts.append(f"<tr><td><a href='#{e(r['name'])}'>{e(r['name'])}</a></td><td>{e(r.get('profile'))}</td>"
                     f"<td class='{e(r['status'])}'>{e(r['status'])}</td><td>{_held(r)}</td><td>{_time(r)}</td></tr>")
    parts.append("</table>")
    for r in records:
        parts.append(f"<h2 id='{e(r['name'])}'>{e(r['name'])}</h2><p>{e(r.get('description', ''))}</p>")
        if r.get("error"):
            parts.append(f"<p class='{e(r['status'])}'>Status: {e(r['status'])}</p><pre>{e(r['error'])}</pre>")
        if r.get("claims"):
            parts.append("<table class='claims'><tr><th>claim</th><th>criterion</th><th>measured</th><th>verdict</th></tr>")
            for c in r["claims"]:
                cls, word = _VERDICT_CELL[verdict_word(c["holds"])]
                parts.append(f"<tr><td>{e(c.get('statement'))}</td><td>{e(c.get('criterion'))}</td>"
                             f"<td>{e(c.get('measured'))}</td><td class='{cls}'>{word}</td></tr>")
            parts.append("</table>")
        parts.extend(_html_table(t) for t in _tables(r))
        for f in r.get("figures", []):
            path = root / r["name"] / f
            if path.is_file():
                data = base64.b64encode(path.read_bytes()).decode()
                parts.append(f"<figure><img alt='{e(f)}' src='data:image/png;base64,{data}'>"
                             f"<figcaption>{e(f)}</figcaption></figure>")
        if r.get("notes"):
            parts.append(f"<div class='notes'>{e(r['notes'])}</div>")
    parts.append("</body></html>")
    return "".join(parts)


def render_report(out_dir: str | os.PathLike) -> Path:
    """(Re-)write ``report.md`` and ``report.html`` of a run folder.

    Parameters
    ----------
    out_dir : path
        The run folder (``DIR/<experiment>/result.json`` for each experiment, ``DIR/run.json``).

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.

    Raises
    ------
    ValueError
        If the folder does not exist, holds no result, or a ``run.json`` or ``result.json`` is malformed;
        the message names the file.
    OSError
        If the reports cannot be written.
    """
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a path, got {out_dir!r} ({type(out_dir).__name__})")
    root = Path(out_dir)
    if not root.is_dir():
        raise ValueError(f"run folder {str(root)!r} does not exist")
    records = load_results(root)
    if not records:
        raise ValueError(f"run folder {str(root)!r} holds no <experiment>/result.json")
    (root / "report.md").write_text(render_markdown(records))
    out = root / "report.html"
    out.write_text(render_html(records, root))
    return out
