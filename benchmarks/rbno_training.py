"""What limits the RBNO network: the excess loss J_r(c) - J_r(c*) on training and test parameters.

Builds the full profile's offline stage of one problem (32x32 / 32x16 mesh, 300 snapshots, r = 32,
4,096 training and 200 test parameters, seed 0, exactly as ``stablelearn reproduce rbno --profile full``)
and trains the network with the first version's settings and with this round's options one at a time.
A large excess on the training parameters means optimisation or capacity; a test excess well above the
training one means generalisation (``docs/rbno.md``, "Training").

    python benchmarks/rbno_training.py --problem darcy [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import print_table, write_results

from stablelearn._conventions import limit_threads
from stablelearn.experiments.rbno import EXPERIMENT, offline
from stablelearn.rbno import RBNO

FIRST = dict(hidden=(128, 128), steps=3000, lr=1e-3)
VARIANTS = {
    "first version (Adam 1e-3, 2x128, 3000 steps)": dict(FIRST),
    "+ output re-solve": dict(FIRST, refit_output=True),
    "lr 3e-3": dict(FIRST, lr=3e-3),
    "3x128, lr 3e-3, 6000 steps, + re-solve": dict(hidden=(128, 128, 128), steps=6000, lr=3e-3, refit_output=True),
    "the same + weight decay 1e-2": dict(hidden=(128, 128, 128), steps=6000, lr=3e-3, refit_output=True,
                                         weight_decay=1e-2),
    "the same + validation checkpoint (the full profile)": dict(hidden=(128, 128, 128), steps=6000, lr=3e-3,
                                                                refit_output=True, validation=256,
                                                                ridge=[1e-8, 1e-6, 1e-4]),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--problem", default="darcy", choices=("heat", "darcy", "elasticity"))
    ap.add_argument("--quick", action="store_true", help="heat 16x16, 60 snapshots, 300 steps (a smoke run)")
    args = ap.parse_args()
    cfg = EXPERIMENT.full
    cell = dict(problem=args.problem, n=32, modes=16, n_snapshots=cfg["n_snapshots"], r=cfg["r"],
                n_test=cfg["n_test"], seed=0)
    n_train = cfg["n_train"]
    if args.quick:
        cell.update(problem="heat", n=16, n_snapshots=60, r=16, n_test=40)
        n_train = 500
    with limit_threads(1):
        off = offline(cell)
        P, red = off["problem"], off["reduced"]
        mu_train = P.sample(n_train, np.random.default_rng([0, 2]))
        mu_val = P.sample(256, np.random.default_rng([0, 5]))
        J_star = float(red.loss(red.optimum(mu_train), mu_train).mean())
        rows = []
        for name, kw in VARIANTS.items():
            kw = dict(kw)
            if args.quick:
                kw["steps"] = 300
            net = RBNO(red, hidden=kw.pop("hidden"), seed=0)
            if kw.pop("validation", None):
                kw["validation"] = mu_val
            res = net.fit(mu_train, batch_size=256, progress=False, **kw)
            rows.append([name, float(net.excess_loss(mu_train).mean()), float(net.excess_loss(off["mu_test"]).mean()),
                         res.status, res.wall_time])
    table = print_table(f"Excess loss on {cell['problem']} (mean J_r(c*) on the training parameters {J_star:.3g})",
                        ["training", "excess train", "excess test", "status", "seconds"], rows)
    write_results(f"rbno_training_{cell['problem']}", {"cell": cell, "n_train": n_train, "table": table})


if __name__ == "__main__":
    main()
