"""Executors and sweeps: results do not depend on the executor; cells are cached and resumed."""

import pickle

import numpy as np
import pytest

from stablelearn.runtime import LocalExecutor, get_executor, sweep
from tests.runtime import toy


def _cells(n=6):
    return [{"i": i} for i in range(n)]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x["i"] == y["i"]
        for k in ("np", "torch", "own"):
            np.testing.assert_array_equal(x[k], y[k])


def test_cells_are_seeded_by_their_content_not_their_order():
    fwd = LocalExecutor().map(toy.draw, _cells())
    rev = LocalExecutor().map(toy.draw, _cells()[::-1])[::-1]
    _same(fwd, rev)
    assert not np.array_equal(fwd[0]["np"], fwd[1]["np"])


def test_process_pool_equals_in_process():
    ex = LocalExecutor(jobs=2)
    try:
        _same(LocalExecutor().map(toy.draw, _cells()), ex.map(toy.draw, _cells()))
    finally:
        ex.close()


def test_ray_equals_local_on_a_real_local_instance():
    pytest.importorskip("ray", reason="ray is not installed (extra 'ray')")
    ex = get_executor("ray", jobs=2)
    try:
        _same(LocalExecutor().map(toy.draw, _cells()), ex.map(toy.draw, _cells()))
    finally:
        ex.close()


def test_sweep_caches_each_cell_and_resumes_after_interrupt(tmp_path):
    log, cache = tmp_path / "log", tmp_path / "cache"
    cells = [{"i": i, "log": str(log), "interrupt_at": 2} for i in range(5)]
    with pytest.raises(KeyboardInterrupt):
        sweep(toy.draw, cells, cache_dir=cache)
    assert len(list(cache.glob("*.pkl"))) == 2 and toy.calls(log) == [0, 1, 2]
    out = sweep(toy.draw, cells, cache_dir=cache)
    assert toy.calls(log) == [0, 1, 2, 2, 3, 4]
    _same(out, LocalExecutor().map(toy.draw, cells))
    # finished cells hold exactly the returned values
    stored = sorted((pickle.loads(p.read_bytes()) for p in cache.glob("*.pkl")), key=lambda o: o["i"])
    _same(stored, out)
    before = len(toy.calls(log))
    sweep(toy.draw, cells, cache_dir=cache, fresh=True)
    assert len(toy.calls(log)) == before + 5


@pytest.mark.parametrize("kwargs, message", [
    (dict(kind="slurm"), r"executor must be one of \('local', 'ray'\), got 'slurm'"),
    (dict(kind="local", jobs=0), "jobs must be an integer >= 1, got 0"),
    (dict(kind="local", address="1.2.3.4:6379"), "address is only used by the 'ray' executor"),
])
def test_get_executor_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_executor(**kwargs)


def test_sweep_rejects_cells_that_are_not_json():
    with pytest.raises(TypeError, match="JSON-serialisable"):
        sweep(toy.draw, [{"i": object()}])


def test_salt_separates_cache_entries(tmp_path):
    log, cache = tmp_path / "log", tmp_path / "cache"
    cells = [{"i": i, "log": str(log)} for i in range(2)]
    sweep(toy.draw, cells, cache_dir=cache, salt="v1")
    sweep(toy.draw, cells, cache_dir=cache, salt="v1")
    assert len(toy.calls(log)) == 2
    sweep(toy.draw, cells, cache_dir=cache, salt="v2")
    assert len(toy.calls(log)) == 4


def test_claim_accepts_numpy_bools_and_rejects_other_types():
    from stablelearn.runtime import Claim

    assert Claim("s", "c", "m", np.float64(1.0) < 2.0).holds is True
    with pytest.raises(TypeError, match="Claim.holds must be a bool or None"):
        Claim("s", "c", "m", 1)


def test_in_process_cells_leave_the_callers_global_rngs_unchanged(unchanged_global_state):
    import random

    random.seed(123)
    py_state = random.getstate()
    with unchanged_global_state():
        first = LocalExecutor().map(toy.draw, _cells(3))
        sweep(toy.draw, _cells(3))
    assert random.getstate() == py_state
    _same(first, LocalExecutor().map(toy.draw, _cells(3)))  # cells still seed the globals inside


SCRIPT = """
from stablelearn.runtime import LocalExecutor


def square(cell):
    return cell["i"] ** 2

{body}
"""
POOL = "print(LocalExecutor(jobs=2).map(square, [{'i': 1}, {'i': 2}, {'i': 3}]))"


@pytest.mark.parametrize("guarded", [False, True])
def test_process_pool_from_a_script_needs_the_main_guard(tmp_path, guarded):
    import subprocess
    import sys
    import textwrap

    body = f'if __name__ == "__main__":\n    {POOL}' if guarded else POOL
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(body=body))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    if guarded:
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip() == "[1, 4, 9]"
    else:
        assert proc.returncode == 1
        assert 'if __name__ == "__main__":' in proc.stderr and "script.py" in proc.stderr, proc.stderr[-2000:]
        assert "BrokenProcessPool" not in proc.stderr
        assert textwrap.dedent(proc.stderr).count("Traceback") == 1


def test_a_guarded_script_edited_while_it_runs_is_not_refused(tmp_path):
    """The guard is read from disk; a script edited mid-run (here: its guard moved 50 lines down) still runs."""
    import subprocess
    import sys

    edit = ("import pathlib, time; time.sleep(0.05); "
            "pathlib.Path(__file__).write_text(chr(10) * 50 + pathlib.Path(__file__).read_text())")
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(body=f'if __name__ == "__main__":\n    {edit}\n    {POOL}'))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[1, 4, 9]"
