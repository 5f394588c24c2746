"""The part of our attacks' own overhead that the algorithms prescribe, beside the victim's cost per row.

In one process, interleaved, best of 5 (CPU seconds, one thread): the CNN-16 victim's forward per row at the
reproduction's lockstep batch shape (40 rows), drawing one iteration's random directions (q x d = 100 x 1024
standard normals, ``numpy.random.Generator``) and the Gram-Schmidt of the Prior/ARS/PARS methods (the same
1024 x 100 QR as :func:`stablelearn.attacks.raysearch.orthonormal_basis`). Their ratios are the floor that
bit-identical speed-ups cannot go below (docs/attacks.md, "Benchmark").

    python benchmarks/attacks_floor.py
"""
from __future__ import annotations

import os

import numpy as np
import torch
from _common import print_table, timed, write_results

from stablelearn._conventions import limit_threads
from stablelearn.attacks.raysearch import _qr
from stablelearn.experiments.attacks import _load, train_model

#: Queries of one ARS-OPT iteration on the CNN-16 victim (q = 100 sign probes plus the searches; measured).
ARS_QUERIES_PER_ITER = 177


def _cpu(f, n: int) -> float:
    """CPU seconds per call of ``f``, the mean of ``n`` calls."""
    return timed(f, reps=n)[1]


def main() -> None:
    load = [os.getloadavg()[0]]
    with limit_threads(1):
        victim = _load("cnn16", False, train_model({"arch": "cnn16", "rgb": False, "epochs": 30, "seed": 0})["state"])
        rng = np.random.default_rng(0)
        X = torch.tensor(rng.uniform(0, 1, (40, 1, 32, 32)))
        R = rng.standard_normal((100, 1024))
        res: dict[str, list[float]] = {"victim row (batch 40)": [], "draw 100 x 1024": [], "QR 1024 x 100": []}
        for _ in range(5):
            with torch.no_grad():
                res["victim row (batch 40)"].append(_cpu(lambda: victim(X), 20) / 40)
            res["draw 100 x 1024"].append(_cpu(lambda: rng.standard_normal((100, 1024)), 50))
            res["QR 1024 x 100"].append(_cpu(lambda: _qr(R.T), 50))
    load.append(os.getloadavg()[0])
    b = {k: min(v) for k, v in res.items()}
    row = b["victim row (batch 40)"]
    rows = [[k, v * 1e6] for k, v in b.items()]
    rows += [["draw per sign probe / victim row", b["draw 100 x 1024"] / 100 / row],
             [f"(draw + QR) / ({ARS_QUERIES_PER_ITER} victim rows, one ARS-OPT iteration)",
              (b["draw 100 x 1024"] + b["QR 1024 x 100"]) / ARS_QUERIES_PER_ITER / row]]
    t = print_table(f"the prescribed floor (CPU us, best of 5, load average {load[0]:.1f} -> {load[1]:.1f})",
                    ["item", "value"], rows)
    write_results("attacks_floor", {"table": t, "load": load})


if __name__ == "__main__":
    main()
