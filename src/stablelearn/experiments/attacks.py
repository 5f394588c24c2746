"""Reproduction of ARS-OPT / PARS-OPT (arXiv 2512.21241) at CPU scale (docs/attacks.md, "Reproduction").

Digits upsampled to 32x32 (digits-32, d=1024; digits-RGB-32, d=3072, as a secondary configuration), a CNN
victim (a wide MLP victim of another family as a secondary configuration), surrogates trained on the
disjoint half; every method runs through the same budget-exact :class:`HardLabelOracle`; distortion is the
oracle's best-so-far l2 at each budget. The headline tables run without clipping, as the paper (Eq. 3) and
the authors' code; clip mode is an extra table. Methods with surrogates are measured on the images every
surrogate they use classifies correctly (the authors' filter, ``PARS_OPT/pars_opt_l2_norm_attack.py``
L855-866). Claims C1-C8 name the cells of the paper's Tables 1-2 they come from and are judged on paired
per-image differences (mean over seeds) with a bootstrap 95 % interval: holds / fails / inconclusive.
A pilot on images disjoint from the evaluation images chooses the ray methods' g_max for digits.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from stablelearn._conventions import limit_threads, torch_generator, torch_seeded
from stablelearn.attacks import (ARSOPT, OPT, PARSOPT, ARSOPTSubspace, HardLabelOracle, HopSkipJump, PriorOPT,
                                 PriorSignOPT, SignOPT)
from stablelearn.runtime import Context, Experiment, Result, Table, cell_cache

from ._attacks_claims import Runs, _claims, _mean_table, _orderings, _regime, _surrogate_names

# ----------------------------------------------------------------------------- data and models


@functools.lru_cache(maxsize=2)
def digits32(rgb: bool = False, seed: int = 0) -> dict[str, np.ndarray]:
    """digits-32 (or digits-RGB-32): sklearn digits / 16, bilinearly upsampled to 32x32, clamped to [0, 1].

    A fixed permutation (``seed``) splits them into half A (648, victims), half B (649, surrogates) and 500
    test images. digits-RGB-32 (reconstructed, docs/attacks.md) adds random foreground/background colours
    and +-2 px shifts. Cached per process: callers must not modify the arrays.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    x = torch.tensor(X / 16.0, dtype=torch.float64).reshape(-1, 1, 8, 8)
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1).numpy()
    rng = np.random.default_rng(seed)
    if rgb:
        fg, bg = rng.uniform(0, 1, (len(x), 3, 1, 1)), rng.uniform(0, 1, (len(x), 3, 1, 1))
        x = np.clip(bg + (fg - bg) * x, 0, 1)
        for i, (dy, dx) in enumerate(rng.integers(-2, 3, (len(x), 2))):
            x[i] = np.roll(x[i], (dy, dx), axis=(1, 2))
    perm = np.random.default_rng(seed).permutation(len(x))
    x, y = x[perm], y[perm]
    return {"xa": x[:648], "ya": y[:648], "xb": x[648:1297], "yb": y[648:1297], "xt": x[1297:], "yt": y[1297:]}


def _pool2(x: torch.Tensor) -> torch.Tensor:
    """2x2 max pooling as the maximum of four strided views: the same values as ``F.max_pool2d(x, 2)``
    and about 7x faster in float64 on CPU (measured, docs/attacks.md "Speed")."""
    return torch.maximum(torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]),
                         torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))


