"""Bad input at the runtime's and the CLI's boundary.

The contract: the CLI exits 2 with one line on stderr that names the argument or the file, before any
experiment runs; the runtime's public functions raise ValueError or TypeError naming the argument (or,
for a run folder, the file). Never another exception, never a hang.
"""

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stablelearn.cli import main
from stablelearn.runtime import (Claim, Experiment, LocalExecutor, Table, bootstrap_ci, cell_cache, config_hash,
                                 get_executor, get_experiment, interval_verdict, loglog_slope, register,
                                 render_report, run_experiment, seed_everything, sweep, unregister)
from tests.runtime import toy

pytestmark = pytest.mark.timeout(60)  # every case: a hang fails it

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

GOOD = {"name": "toy", "status": "ok", "profile": "quick", "description": "d", "wall_time": 1.5,
        "claims": [{"statement": "s", "criterion": "c", "measured": "m", "holds": True}],
        "tables": [{"title": "t", "columns": ["a"], "rows": [[1]]}], "figures": [], "notes": "", "error": None}


def _folder(root: Path, result: bytes | None = None, run: bytes | None = None) -> Path:
    (root / "toy").mkdir(parents=True, exist_ok=True)
    (root / "toy" / "result.json").write_bytes(json.dumps(GOOD).encode() if result is None else result)
    if run is not None:
        (root / "run.json").write_bytes(run)
    return root


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("stablelearn: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _with(**changes) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


MALFORMED = {  # the cases of the bad-input review, and a few more of the same kinds
    "empty object": (b"{}", None, "result.json: field 'name' is missing"),
    "a list": (b"[]", None, "result.json must be a JSON object"),
    "no status": (json.dumps({k: v for k, v in GOOD.items() if k != "status"}).encode(), None,
                  "field 'status' is missing"),
    "claim without holds": (_with(claims=[{"statement": "s", "criterion": "c", "measured": "m"}]), None,
                            "claims[0]: field 'holds' is missing"),
    "holds a string": (_with(claims=[{"statement": "s", "holds": "yes"}]), None,
                       "claims[0]: 'holds' must be true, false or null"),
    "verdict against holds": (_with(claims=[{"holds": True, "verdict": "fails"}]), None, "'verdict' is 'fails'"),
    "table without columns": (_with(tables=[{"title": "t", "rows": [[1]]}]), None,
                              "tables[0]: field 'columns' is missing"),
    "ragged table": (_with(tables=[{"title": "t", "columns": ["a", "b"], "rows": [[1]]}]), None,
                     "rows[0] has 1 entries for 2 columns"),
    "wall_time a word": (_with(wall_time="fast"), None, "'wall_time' must be a number of seconds"),
    "figure is the folder": (_with(figures=["."]), None, "figures[0] must be a file name"),
    "figure outside": (_with(figures=["../../etc/passwd"]), None, "figures[0] must be a file name"),
    "name of another folder": (_with(name="other"), None, "'name' is 'other', but the folder is 'toy'"),
    "corrupt JSON": (b'{"name": "toy", "status": ', None, "result.json: cannot be read as JSON"),
    "binary": (bytes(range(256)), None, "result.json: cannot be read as JSON"),
    "run.json experiments a number": (None, b'{"experiments": 5}', "run.json: 'experiments' must be a list"),
    "run.json a list": (None, b'["toy"]', "run.json must be a JSON object"),
    "run.json names not strings": (None, b'{"experiments": [1]}', "run.json: experiments[0] must be a name"),
    "run.json binary": (None, b"\xff\xfe\x00", "run.json: cannot be read as JSON"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_report_of_a_malformed_run_folder_exits_2_naming_the_file(case, tmp_path, capsys):
    result, run, message = MALFORMED[case]
    root = _folder(tmp_path / "run", result, run)
    assert main(["report", str(root)]) == 2
    err = _one_line_error(capsys)
    assert message in err and str(root) in err
    with pytest.raises(ValueError, match="json"):
        render_report(root)


def test_old_records_without_verdict_and_with_nonstring_text_still_render(tmp_path):
    claims = [{"statement": "s", "criterion": "c", "measured": 0.5, "holds": None},
              {"statement": "s | t", "criterion": "c", "measured": "m\nn", "holds": False}]
    root = _folder(tmp_path / "run", _with(claims=claims, profile=None, notes=None))
    render_report(root)
    md = (root / "report.md").read_text()
    assert "| s \\| t | c | m n | **fails** |" in md and "**inconclusive**" in md and "1 inconclusive" in md


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=12)
FIELDS = st.fixed_dictionaries({}, optional={k: JSON for k in GOOD}) | JSON


@FUZZ
@given(record=FIELDS, claim=st.dictionaries(st.sampled_from(["statement", "holds", "verdict", "measured"]), JSON),
       raw=st.binary(max_size=40))
def test_report_on_any_json_or_bytes_renders_or_exits_2(record, claim, raw, capsys):
    for content in (json.dumps(record).encode(), json.dumps({**GOOD, "claims": [claim]}).encode(), raw):
        with tempfile.TemporaryDirectory() as tmp:
            root = _folder(Path(tmp), content)
            code = main(["report", str(root)])
            if code == 2:
                assert "result.json" in _one_line_error(capsys)
            else:
                assert code == 0 and (root / "report.html").exists()
                capsys.readouterr()


ARGS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)


@FUZZ
@given(jobs=ARGS | st.integers(max_value=0).map(str), seed=ARGS | st.integers(max_value=-1).map(str),
       which=st.sampled_from(["--jobs", "--seed", "--profile", "--executor", "name"]))
def test_reproduce_refuses_bad_arguments_with_one_line(jobs, seed, which, capsys):
    value = {"--jobs": jobs, "--seed": seed}.get(which, jobs)
    if which == "--jobs" and value.strip().lstrip("+").isdigit() and int(value) >= 1:
        return  # a valid job count would run every experiment
    if which == "--seed" and value.strip().lstrip("+").isdigit() and int(value) < 2**32:
        return
    if which in ("--profile", "--executor") and value in ("quick", "full", "local", "ray"):
        return
    argv = ["reproduce", "--out", "/proc/never-written"]
    argv += [f"nosuch{value}"] if which == "name" else [f"{which}={value}"]
    assert main(argv) == 2
    err = _one_line_error(capsys)
    # "--out": a value that argparse reads as valid (int("1_0") is 10) reaches the --out check, not a run
    assert (which if which != "name" else "unknown experiment") in err or "--out" in err


def test_unknown_experiment_names_are_refused_before_any_runs(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["reproduce", "anderson", "nope", "--out", str(out)]) == 2
    assert "unknown experiment 'nope'" in _one_line_error(capsys)
    assert not out.exists()


NUMBERS = (st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10**30, 10**30)
           | st.sampled_from([np.int64(3), np.float32(0.5), np.nan, "1", None, True, 1 + 2j, [1.0]]))


