"""Our hard-label attacks against ART's and Foolbox's, through ONE counting oracle, with per-query costs.

Same victim (digits-32 CNN-16, float64, trained as in the reproduction), same images, same budget, clip mode
(the peers clip), untargeted. Every attack, ours or a peer's, sees the victim only through
:class:`stablelearn.attacks.HardLabelOracle`, so the query counts are the true ones (the peers' own
clean-image checks included) and the distortion is the oracle's best-so-far l2 at each query count. Peers run
one image at a time (their own loops) and are stopped by ``BudgetExhausted``; ours run all images in lockstep.

The victim is wrapped in a timer, so each row splits the time into the victim's forward passes and
everything else (the library's own overhead, surrogate gradients included), per query. The split is in CPU
seconds (``time.process_time`` for the run, ``time.thread_time`` inside the victim; everything runs on one
thread), which a shared machine's load disturbs far less than wall time; wall time and the load average are
reported beside it. Our methods run ``--repeat`` times, interleaved, and each keeps its fastest run.

    python benchmarks/attacks_peers.py [--quick] [--images N] [--victim cnn16|linear] [--repeat R]
        [--peers "ART HopSkipJump,..."] [--no-peers] [--src DIR]

``--victim linear`` uses a softmax-regression victim whose forward is nearly free (overhead isolated).
``--src DIR`` imports ``stablelearn`` from another source tree (e.g. ``git archive <commit> src | tar -x -C DIR``
then ``--src DIR/src``), to measure an older version of our attacks with the same script.
Prints Markdown tables and writes ``benchmarks/results/attacks_peers_<victim>[_<tag>].json``.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time

if "--src" in sys.argv:  # before stablelearn is imported
    sys.path.insert(0, sys.argv[sys.argv.index("--src") + 1])

import numpy as np
import torch
from _common import print_table, write_results

from stablelearn._conventions import limit_threads, torch_seeded
from stablelearn.attacks import (ARSOPT, PARSOPT, BudgetExhausted, HardLabelOracle, HopSkipJump, PriorOPT,
                                 SignOPT)
from stablelearn.experiments.attacks import _load, digits32, train_model


class Timed(torch.nn.Module):
    """The victim with a stopwatch: seconds and rows spent in its forward passes."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.reset()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, c = time.perf_counter(), time.thread_time()
        out = self.model(x)
        self.cpu += time.thread_time() - c
        self.seconds += time.perf_counter() - t
        self.rows += len(x)
        self.calls += 1
        return out

    def reset(self) -> None:
        self.seconds, self.cpu, self.rows, self.calls = 0.0, 0.0, 0, 0


def peers(budget: int) -> dict:
    import foolbox as fb
    from art.attacks.evasion import HopSkipJump as ArtHSJ
    from art.attacks.evasion import SignOPTAttack as ArtSignOPT
    from art.estimators.classification import PyTorchClassifier

    def art(make):
        def run(module, x, y):
            clf = PyTorchClassifier(module, loss=torch.nn.CrossEntropyLoss(), input_shape=x.shape[1:], nb_classes=10,
                                    clip_values=(0.0, 1.0), device_type="cpu")
            make(clf).generate(x.astype(np.float32), y=y, x_init=None)
        return run

    def foolbox(attack):
        def run(module, x, y):
            fm = fb.PyTorchModel(module.eval(), bounds=(0, 1))
            attack.run(fm, torch.tensor(x, dtype=torch.float32), fb.criteria.Misclassification(torch.tensor(y)))
        return run

    return {
        "ART HopSkipJump": art(lambda c: ArtHSJ(c, targeted=False, max_iter=10_000, max_eval=10_000, init_eval=100,
                                                init_size=100, verbose=False)),
        "ART SignOPT": art(lambda c: ArtSignOPT(c, targeted=False, query_limit=10 * budget, k=200, verbose=False)),
        "Foolbox HSJA": foolbox(fb.attacks.HopSkipJumpAttack(steps=10_000)),
        "Foolbox Boundary": foolbox(fb.attacks.BoundaryAttack(steps=10 * budget)),
    }