class CNN(nn.Module):
    """conv k x k c_in->w, pool, conv k x k w->2w, pool, FC -> hidden -> 10 (victim CNN-16 / CNN-8, surrogate
    CNN-8 5x5). Pooling comes before the ReLU (the two commute exactly, and pooling first is cheaper)."""

    def __init__(self, c_in: int, width: int, k: int, hidden: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(c_in, width, k, padding=k // 2)
        self.c2 = nn.Conv2d(width, 2 * width, k, padding=k // 2)
        self.f1 = nn.Linear(2 * width * 64, hidden)
        self.f2 = nn.Linear(hidden, 10)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(_pool2(self.c1(x)))
        x = F.relu(_pool2(self.c2(x)))
        return self.f2(self.drop(F.relu(self.f1(x.flatten(1)))))


def mlp(c_in: int, hidden: int, dropout: float = 0.0) -> nn.Module:
    """Flatten -> Linear(c_in*1024, hidden) -> ReLU -> Dropout -> Linear(hidden, 10)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(c_in * 1024, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, 10))


ARCHS = {  # victims CNN-16 / CNN-8 (3x3) and a wide MLP with dropout (another family); surrogates S1, S2
    "cnn16": lambda c: CNN(c, 16, 3), "cnn8": lambda c: CNN(c, 8, 3), "mlp_wide": lambda c: mlp(c, 512, 0.2),
    "s1_mlp": lambda c: mlp(c, 256), "s2_cnn8": lambda c: CNN(c, 8, 5),
}


def train_model(cell: dict[str, Any]) -> dict[str, Any]:
    """Cell: train one model (Adam 1e-3, batch 64) on half A (victims) or B (surrogates); float32 weights.

    The caller's torch RNG is left as it was (training runs inside :func:`torch_seeded`).
    """
    data = digits32(cell["rgb"])
    half = "b" if cell["arch"].startswith("s") else "a"
    x, y = torch.tensor(data["x" + half], dtype=torch.float32), torch.tensor(data["y" + half])
    with torch_seeded(cell["seed"]), limit_threads(1):
        model = ARCHS[cell["arch"]](3 if cell["rgb"] else 1)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        g = torch_generator(cell["seed"])
        for _ in range(cell["epochs"]):
            model.train()
            for idx in torch.randperm(len(x), generator=g).split(64):
                opt.zero_grad()
                F.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()
        model.eval()
        with torch.no_grad():
            acc = (model(torch.tensor(data["xt"], dtype=torch.float32)).argmax(1).numpy() == data["yt"]).mean()
    return {"state": {k: v.clone() for k, v in model.state_dict().items()}, "test_acc": float(acc)}


def _load(arch: str, rgb: bool, state: dict[str, torch.Tensor]) -> nn.Module:
    """A trained model in float64 (its throwaway initialisation does not touch the caller's torch RNG)."""
    with torch_seeded(0):
        m = ARCHS[arch](3 if rgb else 1)
    m.load_state_dict(state)
    return m.double().eval()  # float64 so that 2e-6 bisections are meaningful


@cell_cache(maxsize=8)
def _models(models: dict[str, Any]) -> dict[str, nn.Module]:
    """The trained models, loaded from ``models["path"]`` (written by ``run``) or retrained deterministically
    (a cell running on a machine that cannot see the path)."""
    p = Path(models["path"])
    if p.exists():
        states = torch.load(p, weights_only=True)
    else:
        states = {a: train_model({"arch": a, "rgb": models["rgb"], "epochs": models["epochs"], "seed": models["seed"]})["state"]
                  for a in models["archs"]}
    return {a: _load(a, models["rgb"], s) for a, s in states.items()}


# ----------------------------------------------------------------------------- methods

def make_attack(method: str, models: dict[str, nn.Module], q: int, g_max: float, line_search: str) -> Any:
    """The attack object of a method name; ray methods share ``g_max`` (the chosen preset), the line-search
    baselines use ``line_search`` ("reference" by default)."""
    sur = [models[a] for a in _surrogate_names(method)]
    base = method.rsplit(" ", 1)[0] if sur else method
    ars = dict(q=q, g_max=g_max)
    return {
        "OPT": lambda: OPT(q=20, line_search=line_search),
        "Sign-OPT": lambda: SignOPT(q=q, line_search=line_search),
        "HSJA": lambda: HopSkipJump(),
        "ARS-OPT": lambda: ARSOPT(**ars), "ARS-OPT a=0": lambda: ARSOPT(lookahead=False, **ars),
        "ARS-OPT-S": lambda: ARSOPTSubspace(subspace=(16, 16), **ars),
        "PARS-OPT": lambda: PARSOPT(sur, **ars),
        "Prior-OPT": lambda: PriorOPT(sur, q=q, g_max=g_max, line_search=line_search),
        "Prior-Sign-OPT": lambda: PriorSignOPT(sur, q=q, g_max=g_max, line_search=line_search),
    }[base]()


def _setup(cell: dict[str, Any]) -> tuple[dict[str, nn.Module], dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Models, data, the evaluation (or pilot) image indices and the surrogate-correctness flags."""
    models = _models(cell["models"])
    data = digits32(cell["rgb"])
    xt = torch.tensor(data["xt"])
    with torch.no_grad():
        pred = models[cell["victim"]](xt).argmax(1).numpy()
        ok_sur = np.stack([models[a](xt).argmax(1).numpy() == data["yt"] for a in ("s1_mlp", "s2_cnn8")], 1)
    right = np.flatnonzero(pred == data["yt"])
    # evaluation images: the first n_images correctly classified; pilot images: the last ones (disjoint)
    idx = right[:cell["n_images"]] if not cell.get("pilot") else right[::-1][:cell["n_images"]]
    return models, data, idx, ok_sur


def attack_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Cell: one method x victim x clip mode x (un)targeted x seed x chunk of images."""
    with limit_threads(1):
        models, data, idx, ok_sur = _setup(cell)
        idx = idx[cell["start"]:cell["start"] + cell["chunk"]]
        victim = models[cell["victim"]]
        x, y = data["xt"][idx], data["yt"][idx]
        target = starts = None
        if cell["targeted"]:  # y_adv = (y+1) mod 10, starting from the first correct training image of it
            target = (y + 1) % 10
            with torch.no_grad():
                pa = victim(torch.tensor(data["xa"])).argmax(1).numpy()
            right = [(data["ya"] == c) & (pa == c) for c in range(10)]
            first = {c: np.flatnonzero(right[c] if right[c].any() else data["ya"] == c)[0] for c in range(10)}
            starts = data["xa"][[first[t] for t in target]]
        oracle = HardLabelOracle(victim, budget=cell["budget"], clip=(0.0, 1.0) if cell["clip"] else None)
        attack = make_attack(cell["method"], models, cell["q"], cell["g_max"], cell["line_search"])
        res = attack(oracle, x, y, target=target, starting_points=starts,
                     seed=np.random.SeedSequence([cell["run_seed"], cell["seed"], cell["start"]]), progress=False)
    grid = np.arange(250, cell["budget"] + 1, 250)
    out = {"grid": grid, "dist": res.distance_at(grid), "queries": res.queries, "status": res.status,
           "ok_sur": ok_sur[idx], "wall_time": res.wall_time}
    hist = [i["history"] for i in res.info if i.get("history")]
    if hist:
        out["history"] = {k: [np.asarray(h[k], dtype=float) for h in hist]
                          for k in ("D_hat", "zeta", "g1_norm", "clipped", "m_step")}
    return out


# ----------------------------------------------------------------------------- run


def run(ctx: Context) -> Result:
    """The experiment (see the module docstring); cells run through ``ctx.map`` and resume."""
    with limit_threads(1):
        return _run(ctx)


def _run(ctx: Context) -> Result:
    c = ctx.config
    tables, claims, figures, data = [], [], {}, {}
    notes = []
    import matplotlib.pyplot as plt

    for config in c["configs"]:
        rgb, victim = config["rgb"], config["victim"]
        tag = ("digits-RGB-32" if rgb else "digits-32") + f" / {victim}"
        d = (3 if rgb else 1) * 1024
        q = c["q"] * (3 if rgb else 1)
        archs = [victim, "s1_mlp", "s2_cnn8"]
        tr = ctx.map(train_model, [{"arch": a, "rgb": rgb, "epochs": c["epochs"], "seed": ctx.seed} for a in archs],
                     desc=f"train {tag}")
        path = ctx.dir / f"models_{'rgb' if rgb else 'grey'}_{victim}.pt"
        torch.save({a: r["state"] for a, r in zip(archs, tr)}, path)
        _models.cache_clear()
        tables.append(Table(f"{tag}: test accuracy of the trained models", ["model", "test acc"],
                            [[a, r["test_acc"]] for a, r in zip(archs, tr)]))
        base = {"models": {"path": str(path), "archs": archs, "rgb": rgb, "epochs": c["epochs"], "seed": ctx.seed},
                "rgb": rgb, "victim": victim, "q": q, "line_search": c["line_search"], "run_seed": ctx.seed}

        # --- preset study: pilot on images disjoint from the evaluation images
        pilot = c["pilot"]
        pcells = [dict(base, pilot=True, n_images=pilot["n_images"], start=0, chunk=pilot["n_images"],
                       method="ARS-OPT", targeted=False, clip=False, budget=pilot["budget"], seed=0,
                       g_max=g) for g in pilot["g_max"]]
        pouts = ctx.map(attack_cell, pcells, desc=f"pilot {tag}")
        prow, pmean = [], {}
        for cell, o in zip(pcells, pouts):
            if o is None:
                continue
            fin = o["dist"][:, -1]
            pmean[cell["g_max"]] = float(np.mean(fin))
            cl = np.concatenate(o["history"]["clipped"])
            ms = np.concatenate(o["history"]["m_step"])
            prow.append([cell["g_max"], float(np.mean(o["dist"][:, len(o["grid"]) // 2])), float(np.mean(fin)),
                         float(np.mean(cl)), float(np.median(ms))])
        cifar_clip = next((row[3] for row in prow if row[0] == 0.1), 0.0)
        g_star = min(pmean, key=pmean.get) if cifar_clip >= 0.9 else 0.1
        tables.append(Table(f"{tag}: preset study (pilot: ARS-OPT, lr=2, {pilot['n_images']} images disjoint from the "
                            f"evaluation images, 1 seed, no clip, untargeted)",
                            ["g_max", f"mean l2 @{pcells[0]['budget'] // 2}", f"mean l2 @{pcells[0]['budget']}",
                             "iterations with g1 clipped", "median momentum step"], prow,
                            caption=f"Rule (fixed before the run): when the CIFAR preset (g_max=0.1) clips g1 in >= 90 % of "
                                    f"the pilot's iterations, every ray method (ARS/PARS-OPT, their ablation, ARS-OPT-S, "
                                    f"and Prior-OPT's clip) uses the g_max with the lowest pilot mean l2 at the pilot "
                                    f"budget; otherwise the CIFAR value. Chosen: g_max = {g_star}."))
        notes.append(f"{tag}: the pilot chose g_max = {g_star} (CIFAR preset clipped g1 in {cifar_clip:.0%} of the "
                     "pilot iterations).")

        # --- evaluation cells, in priority order (claims first, seed by seed, so a partial run is useful)
        n, ch = config["n_images"], c["chunk"]
        budget_u, budget_t = config.get("budget", c["budget"]), config.get("targeted_budget", c["targeted_budget"])
        groups = [(False, False, config["methods"], budget_u, config["seeds"]),
                  (True, False, config["targeted_methods"], budget_t, config["seeds"]),
                  (False, False, config.get("extra_methods", []), budget_u, 1),
                  (False, True, config["clip_methods"], budget_u, 1)]
        presets = [g_star] + ([0.1] if g_star != 0.1 else [])
        cells = []

        def add(method: str, targeted: bool, clip: bool, budget: int, k: int, g: float) -> None:
            cells.extend(dict(base, n_images=n, start=start, chunk=ch, method=method, targeted=targeted, clip=clip,
                              budget=budget, seed=k, g_max=g) for start in range(0, n, ch))

        for k in range(config["seeds"]):
            for targeted, clip, methods, budget, seeds in groups:
                for m in methods if k < seeds else []:
                    add(m, targeted, clip, budget, k, g_star)
            for g in presets[1:]:
                for m in config["cifar_methods"] if k == 0 else []:
                    add(m, False, False, budget_u, k, g)
        outs = ctx.map(attack_cell, cells, desc=f"attacks {tag}")
        runs = Runs()
        for cell, o in zip(cells, outs):
            runs.add((victim, cell["targeted"], cell["clip"], cell["method"] + ("" if cell["g_max"] == g_star
                                                                                else " [cifar]")),
                     cell["seed"], cell["start"], len(range(0, n, ch)), o)
        runs.finish()
        missing = sum(o is None for o in outs)
        thr = math.sqrt(0.001 * d)
        report_u = [b for b in c["report"] if b <= budget_u]
        report_t = [b for b in c["targeted_report"] if b <= budget_t]
        shown = [(False, False, config["methods"] + config.get("extra_methods", [])),
                 (True, False, config["targeted_methods"]), (False, True, config["clip_methods"])]
        for targeted, clip, methods in shown:
            keys = [(victim, targeted, clip, m) for m in methods if (victim, targeted, clip, m) in runs.r]
            if not keys:
                continue
            budgets = report_t if targeted else report_u
            mode = f"{'clip' if clip else 'no clip'}, {'targeted' if targeted else 'untargeted'}"
            tables.append(_mean_table(runs, f"{tag} {mode}, g_max={g_star}: mean / median l2 at each budget "
                                            f"(seeds per method: {', '.join(str(len(runs.r[k]['seeds'])) for k in keys)})",
                                      keys, budgets, thr))
            fig, ax = plt.subplots(figsize=(6, 4))
            for k in keys:
                ax.plot(runs.r[k]["grid"], np.median(runs.r[k]["dist"].reshape(-1, len(runs.r[k]["grid"])), axis=0),
                        label=k[3])
            ax.set(xlabel="queries", ylabel="median best-so-far l2", yscale="log", title=f"{tag} {mode}")
            ax.legend(fontsize=7)
            figures[f"{tag}_{'clip' if clip else 'noclip'}_{'tgt' if targeted else 'untgt'}"] = fig
            data[f"{tag}|{mode}"] = {k[3]: {"budgets": budgets, "images": int(runs.mask([k[3]], k).sum()),
                                            "mean": [float(np.mean(runs.at(k, b)[:, runs.mask([k[3]], k)]))
                                                     for b in budgets]} for k in keys}
        keys = [(victim, False, False, m + sfx) for sfx in (" [cifar]", "") for m in config["cifar_methods"]]
        keys = [k for k in keys if k in runs.r]
        if len(presets) > 1 and keys:
            tables.append(_mean_table(runs, f"{tag}: both presets, no clip, untargeted ([cifar] = g_max 0.1; "
                                            f"unmarked = g_max {g_star})", keys, report_u, thr))
        reg = _regime(runs, [k for k in runs.r if not k[2]], f"g_max={g_star}")
        if reg:
            tables.append(Table(f"{tag}: the regime of the ray methods (per iteration)",
                                ["preset", "method", "iterations", "g1 clipped", "median ||g1|| before clip",
                                 "median ||momentum step||", "momentum step > 1 rad"], reg))
        for cfg in ((victim, False, False), (victim, True, False)):
            t = _orderings(runs, cfg, report_t if cfg[1] else report_u)
            if t.rows:
                tables.append(t)
        if config.get("claims"):
            claims += _claims(runs, dict(c, seeds=config["seeds"], report=report_u, targeted_report=report_t,
                                         budget=budget_u, targeted_budget=budget_t, lr=2.0,
                                         methods=config["methods"] + config.get("extra_methods", [])), victim, d)
        wall = sum(r["wall_time"] for r in runs.r.values())
        notes.append(f"{tag}: {len(cells) - missing} of {len(cells)} attack cells finished"
                     + (f" (the {missing} missing ones are left out: only methods and seeds with every image chunk "
                        "finished are shown)" if missing else "") + f", {wall:.0f} s of attack time in total.")
    return Result(claims=claims, tables=tables, figures=figures, notes=_notes(c) + " " + " ".join(notes), data=data)


def _notes(c: dict[str, Any]) -> str:
    return (
        f"Budgets: untargeted {c['budget']}, targeted {c['targeted_budget']} (y_adv = y+1 mod 10, starting from the "
        f"first correctly classified training image of that class); q = {c['q']} probes per iteration on digits-32 "
        f"(x3 on RGB); models trained {c['epochs']} epochs; images in chunks of {c['chunk']}. Distortion = the "
        "oracle's best-so-far l2 (the authors' code logs the current iterate). All methods use the same oracle: "
        "1 query = 1 victim forward on 1 input; init searches count. Baselines use the authors' line search "
        f"(line_search='{c['line_search']}'). 'ARS-OPT a=0' is the lookahead ablation (not in the paper); "
        "'ARS-OPT-S' samples at 16x16 (the authors' factor 4 would give 8x8 = 64 < q).")


def _config(victim: str, rgb: bool, n: int, seeds: int, methods: list[str], targeted: list[str], *,
            extra: list[str] = (), clip: list[str] = (), cifar: list[str] = (), claims: bool = False,
            budget: int | None = None) -> dict[str, Any]:
    """One configuration (victim x dataset): ``methods``/``targeted`` run ``seeds`` seeds; ``extra``
    (untargeted), ``clip`` (clip mode) and ``cifar`` (the g_max=0.1 preset, when the pilot chose another)
    run one seed; ``budget`` overrides the profile's budgets."""
    out = {"victim": victim, "rgb": rgb, "n_images": n, "seeds": seeds, "methods": list(methods),
           "targeted_methods": list(targeted), "extra_methods": list(extra), "clip_methods": list(clip),
           "cifar_methods": list(cifar), "claims": claims}
    if budget is not None:
        out["budget"] = out["targeted_budget"] = budget
    return out


CLAIM_U = ["Sign-OPT", "Prior-OPT S1", "ARS-OPT a=0", "ARS-OPT", "PARS-OPT S1", "PARS-OPT S1+S2"]
CLAIM_T = ["Sign-OPT", "ARS-OPT", "ARS-OPT-S", "PARS-OPT S1", "Prior-OPT S1"]
SECONDARY = ["Sign-OPT", "Prior-OPT S1", "ARS-OPT", "PARS-OPT S1"]
BUDGETS = [2000, 4000, 6000, 8000, 10000]

#: The full profile (about 2 h on 2 quiet cores, estimated): the claims' methods on 100 images x 3 seeds up to
#: 10K queries, untargeted and targeted, on the CNN-16 victim; the other baselines, clip mode and the CIFAR
#: preset on 1 seed; the wide-MLP victim and digits-RGB-32 as secondary configurations at 4K, 1 seed.
FULL = {"configs": [_config("cnn16", False, 100, 3, CLAIM_U, CLAIM_T,
                            extra=["HSJA", "Prior-Sign-OPT S1", "Prior-OPT S1+S2", "ARS-OPT-S"],
                            clip=["Sign-OPT", "ARS-OPT"], cifar=["ARS-OPT", "PARS-OPT S1"], claims=True),
                    _config("mlp_wide", False, 100, 1, SECONDARY, [], budget=4000),
                    _config("cnn16", True, 50, 1, SECONDARY, [], budget=4000)],
        "epochs": 30, "q": 100, "chunk": 25, "budget": 10000, "report": BUDGETS,
        "targeted_budget": 10000, "targeted_report": BUDGETS, "line_search": "reference",
        "pilot": {"n_images": 20, "budget": 4000, "g_max": [0.1, 0.3, 1.0, 3.0]}}

#: What fits one shared 2-core session of about an hour: the primary configuration only, the claims'
#: methods on 100 images x 3 seeds at 4K queries (the paper's 2K and 4K columns).
SESSION = dict(FULL, configs=[_config("cnn16", False, 100, 3, CLAIM_U, CLAIM_T, claims=True)],
               budget=4000, targeted_budget=4000, report=[2000, 4000], targeted_report=[2000, 4000],
               pilot={"n_images": 10, "budget": 2000, "g_max": [0.1, 0.3, 1.0, 3.0]})

QUICK = {"configs": [_config("cnn8", False, 20, 1, CLAIM_U, ["Sign-OPT", "ARS-OPT", "ARS-OPT-S"], clip=["ARS-OPT"],
                             claims=True)],
         "epochs": 8, "q": 100, "chunk": 20, "budget": 2000, "report": [500, 1000, 2000],
         "targeted_budget": 2000, "targeted_report": [500, 1000, 2000], "line_search": "reference",
         "pilot": {"n_images": 5, "budget": 1000, "g_max": [0.1, 1.0]}}

EXPERIMENT = Experiment(
    name="attacks",
    description="ARS-OPT/PARS-OPT hard-label attacks vs Sign-OPT, Prior-OPT, HSJA on digits-32 (claims C1-C8 "
                "from the paper's Tables 1-2, judged by paired bootstrap intervals)",
    run=run, quick=QUICK, full=FULL,
    expected_time={"quick": "2-3 min", "full": "about 2 h on 2 quiet cores (estimated from per-query costs)"},
    version="2",
)
