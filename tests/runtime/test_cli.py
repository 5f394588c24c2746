"""The CLI end to end on a toy experiment registered by the test; usage errors exit 2."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stablelearn.cli import main
from stablelearn.runtime import register, unregister
from tests.runtime import toy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def toy_registered(tmp_path):
    exp = register(toy.make("toy", log=str(tmp_path / "log")))
    yield exp
    unregister("toy")


def test_reproduce_writes_run_folder(toy_registered, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["reproduce", "toy", "--out", str(out)]) == 0
    rec = json.loads((out / "toy" / "result.json").read_text())
    assert rec["status"] == "ok" and rec["profile"] == "quick"
    assert [c["holds"] for c in rec["claims"]] == [True, False]
    assert (out / "toy" / "draws.png").stat().st_size > 0
    assert "| i | first |" in (out / "toy" / "table.md").read_text()
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "toy" in html
    md = (out / "report.md").read_text()
    assert "| toy | quick | ok | 1 / 2 |" in md and "**fails**" in md
    # re-rendering gives the same report
    (out / "report.md").unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").read_text() == md


def test_rerun_reuses_cells_and_fresh_recomputes(toy_registered, tmp_path):
    out, log = tmp_path / "run", tmp_path / "log"
    assert main(["reproduce", "toy", "--out", str(out)]) == 0
    first = json.loads((out / "toy" / "result.json").read_text())
    assert toy.calls(log) == [0, 1, 2, 3]
    assert main(["reproduce", "toy", "--out", str(out)]) == 0
    assert toy.calls(log) == [0, 1, 2, 3]  # nothing recomputed
    assert json.loads((out / "toy" / "result.json").read_text())["data"] == first["data"]
    assert main(["reproduce", "toy", "--out", str(out), "--fresh"]) == 0
    assert toy.calls(log) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_failing_experiment_exits_1_and_others_run(tmp_path):
    register(toy.make("toy_bad", fail=True))
    register(toy.make("toy_good"))
    try:
        out = tmp_path / "run"
        assert main(["reproduce", "toy_bad", "toy_good", "--out", str(out)]) == 1
        bad = json.loads((out / "toy_bad" / "result.json").read_text())
        good = json.loads((out / "toy_good" / "result.json").read_text())
        assert bad["status"] == "failed" and "cell failed on purpose" in bad["error"]
        assert good["status"] == "ok"
        assert "cell failed on purpose" in (out / "report.html").read_text()
    finally:
        unregister("toy_bad")
        unregister("toy_good")


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "no_such_experiment"], "unknown experiment 'no_such_experiment'; valid: anderson,"),
    (["reproduce", "--profile", "huge"], "invalid choice: 'huge'"),
    (["reproduce", "--out", "/proc/not-writable"], "--out '/proc/not-writable' is not writable"),
    (["reproduce", "--jobs", "0"], "--jobs must be an integer >= 1, got 0"),
    (["reproduce", "--jobs", "abc"], "argument --jobs: invalid int value: 'abc'"),
    (["reproduce", "--seed", "-1"], "--seed must be an integer >= 0"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["report", "/nonexistent/run"], "does not exist"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_list_shows_every_experiment_with_times(toy_registered, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("anderson", "stability", "rbno", "attacks", "depth", "toy"):
        assert name in out
    assert "a toy experiment for tests" in out and "1 s" in out


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "stablelearn", "reproduce", "nope"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "unknown experiment 'nope'" in proc.stderr


def _toy_cli(out: Path, log: Path, **cfg) -> list[str]:
    code = ("import sys; from tests.runtime import toy; from stablelearn.runtime import register; "
            f"register(toy.make('toy', log={str(log)!r}, **{cfg!r})); "
            "from stablelearn.cli import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", code, "reproduce", "toy", "--out", str(out)]


def test_ctrl_c_then_resume_computes_only_the_rest(tmp_path):
    out, log = tmp_path / "run", tmp_path / "log"
    proc = subprocess.run(_toy_cli(out, log, n=6, interrupt_at=3), capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 130, proc.stderr
    assert toy.calls(log) == [0, 1, 2, 3]  # cell 3 was in flight when interrupted
    assert json.loads((out / "toy" / "result.json").read_text())["status"] == "interrupted"
    proc = subprocess.run(_toy_cli(out, log, n=6, interrupt_at=3), capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert toy.calls(log) == [0, 1, 2, 3, 3, 4, 5]  # only the unfinished cells ran again


def test_kill_then_resume_loses_at_most_the_cell_in_flight(tmp_path):
    out, log = tmp_path / "run", tmp_path / "log"
    proc = subprocess.Popen(_toy_cli(out, log, n=8, sleep=0.4), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cells = out / "toy" / "cells"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(cells.glob("*.pkl"))) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(cells.glob("*.pkl")))
    assert 3 <= finished < 8
    started = len(toy.calls(log))
    assert started - finished <= 1  # at most the cell in flight is lost
    proc = subprocess.run(_toy_cli(out, log, n=8, sleep=0.4), capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert len(toy.calls(log)) == started + (8 - finished)
