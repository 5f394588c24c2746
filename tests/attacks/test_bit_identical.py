"""Speed-ups must not change a single bit: every attack, run on fixed seeds, reproduces the outputs recorded
from the code that produced the session profile (commit 62c3a11; docs/attacks.md "Speed").

Both runs use pinned kernels (tests/pinned.py), so the comparison holds on any x86-64 CPU with AVX2 and FMA;
unpinned, two CPUs already differ in the last bit and the attacks then take other decisions. The recording is
``data/golden_62c3a11.npz``, made from a worktree of 62c3a11 (regenerate only on purpose)::

    PYTHONPATH=<worktree>/src python tests/pinned.py tests/attacks/test_bit_identical.py outputs \
        tests/attacks/data/golden_62c3a11.npz
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from stablelearn.attacks import (ARSOPT, OPT, PARSOPT, ARSOPTSubspace, HardLabelOracle, HopSkipJump, PriorOPT,
                                 PriorSignOPT, SignOPT)

from tests import pinned

GOLDEN = Path(__file__).parent / "data" / "golden_62c3a11.npz"


def _linear(X: np.ndarray, y: np.ndarray) -> torch.nn.Module:
    clf = LogisticRegression(max_iter=3000).fit(X, y)
    lin = torch.nn.Linear(X.shape[1], 10).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(clf.coef_))
        lin.bias.copy_(torch.tensor(clf.intercept_))
    return torch.nn.Sequential(torch.nn.Flatten(), lin).double().eval()


def _setting():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    victim, s1, s2 = _linear(X[:600], y[:600]), _linear(X[600:900], y[600:900]), _linear(X[900:1200], y[900:1200])
    with torch.no_grad():
        pred = victim(torch.tensor(X[1200:])).argmax(1).numpy()
    ok = np.flatnonzero(pred == y[1200:])[:4] + 1200
    x, lab = X[ok].reshape(-1, 1, 8, 8), y[ok]
    target = (lab + 1) % 10
    starts = np.stack([X[np.flatnonzero((y == t) & (np.arange(len(y)) < 600))[0]] for t in target]).reshape(x.shape)
    return victim, [s1, s2], x, lab, target, starts


def _attacks(sur):
    return {
        "OPT": OPT(q=10), "SignOPT": SignOPT(q=20), "SignOPT-cheap": SignOPT(q=20, line_search="cheap"),
        "PriorOPT": PriorOPT(sur[:1], q=20), "PriorSignOPT": PriorSignOPT(sur, q=20),
        "ARSOPT": ARSOPT(q=20, g_max=0.3), "ARSOPT-a0": ARSOPT(q=20, lookahead=False),
        "ARSOPT-ls": ARSOPT(q=20, line_search=True), "ARSOPT-S": ARSOPTSubspace(subspace=(6, 6), q=20),
        "PARSOPT": PARSOPT(sur[:1], q=20), "PARSOPT2": PARSOPT(sur, q=20, g_max=0.3),
        "HSJA": HopSkipJump(init_evals=20),
    }


def outputs() -> dict[str, np.ndarray]:
    """Every attack's distances, queries, full traces and histories on the fixed setting."""
    torch.set_num_threads(1)
    victim, sur, x, lab, target, starts = _setting()
    out = {}
    modes = {"u": dict(clip=None), "t": dict(clip=None, target=target, starting_points=starts),
             "c": dict(clip=(0.0, 1.0))}
    for name, attack in _attacks(sur).items():
        for mode, kw in modes.items():
            kw = dict(kw)
            oracle = HardLabelOracle(victim, budget=300, clip=kw.pop("clip"))
            res = attack(oracle, x, lab, seed=7, progress=False, **kw)
            key = f"{name}/{mode}"
            out[key + "/distance"] = res.distance
            out[key + "/queries"] = res.queries
            out[key + "/trace"] = np.concatenate([np.column_stack([np.full(len(t), i), t]) for i, t in
                                                  enumerate(res.trace)])
            out[key + "/status"] = np.array(res.status)
            for i, info in enumerate(res.info):
                for h, v in info.get("history", {}).items():
                    out[f"{key}/history/{i}/{h}"] = np.asarray(v, dtype=float)
    return out


def test_crossed_is_the_margin_sign():
    from stablelearn.attacks.raysearch import _crossed, _margin
    rng = np.random.default_rng(0)
    specials = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    for k in range(400):
        z = rng.standard_normal((1, 5))
        if k % 3 == 0:  # ties, infinities, NaN
            z[0, rng.integers(5)] = z[0, rng.integers(5)]
            z[0, rng.integers(5)] = specials[k % 5]
        for dtype in (torch.float64, torch.float32):
            t = torch.tensor(z, dtype=dtype)
            for y, tgt in ((1, None), (3, None), (0, 2), (4, 0)):
                assert _crossed(t, y, tgt) == bool(_margin(t, y, tgt)[0] < 0), (z, y, tgt)


@pytest.mark.timeout(300)
def test_outputs_bit_identical_to_recorded():
    pinned.compare(GOLDEN, __file__, "outputs")
