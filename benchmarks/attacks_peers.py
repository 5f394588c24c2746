"""Our hard-label attacks against ART's and Foolbox's, through ONE counting oracle, with per-query costs.

Same victim (digits-32 CNN-16, float64, trained as in the reproduction), same images, same budget, clip mode
(the peers clip), untargeted. Every attack, ours or a peer's, sees the victim only through
:class:`stablelearn.attacks.HardLabelOracle`, so the query counts are the true ones (the peers' own
clean-image checks included) and the distortion is the oracle's best-so-far l2 at each query count. Peers run
one image at a time (their own loops) and are stopped by ``BudgetExhausted``; ours run all images in lockstep.

The victim is wrapped in a timer, so each row splits the wall time into the victim's forward passes and
everything else (the library's own overhead, surrogate gradients included), per query.

    python benchmarks/attacks_peers.py [--quick] [--images N] [--victim cnn16|linear]

``--victim linear`` uses a softmax-regression victim whose forward is nearly free (overhead isolated).
Prints Markdown tables and writes ``benchmarks/results/attacks_peers_<victim>.json``.
"""
from __future__ import annotations

import argparse
import logging
import time

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
        self.model, self.seconds, self.rows, self.calls = model, 0.0, 0, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = time.perf_counter()
        out = self.model(x)
        self.seconds += time.perf_counter() - t
        self.rows += len(x)
        self.calls += 1
        return out

    def reset(self) -> None:
        self.seconds, self.rows, self.calls = 0.0, 0, 0


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
    args = ap.parse_args()
    n = args.images or (5 if args.quick else 20)
    budget = 2000 if args.quick else 4000
    budgets = [b for b in (500, 1000, 2000, 4000) if b <= budget]
    logging.disable(logging.WARNING)

    with limit_threads(1):
        data = digits32()
        victim = Timed(_victim(args.victim, data))
        s1 = _load("s1_mlp", False, train_model({"arch": "s1_mlp", "rgb": False, "epochs": 30, "seed": 0})["state"])
        with torch.no_grad():
            pred = victim.model(torch.tensor(data["xt"])).argmax(1).numpy()
        idx = np.flatnonzero(pred == data["yt"])[:n]
        x, y = data["xt"][idx], data["yt"][idx]

        runs = []
        ours = {"HSJA (ours)": HopSkipJump(), "Sign-OPT (ours, reference)": SignOPT(q=100),
                "Sign-OPT (ours, cheap)": SignOPT(q=100, line_search="cheap"),
                "Prior-OPT S1 (ours)": PriorOPT([s1], q=100), "ARS-OPT (ours)": ARSOPT(q=100),
                "PARS-OPT S1 (ours)": PARSOPT([s1], q=100)}
        for name, attack in ours.items():
            oracle = HardLabelOracle(victim, budget=budget)
            victim.reset()
            t = time.perf_counter()
            attack(oracle, x, y, seed=0, progress=False)
            runs.append((name, oracle, time.perf_counter() - t, victim.seconds, victim.rows, victim.calls, []))
        for name, run in ({} if args.no_peers else peers(budget)).items():
            oracle = HardLabelOracle(victim, budget=budget)
            oracle.start(x, y)
            victim.reset()
            errors = []
            t = time.perf_counter()
            for i in range(n):
                try:
                    run(oracle.as_module(i, 10), x[i:i + 1], y[i:i + 1])
                except BudgetExhausted:
                    pass
                except Exception as e:  # noqa: BLE001 - a peer's failure is a result, recorded per image
                    errors.append(f"image {i}: {type(e).__name__}: {e}"[:160])
            runs.append((name, oracle, time.perf_counter() - t, victim.seconds, victim.rows, victim.calls, errors))

    quality, cost = [], []
    for name, oracle, wall, vsec, rows, calls, errors in runs:
        D = oracle.distances_at(np.array(budgets))
        used = int(oracle.queries.sum())
        quality.append([name] + [float(np.median(D[:, j])) for j in range(len(budgets))]
                       + [float(np.mean(D[:, -1])), int(np.sum(~np.isfinite(D[:, -1]))), used / n])
        cost.append([name, wall / max(used, 1) * 1000, vsec / max(used, 1) * 1e6,
                     (wall - vsec) / max(used, 1) * 1e6, vsec / wall, (wall - vsec) / max(vsec, 1e-12),
                     rows / max(calls, 1), len(errors)])
    t1 = print_table(f"{args.victim} victim, {n} images, budget {budget}, clip to [0, 1], untargeted: distortion",
                     ["method"] + [f"median l2 @{b}" for b in budgets] + [f"mean l2 @{budget}", "failures",
                                                                          "queries / image"], quality)
    t2 = print_table(f"{args.victim} victim: cost per query (one thread)",
                     ["method", "s / image / 1K queries", "victim us / query", "own overhead us / query",
                      "victim share of wall", "overhead / victim", "rows per victim call", "errors"], cost,
                     caption="victim time = time inside the victim's forward; own overhead = the rest of the "
                             "wall time (the attack's arithmetic, surrogate gradients, the peers' wrappers).")
    write_results(f"attacks_peers_{args.victim}", {"distortion": t1, "cost": t2, "images": n, "budget": budget,
                                                   "errors": {r[0]: r[6] for r in runs if r[6]}})


if __name__ == "__main__":
    main()
