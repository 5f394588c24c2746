"""Darcy study: which training option closes the generalisation gap of the RBNO network?

Builds the full profile's Darcy offline stage (32x32, 16 KL modes, 300 snapshots, r = 32, 4,096
training and 200 test parameters, seed 0, exactly as ``stablelearn reproduce rbno --profile full``),
trains the full profile's network (the "previous default") and each option beside it, and prints,
per option, the mean excess loss ``J_r(c) - J_r(c*)`` on the training parameters, on a SELECTION
split of 1,024 fresh parameters (drawn from the parameter law, disjoint from the training, checkpoint
and test parameters; options are compared on it), and on the test parameters, with the
network-to-RB-optimum ratio of the relative X error on the test set (reported, never used to choose).
Each printed line (and the JSON) also splits the selection X distance by thirds of ``tr A(mu)`` (soft,
middle, stiff parameters), which shows where the X error sits (``docs/rbno.md`` "Darcy study").

    python benchmarks/rbno_darcy_study.py [VARIANT ...]        # all variants when none is named
    python benchmarks/rbno_darcy_study.py --list

Members of an ensemble are trained one after the other; the CPU seconds of a row are summed over them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import print_table, write_results

from stablelearn._conventions import limit_threads
from stablelearn.experiments.rbno import EXPERIMENT, make_problem, offline, train_networks
from stablelearn.rbno import ReducedFOSLS, relative_error

DEFAULT = dict(EXPERIMENT.full["train"])  # the previous default: 3x128, AdamW 3e-3, 6000 steps, ckpt, re-solve
RIDGES_WIDE = [1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1]
CHOSEN = dict(hidden=[256] * 4, output_map="whiten", input_scale="kl")  # last pass's choice
VARIANTS: dict[str, dict] = {
    "previous default": {},
    "wide ridge grid": dict(ridges=RIDGES_WIDE),
    "weight decay 0.1": dict(weight_decay=0.1),
    "4x256": dict(hidden=[256, 256, 256, 256]),
    "2x256": dict(hidden=[256, 256]),
    "batch 1024": dict(batch_size=1024),
    "12000 steps": dict(steps=12000),
    "lr 1e-3": dict(lr=1e-3),
    "ensemble of 4": dict(members=4),
    "ensemble of 4, wide ridge grid": dict(members=4, ridges=RIDGES_WIDE),
    "ensemble of 8": dict(members=8),
    "whitened output": dict(output_map="whiten"),
    "4x256, whitened output": dict(hidden=[256] * 4, output_map="whiten"),
    "4x512": dict(hidden=[512] * 4),
    "4x256, whitened, KL-scaled inputs": dict(hidden=[256] * 4, output_map="whiten", input_scale="kl"),
    "4x256, whitened, weight decay 0.1": dict(hidden=[256] * 4, output_map="whiten", weight_decay=0.1),
    "4x256, whitened, KL-scaled inputs, ensemble of 4": dict(hidden=[256] * 4, output_map="whiten",
                                                             input_scale="kl", members=4),
    "6x256": dict(hidden=[256] * 6),
    "chosen, lr 1e-3": dict(CHOSEN, lr=1e-3),
    "chosen, 12000 steps": dict(CHOSEN, steps=12000),
    "chosen, batch 512": dict(CHOSEN, batch_size=512),
    "chosen, 3x256": dict(CHOSEN, hidden=[256] * 3),
    "chosen, 3x384": dict(CHOSEN, hidden=[384] * 3),
    "chosen, 8x8 field blocks": dict(CHOSEN, field_blocks=8),
    "chosen, 4x4 field blocks": dict(CHOSEN, field_blocks=4),
    "chosen, trace-weighted residual": dict(CHOSEN, weighting="trace"),
    "chosen, 4x384": dict(CHOSEN, hidden=[384] * 4),
    "chosen, 6x256": dict(CHOSEN, hidden=[256] * 6),
    "chosen, inverse-trace-weighted residual": dict(CHOSEN, weighting="inverse_trace"),
    "trace-weighted, 12000 steps": dict(CHOSEN, weighting="trace", steps=12000),
    "trace-weighted, 4x384": dict(CHOSEN, weighting="trace", hidden=[384] * 4),
    "trace-weighted, lr 1e-3": dict(CHOSEN, weighting="trace", lr=1e-3),
    "trace-weighted, raw inputs": dict(CHOSEN, weighting="trace", input_scale=None),
    "inverse-trace-weighted, 4x384": dict(CHOSEN, weighting="inverse_trace", hidden=[384] * 4),
    "trace-weighted, 12000 steps, 3x128": dict(CHOSEN, weighting="trace", steps=12000, hidden=[128] * 3),
    "inverse-trace-weighted, 12000 steps": dict(CHOSEN, weighting="inverse_trace", steps=12000),
    "inverse-trace-weighted, 3x128": dict(CHOSEN, weighting="inverse_trace", hidden=[128] * 3),
    "inverse-trace-weighted, raw inputs": dict(CHOSEN, weighting="inverse_trace", input_scale=None),
    "inverse-trace-weighted, std output map": dict(CHOSEN, weighting="inverse_trace", output_map="std"),
    "4x256, 12000 steps": dict(hidden=[256] * 4, steps=12000),
    "4x256, ensemble of 4": dict(hidden=[256] * 4, members=4),
    "whitened output, ensemble of 4": dict(output_map="whiten", members=4),
}


def _offline(cell: dict, cache: str | None) -> tuple:
    """The experiment's offline stage (problem, reduced FOSLS, test parameters and FE solutions); with
    ``cache``, its basis and test solutions are kept in an .npz (the snapshot solves dominate its cost)."""
    if cache and Path(cache).exists():
        d = np.load(cache)
        P = make_problem(cell["problem"], cell["n"], cell["modes"])
        return P, ReducedFOSLS(P, d["basis"]), d["mu_test"], d["X_test"]
    off = offline(cell)
    if cache:
        np.savez(cache, basis=off["basis"].modes, mu_test=off["mu_test"], X_test=off["X_test"])
    return off["problem"], off["reduced"], off["mu_test"], off["X_test"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("variants", nargs="*", help="names of VARIANTS (default: all)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--problem", default="darcy", choices=("heat", "darcy", "elasticity"))
    ap.add_argument("--net-seed", type=int, default=0,
                    help="seed of the networks' initialisation and batches (the data splits keep theirs)")
    ap.add_argument("--cache", default=None, help="an .npz keeping the POD basis and test solutions between runs")
    args = ap.parse_args()
    if args.list:
        print("\n".join(VARIANTS))
        return
    names = args.variants or list(VARIANTS)
    cfg = EXPERIMENT.full
    cell = dict(problem=args.problem, n=32, modes=16, n_snapshots=cfg["n_snapshots"], r=cfg["r"],
                n_test=cfg["n_test"], seed=0)
    with limit_threads(1):
        P, red, mu_test, X_test = _offline(cell, args.cache)
        mu_train = P.sample(cfg["n_train"], np.random.default_rng([0, 2]))   # as the experiment
        mu_ckpt = P.sample(DEFAULT["n_val"], np.random.default_rng([0, 5]))  # as the experiment
        mu_sel = P.sample(1024, np.random.default_rng([0, 11]))              # the selection split
        c_opt = red.optimum(mu_test)
        rb = relative_error(P, red.decode(c_opt), X_test, mu=mu_test)
        sys_sel = red.system(mu_sel)
        tr_sel = sys_sel.A.diagonal(dim1=1, dim2=2).sum(-1).numpy()
        thirds = np.array_split(np.argsort(tr_sel), 3)  # selection parameters by tr A(mu): soft, middle, stiff
        rows, breakdown = [], {}
        for name in names:
            t = dict(DEFAULT, **VARIANTS[name])
            cpu = time.process_time()
            model, _ = train_networks(red, mu_train, t, args.net_seed, validation=mu_ckpt)  # as the experiment
            cpu = time.process_time() - cpu
            ex = [float(model.excess_loss(m).mean()) for m in (mu_train, mu_sel, mu_test)]
            d_train = float(((model.coefficients(mu_train) - red.optimum(mu_train)) ** 2).sum(-1).mean())
            d_sel_i = ((model.coefficients(mu_sel) - sys_sel.optimum()) ** 2).sum(-1).numpy()
            d_sel = float(d_sel_i.mean())
            breakdown[name] = [float(d_sel_i[k].mean()) for k in thirds]
            rel = relative_error(P, red.decode(model.coefficients(mu_test)), X_test, mu=mu_test)
            rows.append([name, *ex, d_train, d_sel, rel / rb, cpu])
            print(f"{name}: excess train {ex[0]:.4g}, selection {ex[1]:.4g}, test {ex[2]:.4g}; "
                  f"X dist^2 to c* train {d_train:.4g}, selection {d_sel:.4g}; test ratio {rel / rb:.3f}; "
                  f"{cpu:.0f} s CPU; selection X dist^2 by tr A third (soft/middle/stiff) "
                  + " / ".join(f"{v:.3g}" for v in breakdown[name]), flush=True)
    table = print_table(
        f"{args.problem} 32x32, N_train = 4096: excess loss J_r(c) - J_r(c*) per option (RB optimum rel X {rb:.4g})",
        ["option", "excess train", "excess selection", "excess test", "X dist^2 to c* (train)",
         "X dist^2 to c* (selection)", "test ratio to RB optimum", "CPU s"], rows,
        caption="options chosen on the selection split (1,024 fresh parameters); test columns are reported only")
    write_results(f"rbno_{args.problem}_study" + (f"_seed{args.net_seed}" if args.net_seed else "") + ("" if args.variants == [] else "_" + "_".join(
        n.replace(" ", "-").replace(",", "") for n in names))[:80], {"cell": cell, "default": DEFAULT, "table": table,
                                                     "selection_X_dist2_by_trace_third": breakdown})


if __name__ == "__main__":
    main()
