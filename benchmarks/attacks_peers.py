"""ARS-OPT / PARS-OPT against ART and Foolbox hard-label attacks, through ONE counting oracle.

Same victim (digits-32 CNN-16, float64), same images, same budget; every attack, ours or a peer's, sees
the victim only through :class:`stablelearn.attacks.HardLabelOracle`, so the query counts are the true
ones (the peers' own clean-image checks included) and the distortion is the oracle's best-so-far l2 at
each query count. Peers run one image at a time (their own loops) and are stopped by
``BudgetExhausted`` at the budget; ours run all images in lockstep.

    python benchmarks/attacks_peers.py [--quick]

prints a Markdown table and writes ``benchmarks/results/attacks_peers_<victim>.json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from stablelearn.attacks import ARSOPT, PARSOPT, BudgetExhausted, HardLabelOracle, HopSkipJump, SignOPT
from stablelearn.experiments.attacks import _load, digits32, train_model


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


def _finite(obj):
    """inf/NaN -> None, recursively, so the JSON is standard."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return None if isinstance(obj, float) and not np.isfinite(obj) else obj


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 images, 2K queries (default: 20 images, 4K)")
    ap.add_argument("--images", type=int, default=None)
    ap.add_argument("--victim", choices=["cnn16", "linear"], default="cnn16",
                    help="linear: a softmax-regression victim whose forward is nearly free, so the timing "
                         "column measures each library's own overhead per query")
    args = ap.parse_args()
    n = args.images or (5 if args.quick else 20)
    budget = 2000 if args.quick else 4000
    budgets = [b for b in (500, 1000, 2000, 4000) if b <= budget]
    logging.disable(logging.WARNING)
    torch.set_num_threads(1)

    data = digits32()
    if args.victim == "linear":
        victim = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, 10)).double()
        torch.manual_seed(0)
        opt = torch.optim.Adam(victim.parameters(), lr=1e-2)
        xa, ya = torch.tensor(data["xa"]), torch.tensor(data["ya"])
        for _ in range(300):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(victim(xa), ya).backward()
            opt.step()
        victim.eval()
    else:
        victim = _load("cnn16", False, train_model({"arch": "cnn16", "rgb": False, "epochs": 30, "seed": 0})["state"])
    s1 = _load("s1_mlp", False, train_model({"arch": "s1_mlp", "rgb": False, "epochs": 30, "seed": 0})["state"])
    with torch.no_grad():
        pred = victim(torch.tensor(data["xt"])).argmax(1).numpy()
    idx = np.flatnonzero(pred == data["yt"])[:n]
    x, y = data["xt"][idx], data["yt"][idx]

    rows, record = [], {"images": n, "budget": budget, "budgets": budgets, "methods": {}}
    ours = {"HSJA (ours)": HopSkipJump(), "Sign-OPT (ours)": SignOPT(q=100), "ARS-OPT (ours)": ARSOPT(q=100),
            "PARS-OPT S1 (ours)": PARSOPT([s1], q=100)}
    for name, attack in ours.items():
        oracle = HardLabelOracle(victim, budget=budget)
        t = time.perf_counter()
        attack(oracle, x, y, seed=0, progress=False)
        rows.append((name, oracle, time.perf_counter() - t, [""] * n))
    for name, run in peers(budget).items():
        oracle = HardLabelOracle(victim, budget=budget)
        oracle.start(x, y)
        errors = []
        t = time.perf_counter()
        for i in range(n):
            try:
                run(oracle.as_module(i, 10), x[i:i + 1], y[i:i + 1])
                errors.append("")
            except BudgetExhausted:
                errors.append("")
            except Exception as e:  # noqa: BLE001 - a peer's failure is a result, recorded per image
                errors.append(f"{type(e).__name__}: {e}"[:120])
        rows.append((name, oracle, time.perf_counter() - t, errors))

    cols = ["method"] + [f"median l2 @{b}" for b in budgets] + [f"mean l2 @{budget}", "failures", "queries used",
                                                                 "s / image / 1K queries"]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for name, oracle, wall, errors in rows:
        D = oracle.distances_at(np.array(budgets))
        used = int(oracle.queries.sum())
        per = wall / max(used, 1) * 1000
        med = [float(np.median(D[:, j])) for j in range(len(budgets))]
        fails = int(np.sum(~np.isfinite(D[:, -1])))
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in med) + f" | {np.mean(D[:, -1]):.3f} | {fails} | "
              f"{used / n:.0f} | {per:.3f} |")
        record["methods"][name] = {"median": med, "mean_final": float(np.mean(D[:, -1])), "failures": fails,
                                   "queries_per_image": used / n, "seconds_per_image_per_1k": per,
                                   "wall_s": wall, "errors": [e for e in errors if e]}
    out = Path(__file__).parent / "results" / f"attacks_peers_{args.victim}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(_finite(record), indent=1))
    print(f"\n{args.victim} victim, {n} images, budget {budget}, clip to [0, 1], untargeted; JSON: {out}")


if __name__ == "__main__":
    main()