def _names_argument(exc: Exception, *names: str) -> None:
    assert isinstance(exc, (TypeError, ValueError)), repr(exc)
    assert any(n in str(exc) for n in names), str(exc)


@FUZZ
@given(low=NUMBERS, high=NUMBERS, threshold=NUMBERS, side=st.sampled_from(["above", "below", "left", 1]))
def test_interval_verdict(low, high, threshold, side):
    try:
        verdict = interval_verdict(low, high, threshold=threshold, side=side)
    except Exception as exc:  # noqa: BLE001 - the contract is checked
        _names_argument(exc, "low", "high", "threshold", "side")
        return
    lo, hi, t = float(low), float(high), float(threshold)
    if side == "below":
        lo, hi, t = -hi, -lo, -t
    assert verdict is (True if lo > t else False if hi < t else None)


@FUZZ
@given(values=st.lists(NUMBERS, max_size=6), level=NUMBERS, n_boot=NUMBERS, seed=NUMBERS)
def test_bootstrap_ci(values, level, n_boot, seed):
    try:
        est, lo, hi = bootstrap_ci(values, level=level, n_boot=n_boot if not isinstance(n_boot, int)
                                   else min(n_boot, 50), seed=seed)
    except Exception as exc:  # noqa: BLE001
        _names_argument(exc, "values", "level", "n_boot", "seed")
        return
    assert math.isfinite(est) and lo <= hi