def _victim(kind: str, data: dict) -> torch.nn.Module:
    if kind == "cnn16":
        return _load("cnn16", False, train_model({"arch": "cnn16", "rgb": False, "epochs": 30, "seed": 0})["state"])
    with torch_seeded(0):
        victim = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, 10)).double()
        opt = torch.optim.Adam(victim.parameters(), lr=1e-2)
        xa, ya = torch.tensor(data["xa"]), torch.tensor(data["ya"])
        for _ in range(300):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(victim(xa), ya).backward()
            opt.step()
    return victim.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 images, 2K queries (default: 20 images, 4K)")
    ap.add_argument("--images", type=int, default=None)
    ap.add_argument("--victim", choices=["cnn16", "linear"], default="cnn16")
    ap.add_argument("--no-peers", action="store_true", help="our methods only")
    ap.add_argument("--peers", default=None, help="comma-separated subset of the peers (default: all)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each of our methods (interleaved; fastest kept)")
    ap.add_argument("--src", default=None, help="import stablelearn from this source tree")
    ap.add_argument("--tag", default="", help="suffix of the results file")
    args = ap.parse_args()
    load = [os.getloadavg()[0]]
    n = args.images or (5 if args.quick else 20)
    budget = 2000 if args.quick else 4000
    budgets = [b for b in (500, 1000, 2000, 4000) if b <= budget]
    logging.disable(logging.WARNING)

    with limit_threads(1):
        data = digits32()
        victim = Timed(_victim(args.victim, data))
        s1 = Timed(_load("s1_mlp", False, train_model({"arch": "s1_mlp", "rgb": False, "epochs": 30, "seed": 0})["state"]))
        with torch.no_grad():
            pred = victim.model(torch.tensor(data["xt"])).argmax(1).numpy()
        idx = np.flatnonzero(pred == data["yt"])[:n]
        x, y = data["xt"][idx], data["yt"][idx]

        runs = {}
        ours = {"HSJA (ours)": HopSkipJump(), "Sign-OPT (ours, reference)": SignOPT(q=100),
                "Sign-OPT (ours, cheap)": SignOPT(q=100, line_search="cheap"),
                "Prior-OPT S1 (ours)": PriorOPT([s1], q=100), "ARS-OPT (ours)": ARSOPT(q=100),
                "PARS-OPT S1 (ours)": PARSOPT([s1], q=100)}
        for _ in range(args.repeat):
            for name, attack in ours.items():
                oracle = HardLabelOracle(victim, budget=budget)
                victim.reset()
                s1.reset()
                t, c = time.perf_counter(), time.process_time()
                attack(oracle, x, y, seed=0, progress=False)
                run = (name, oracle, time.perf_counter() - t, time.process_time() - c, victim.seconds, victim.cpu,
                       s1.cpu, victim.rows, victim.calls, [])
                if name not in runs or run[3] < runs[name][3]:
                    runs[name] = run
        chosen = peers(budget) if not args.no_peers else {}
        if args.peers:
            chosen = {k: v for k, v in chosen.items() if k in args.peers.split(",")}
        for name, run in chosen.items():
            oracle = HardLabelOracle(victim, budget=budget)
            oracle.start(x, y)
            victim.reset()
            errors = []
            t, c = time.perf_counter(), time.process_time()
            for i in range(n):
                try:
                    run(oracle.as_module(i, 10), x[i:i + 1], y[i:i + 1])
                except BudgetExhausted:
                    pass
                except Exception as e:  # noqa: BLE001 - a peer's failure is a result, recorded per image
                    errors.append(f"image {i}: {type(e).__name__}: {e}"[:160])
            runs[name] = (name, oracle, time.perf_counter() - t, time.process_time() - c, victim.seconds, victim.cpu,
                          0.0, victim.rows, victim.calls, errors)
    load.append(os.getloadavg()[0])

    quality, cost = [], []
    for name, oracle, wall, cpu, vsec, vcpu, scpu, rows, calls, errors in runs.values():
        D = oracle.distances_at(np.array(budgets))
        used = int(oracle.queries.sum())
        quality.append([name] + [float(np.median(D[:, j])) for j in range(len(budgets))]
                       + [float(np.mean(D[:, -1])), int(np.sum(~np.isfinite(D[:, -1]))), used / n])
        cost.append([name, wall / max(used, 1) * 1000, cpu / max(used, 1) * 1000, vcpu / max(used, 1) * 1e6,
                     (cpu - vcpu) / max(used, 1) * 1e6, scpu / max(used, 1) * 1e6, (cpu - vcpu) / max(vcpu, 1e-12),
                     (cpu - vcpu - scpu) / max(vcpu, 1e-12), (wall - vsec) / max(vsec, 1e-12), rows / max(calls, 1),
                     len(errors)])
    t1 = print_table(f"{args.victim} victim, {n} images, budget {budget}, clip to [0, 1], untargeted: distortion",
                     ["method"] + [f"median l2 @{b}" for b in budgets] + [f"mean l2 @{budget}", "failures",
                                                                          "queries / image"], quality)
    t2 = print_table(f"{args.victim} victim: cost per query (one thread; load average {load[0]:.1f} -> {load[1]:.1f})",
                     ["method", "wall s / image / 1K queries", "CPU s / image / 1K queries", "victim CPU us / query",
                      "own CPU us / query", "of which surrogate forwards us / query", "own / victim (CPU)",
                      "own without surrogate forwards / victim (CPU)", "own / victim (wall)", "rows per victim call",
                      "errors"], cost,
                     caption="victim = inside the victim's forward; own = the rest (the attack's arithmetic and "
                             "random draws, the oracle's bookkeeping, surrogate forwards and gradients, the peers' "
                             f"wrappers); our methods: fastest CPU of {args.repeat} interleaved run(s).")
    write_results(f"attacks_peers_{args.victim}" + (f"_{args.tag}" if args.tag else ""),
                  {"distortion": t1, "cost": t2, "images": n, "budget": budget, "load": load, "repeat": args.repeat,
                   "errors": {r[0]: r[-1] for r in runs.values() if r[-1]}})


if __name__ == "__main__":
    main()