@FUZZ
@given(x=st.lists(NUMBERS, max_size=5) | NUMBERS, y=st.lists(NUMBERS, max_size=5) | NUMBERS)
def test_loglog_slope(x, y):
    try:
        slope = loglog_slope(x, y)
    except Exception as exc:  # noqa: BLE001
        _names_argument(exc, "x", "y")
        return
    assert isinstance(slope, float)


def test_loglog_slope_is_the_exponent():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    assert loglog_slope(x, 3 * x**-0.5) == pytest.approx(-0.5)
    assert math.isnan(loglog_slope(x, -x))


@FUZZ
@given(jobs=NUMBERS, kind=st.sampled_from(["local", "ray", "slurm", None, 3]))
def test_executors_refuse_bad_jobs_and_kinds(jobs, kind):
    for make in (lambda: LocalExecutor(jobs), lambda: get_executor(kind, jobs=jobs)):
        try:
            ex = make()
        except Exception as exc:  # noqa: BLE001
            _names_argument(exc, "jobs", "executor")
            continue
        assert isinstance(ex.jobs, int) and ex.jobs >= 1
        ex.close()


@pytest.mark.parametrize("call, names", [
    (lambda: sweep("not callable", [{}]), "fn"),
    (lambda: sweep(toy.draw, "cells"), "cells"),
    (lambda: sweep(toy.draw, [{"i": object()}]), "JSON-serialisable"),
    (lambda: sweep(toy.draw, [{"i": 0}], executor="local"), "executor"),
    (lambda: sweep(toy.draw, [{"i": 0}], cache_dir=3), "cache_dir"),
    (lambda: sweep(toy.draw, [{"i": 0}], fresh="yes"), "fresh"),
    (lambda: sweep(toy.draw, [{"i": 0}], progress="yes"), "progress"),
    (lambda: sweep(toy.draw, [{"i": 0}], salt=3), "salt"),
    (lambda: LocalExecutor().map(3, [1]), "fn"),
    (lambda: cell_cache(-1), "maxsize"),
    (lambda: cell_cache(2)(lambda config: 1)({"a": object()}), "config"),
    (lambda: config_hash({"a": {1, 2}}), "JSON-serialisable"),
    (lambda: seed_everything(-1), "seed"),
    (lambda: seed_everything("1"), "seed"),
    (lambda: Claim("s", "c", "m", "yes"), "holds"),
    (lambda: Table("t", ["a", "b"], [[1]]), "row 0"),
    (lambda: toy.make().config("huge"), "profile"),
    (lambda: register(object()), "experiment"),
    (lambda: get_experiment(None), "name"),
    (lambda: render_report(None), "out_dir"),
    (lambda: render_report("/nonexistent/run"), "/nonexistent/run"),
    (lambda: run_experiment("toy", "/tmp"), "experiment"),
    (lambda: run_experiment(toy.make(), 3), "out_dir"),
    (lambda: run_experiment(toy.make(), "/tmp", seed=-1), "seed"),
    (lambda: run_experiment(toy.make(), "/tmp", seed=np.float64(1.5)), "seed"),
    (lambda: run_experiment(toy.make(), "/tmp", profile="huge"), "profile"),
    (lambda: run_experiment(toy.make(), "/tmp", executor="ray"), "executor"),
])
def test_runtime_functions_name_the_bad_argument(call, names):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    _names_argument(info.value, names)


def test_numpy_scalars_are_accepted(tmp_path):
    assert LocalExecutor(np.int64(1)).jobs == 1
    assert interval_verdict(np.float32(1), np.float64(2), threshold=np.int64(0)) is True
    assert bootstrap_ci(np.arange(5.0), n_boot=np.int32(20), level=np.float64(0.9))[0] == 2.0
    register(toy.make("toy_np", n=2))
    try:
        rec = run_experiment(get_experiment("toy_np"), tmp_path, seed=np.uint32(3), fresh=np.bool_(False))
        assert rec["status"] == "ok" and rec["seed"] == 3
    finally:
        unregister("toy_np")


def test_seed_beyond_32_bits_is_refused(capsys):
    register(Experiment("toy_x", "x", run=lambda ctx: None, quick={}, full={}))
    try:
        assert main(["reproduce", "toy_x", "--seed", str(2**32)]) == 2
        assert "--seed must be an integer" in _one_line_error(capsys)
    finally:
        unregister("toy_x")
