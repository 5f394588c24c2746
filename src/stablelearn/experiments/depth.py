"""Reproduction of arXiv 2512.21075 (depth-aware parametrisation of ResNets); protocol in ``docs/depth.md``.

Sweep A: LR x depth transfer (Adam, teacher; digits too in full) for depth-muP with two-layer blocks,
the reconstructed correction (beta = 1/2) and the one-layer control, trained batched (all LRs x seeds
of one network at once). Sweep B: first-internal-layer collapse (SGD, knock-outs), standard vs
decoupled backward; the same in the prototype's convention (readout multiplier 1/n, half the LR).
Sweep C: the GIA gap against depth for one-layer blocks. Coordinate check of SP and depth-muP over
width and depth. Correction study: the variants of the correction (beta, which layers, SGD or Adam) on
a tuning grid with their own seeds, one selected by a rule fixed in advance and evaluated unchanged on
sweep A's grids.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from stablelearn._conventions import limit_threads, spawn_seeds
from stablelearn.depth import (SP, DepthMuP, DepthMuPCorrected, ResidualMLP, coord_check, decoupled,
                               feature_updates, knockouts, lr_sweep, make_task, scheme_from_dict, snapshot, train)
from stablelearn.depth.diagnostics import CoordCheck
from stablelearn.depth.sweep import HIDDEN_ROLES
from stablelearn.runtime import Claim, Context, Experiment, Result, Table, loglog_slope

SCHEMES_A = {"depth-muP k=2": (DepthMuP(), 2), "corrected k=2": (DepthMuPCorrected(beta=0.5), 2),
             "depth-muP k=1": (DepthMuP(), 1)}
PROBE = 256


def _model(task, cell: dict, block_layers: int) -> torch.nn.Module:
    return ResidualMLP(task.in_dim, cell["width"], cell["depth"], task.out_dim, block_layers=block_layers,
                       scheme=scheme_from_dict(cell["scheme"]), base_width=cell.get("base_width", cell["width"]),
                       seed=cell["seed"])


def collapse_cell(cell: dict) -> dict:
    """Sweep B: train a two-layer-block net (standard or decoupled backward) with SGD; knock-outs and r."""
    task = make_task(cell["task"])
    model = _model(task, cell, 2)
    if cell["decoupled"]:
        model = decoupled(model, seed=spawn_seeds(cell["seed"], 1)[0])
    init = snapshot(model)
    res = train(model, task, lr=cell["lr"], steps=cell["steps"], optimizer="sgd", batch_size=cell["batch_size"],
                seed=cell["seed"], roles=HIDDEN_ROLES)
    x = task.X[:PROBE]
    if res.status != "completed":
        return {"status": res.status}
    fu = feature_updates(model, init, x)
    return {"status": "completed", "ko": knockouts(model, init, x).tolist(), "r_scaled": fu.scaled.tolist(),
            "stream_change": fu.stream_change, "final_loss": res.final_loss}


def gia_cell(cell: dict) -> dict:
    """Sweep C: the same one-layer-block net trained twice from one init, standard vs decoupled."""
    task = make_task(cell["task"])
    std = _model(task, cell, 1)
    dec = decoupled(std, seed=spawn_seeds(cell["seed"], 1)[0])
    kw = dict(lr=cell["lr"], steps=cell["steps"], optimizer="sgd", batch_size=cell["batch_size"],
              seed=cell["seed"], roles=HIDDEN_ROLES)
    r_std, r_dec = train(std, task, **kw), train(dec, task, **kw)
    if r_std.status != "completed" or r_dec.status != "completed":
        return {"status": r_std.status if r_std.status != "completed" else r_dec.status}
    with torch.no_grad():
        f_std, f_dec = std(task.X), dec(task.X)
    return {"status": "completed", "loss_std": r_std.final_loss, "loss_dec": r_dec.final_loss,
            "f_gap": float((f_std - f_dec).pow(2).mean().sqrt() / f_std.pow(2).mean().sqrt())}


def coord_cell(cell: dict) -> list[dict]:
    """Coordinate check of one scheme over the cell's widths (at the smallest depth) and depths."""
    task = make_task(cell["task"])
    scheme = scheme_from_dict(cell["scheme"])
    n0, L0 = min(cell["widths"]), min(cell["depths"])
    shapes = {(w, L0) for w in cell["widths"]} | {(n0, L) for L in cell["depths"]}
    models = {(w, L): (lambda w=w, L=L: ResidualMLP(task.in_dim, w, L, task.out_dim, block_layers=2,
                                                     scheme=scheme, base_width=n0, seed=cell["seed"]))
              for w, L in sorted(shapes)}
    return coord_check(models, task, lr=cell["lr"], steps=cell["steps"], optimizer="sgd",
                       batch_size=cell["batch_size"], seed=cell["seed"]).records


def _sweep_a(ctx: Context, cfg: dict, task: str, out: dict) -> tuple[list[Claim], list[Table]]:
    a = cfg["sweep_a"]
    widths = a["widths"]
    results = {}
    for k in (2, 1):
        schemes = {lab: s for lab, (s, kk) in SCHEMES_A.items() if kk == k}
        results[k] = lr_sweep(task, schemes, a["depths"], a["log2_lrs"], widths=widths,
                              seeds=[ctx.seed + s for s in range(a["seeds"])], block_layers=k,
                              optimizer="adam", steps=a["steps"], batch_size=cfg["batch_size"],
                              executor=ctx.executor, cache_dir=ctx.dir / "cells", fresh=ctx.fresh,
                              progress=ctx.progress)
    res_of = {lab: results[kk] for lab, (_, kk) in SCHEMES_A.items()}
    depths, Lmax, Lmin, W = a["depths"], max(a["depths"]), min(a["depths"]), max(widths)
    rows, drift, best, opt = [], {}, {}, {}
    for lab, res in res_of.items():
        for w in widths:
            drift[lab, w] = res.drift(lab, width=w, seed=ctx.seed)
            best[lab, w] = {d: res.best_loss(lab, d, w) for d in depths}
            opt[lab, w] = [res.optimum(lab, d, w) for d in depths]
            dr = drift[lab, w]
            rows.append([lab, w, *[f"{o.log2_lr:.2f}{'*' if o.at_edge else ''}" for o in opt[lab, w]],
                         f"{dr.slope:+.3f} [{dr.low:+.2f}, {dr.high:+.2f}]", *[best[lab, w][d] for d in depths]])
        out["figures"][f"A_{task}_{lab.replace(' ', '_').replace('=', '')}"] = res.plot_curves(lab, W)
    out["figures"][f"A_{task}_optima_k2"] = results[2].plot_optima(W)
    out["data"][f"sweep_a_{task}"] = {f"{lab} n={w}": {"drift": drift[lab, w].__dict__, "best_loss": best[lab, w],
                                                       "optimum": [o.__dict__ for o in opt[lab, w]]}
                                      for lab, w in drift}
    table = Table(f"Sweep A ({task}, Adam, {a['steps']} steps): optimal log2 LR and best loss",
                  ["scheme", "width", *[f"log2 η* L={d}" for d in depths], "drift slope [95% boot]",
                   *[f"best loss L={d}" for d in depths]], rows,
                  caption="* = grid minimum on the grid's edge (no bracketing). Drift = slope of log2 η* vs log2 L.")
    c1, c2, cc = drift["depth-muP k=1", W], drift["depth-muP k=2", W], drift["corrected k=2", W]
    bk2, bc = best["depth-muP k=2", W][Lmax], best["corrected k=2", W][Lmax]
    claims = [
        Claim(f"[{task}] depth-muP with one-layer blocks transfers the LR across depth",
              f"|drift slope of log2 η* vs log2 L| < 0.15 at n={W} (docs/depth.md)",
              f"slope {c1.slope:+.3f} (95% bootstrap over seeds [{c1.low:+.2f}, {c1.high:+.2f}]), L={depths}",
              abs(c1.slope) < 0.15),
        Claim(f"[{task}] depth-muP fails to transfer the LR for two-layer blocks (paper v1)",
              "|drift slope| >= 0.15 for depth-muP k=2 (sign not fixed)",
              f"slope {c2.slope:+.3f} [{c2.low:+.2f}, {c2.high:+.2f}]", abs(c2.slope) >= 0.15),
        Claim(f"[{task}] the depth-aware correction (reconstructed, β=1/2) restores LR transfer",
              "|drift slope(corrected)| < 0.15 and < |drift slope(depth-muP k=2)|",
              f"corrected {cc.slope:+.3f} [{cc.low:+.2f}, {cc.high:+.2f}] vs depth-muP k=2 {c2.slope:+.3f}",
              abs(cc.slope) < 0.15 and abs(cc.slope) < abs(c2.slope)),
        Claim(f"[{task}] the correction improves the best loss at the largest depth",
              f"min over LR of the seed-mean loss at L={Lmax}, n={W}: corrected < depth-muP k=2",
              f"{bc:.4g} vs {bk2:.4g}", bc < bk2),
        Claim(f"[{task}] deeper is better under depth-muP ",
              f"best loss at L={Lmax} < best loss at L={Lmin} at n={W}, for every scheme",
              "; ".join(f"{lab}: {best[lab, W][Lmin]:.4g} -> {best[lab, W][Lmax]:.4g}" for lab in res_of),
              all(best[lab, W][Lmax] < best[lab, W][Lmin] for lab in res_of)),
    ]
    if len(widths) > 1:
        w0 = min(widths)
        gaps = {lab: max(abs(o.log2_lr - p.log2_lr) for o, p in zip(opt[lab, W], opt[lab, w0])) for lab in res_of}
        wider = {lab: best[lab, W][Lmax] < best[lab, w0][Lmax] for lab in res_of}
        claims.append(Claim(f"[{task}] the LR transfers across width and wider is better (muP part)",
                            f"|log2 η*(n={W}) − log2 η*(n={w0})| <= 0.5 at every depth, and best loss at n={W} < "
                            f"at n={w0} (L={Lmax}), for every scheme",
                            "; ".join(f"{lab}: max shift {gaps[lab]:.2f}, wider better {wider[lab]}" for lab in res_of),
                            all(g <= 0.5 for g in gaps.values()) and all(wider.values())))
    return claims, [table]


def _sweep_b(ctx: Context, cfg: dict, task: str, out: dict) -> tuple[list[Claim], list[Table]]:
    b = cfg["sweep_b"]
    variants = [(bp, beta) for bp in ("decoupled", "standard") for beta in (0.0, 0.5)]
    cells = [{"task": task, "scheme": DepthMuPCorrected(beta=beta).to_dict() if beta else DepthMuP().to_dict(),
              "decoupled": bp == "decoupled", "width": cfg["width"], "depth": d, "seed": ctx.seed + s,
              "lr": b["lr"], "steps": b["steps"], "batch_size": cfg["batch_size"]}
             for bp, beta in variants for d in b["depths"] for s in range(b["seeds"])]
    outs = ctx.map(collapse_cell, cells, desc=f"depth collapse ({task})")
    depths = b["depths"]
    stats: dict[tuple[str, float], dict[str, list[float]]] = {}
    rows = []
    for bp, beta in variants:
        ko1, ko2, r1, dh = [], [], [], []
        for d in depths:
            got = [o for c, o in zip(cells, outs) if c["depth"] == d and c["decoupled"] == (bp == "decoupled")
                   and ("beta" in c["scheme"]) == bool(beta) and o["status"] == "completed"]
            ko1.append(float(np.mean([o["ko"][0] for o in got])) if got else math.nan)
            ko2.append(float(np.mean([o["ko"][1] for o in got])) if got else math.nan)
            r1.append(float(np.mean([o["r_scaled"][0] for o in got])) if got else math.nan)
            dh.append(float(np.mean([o["stream_change"] for o in got])) if got else math.nan)
        stats[(bp, beta)] = {"ko1": ko1, "ko2": ko2, "r1": r1, "dh": dh}
        for i, d in enumerate(depths):
            rows.append([bp, beta, d, r1[i], ko1[i], ko2[i], ko1[i] / ko2[i], ko1[i] * math.sqrt(d), dh[i]])
    out["data"][f"sweep_b_{task}"] = {f"{bp} beta={beta}": v for (bp, beta), v in stats.items()}
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for (bp, beta), v in stats.items():
        axes[0].plot(depths, v["ko1"], marker="o", label=f"{bp}, β={beta}")
        axes[1].plot(depths, np.array(v["ko1"]) / np.array(v["ko2"]), marker="o", label=f"{bp}, β={beta}")
    for ax, t in zip(axes, ("ko1 (first internal layer)", "ko1 / ko2")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("depth L")
        ax.set_title(t, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    out["figures"][f"B_{task}_collapse"] = fig
    dec0, dec5, std0 = stats[("decoupled", 0.0)], stats[("decoupled", 0.5)], stats[("standard", 0.0)]
    scaled = np.array(dec0["ko1"]) * np.sqrt(depths)
    flat = float(np.nanmax(scaled) / np.nanmin(scaled))
    restored = float(np.nanmax(dec5["ko1"]) / np.nanmin(dec5["ko1"]))
    ratio_std = std0["ko1"][-1] / std0["ko2"][-1]
    claims = [
        Claim(f"[{task}] decoupled backward, depth-muP: the first internal layer collapses (ko1 ∝ L^-1/2)",
              "max/min of ko1·√L over L <= 1.25 (flat within 25%)",
              f"max/min = {flat:.3f}; log-log slope of ko1 {loglog_slope(depths, dec0['ko1']):+.3f}", flat <= 1.25),
        Claim(f"[{task}] decoupled backward, corrected β=1/2: ko1 is restored (flat in L)",
              "max/min of ko1 over L < 1.5", f"max/min = {restored:.3f}; slope {loglog_slope(depths, dec5['ko1']):+.3f}",
              restored < 1.5),
        Claim(f"[{task}] standard backprop, depth-muP: no collapse of the first layer",
              f"ko1/ko2 > 0.4 at L={max(depths)}", f"ko1/ko2 = {ratio_std:.3f} "
              f"(L={depths[0]}: {std0['ko1'][0] / std0['ko2'][0]:.3f})", ratio_std > 0.4),
    ]
    table = Table(f"Sweep B ({task}, SGD η={b['lr']}, {b['steps']} steps, n={cfg['width']}): collapse",
                  ["backward", "β", "L", "√L·mean r_l,1", "ko1", "ko2", "ko1/ko2", "ko1·√L", "rms Δh_L"], rows)
    return claims, [table]


def _sweep_c(ctx: Context, cfg: dict, task: str, out: dict) -> tuple[list[Claim], list[Table]]:
    c = cfg["sweep_c"]
    cells = [{"task": task, "scheme": DepthMuP().to_dict(), "width": cfg["width"], "depth": d,
              "seed": ctx.seed + s, "lr": c["lr"], "steps": c["steps"], "batch_size": cfg["batch_size"]}
             for d in c["depths"] for s in range(c["seeds"])]
    outs = ctx.map(gia_cell, cells, desc=f"depth GIA gap ({task})")
    rows, gap, fgap = [], [], []
    for d in c["depths"]:
        got = [o for cc, o in zip(cells, outs) if cc["depth"] == d and o["status"] == "completed"]
        rel = [abs(o["loss_std"] - o["loss_dec"]) / o["loss_std"] for o in got]
        gap.append(float(np.mean(rel)) if got else math.nan)
        fgap.append(float(np.mean([o["f_gap"] for o in got])) if got else math.nan)
        rows.append([d, float(np.mean([o["loss_std"] for o in got])) if got else math.nan,
                     float(np.mean([o["loss_dec"] for o in got])) if got else math.nan, gap[-1], fgap[-1],
                     len(got)])
    out["data"][f"sweep_c_{task}"] = {"depths": c["depths"], "rel_loss_gap": gap, "rel_f_gap": fgap}
    depths = c["depths"]
    claim = Claim(f"[{task}] one-layer blocks under depth-muP: the standard/decoupled gap shrinks with depth (GIA)",
                  f"relative rms(f_std − f_dec) and relative loss gap both smaller at L={max(depths)} than at L={min(depths)}",
                  f"f gap {fgap[0]:.3g} -> {fgap[-1]:.3g} (slope {loglog_slope(depths, fgap):+.2f}); "
                  f"loss gap {gap[0]:.3g} -> {gap[-1]:.3g}", fgap[-1] < fgap[0] and gap[-1] < gap[0])
    table = Table(f"Sweep C ({task}, SGD η={c['lr']}, {c['steps']} steps, k=1): GIA gap",
                  ["L", "loss std", "loss dec", "rel. loss gap", "rel. rms(f_std − f_dec)", "seeds ok"], rows)
    return [claim], [table]


def _coord(ctx: Context, cfg: dict, task: str, out: dict) -> tuple[list[Claim], list[Table]]:
    k = cfg["coord"]
    cells = [{"task": task, "scheme": s.to_dict(), "widths": k["widths"], "depths": k["depths"],
              "steps": k["steps"], "lr": k["lr"], "batch_size": cfg["batch_size"], "seed": ctx.seed}
             for s in (SP(), DepthMuP())]
    sp, dm = (CoordCheck(r) for r in ctx.map(coord_cell, cells, desc="depth coord check"))
    qs = ["h@1", "dh", "dout", "r[0]", "r[1]"]
    rows = [[name, q, cc.slope(q, "width"), cc.slope(q, "depth")] for name, cc in (("SP", sp), ("depth-muP", dm))
            for q in qs]
    out["figures"][f"coord_check_{task}_SP"] = sp.plot(qs)
    out["figures"][f"coord_check_{task}_depth_muP"] = dm.plot(qs)
    worst = max(abs(dm.slope(q, a)) for q in qs for a in ("width", "depth"))
    sp_w = sp.slope("dh", "width")
    claims = [
        Claim(f"[{task}] coordinate check: depth-muP is flat in width and depth; SP grows with width",
              "depth-muP: every |log-log slope| of h_L, Δh_L, Δf, √L·r < 0.25 at the last step; "
              "SP: slope of rms(Δh_L) vs width > 0.5",
              f"depth-muP worst |slope| {worst:.3f}; SP Δh slope {sp_w:+.3f}", worst < 0.25 and sp_w > 0.5)]
    table = Table(f"Coordinate check ({task}, SGD η={k['lr']}, step {k['steps']}): log-log slopes",
                  ["scheme", "quantity", "slope vs width", "slope vs depth"], rows)
    return claims, [table]


PROTOTYPE = {2: (0.077, 0.051), 4: (0.082, 0.037), 8: (0.083, 0.025), 16: (0.085, 0.018), 32: (0.082, 0.013),
             64: (0.086, 0.0095), 128: (0.089, 0.0065)}     # sqrt(L) r_1 and ko1 of the design prototype


def _prototype(ctx: Context, cfg: dict, task: str, out: dict) -> tuple[list[Claim], list[Table]]:
    """Sweep B (decoupled, depth-muP) in the prototype's convention: base width 1 (readout multiplier
    1/n) and half the LR (the gradient of a halved MSE). Explains the size of sweep B's ko and r."""
    b, p = cfg["sweep_b"], cfg["prototype"]
    cells = [{"task": task, "scheme": DepthMuP().to_dict(), "decoupled": True, "width": cfg["width"], "depth": d,
              "seed": ctx.seed + s, "lr": p["lr"], "steps": b["steps"], "batch_size": cfg["batch_size"],
              "base_width": p["base_width"]} for d in b["depths"] for s in range(b["seeds"])]
    outs = ctx.map(collapse_cell, cells, desc=f"depth prototype convention ({task})")
    rows, ratios = [], []
    for d in b["depths"]:
        got = [o for c, o in zip(cells, outs) if c["depth"] == d and o["status"] == "completed"]
        r1 = float(np.mean([o["r_scaled"][0] for o in got])) if got else math.nan
        ko1 = float(np.mean([o["ko"][0] for o in got])) if got else math.nan
        ref = PROTOTYPE.get(d, (math.nan, math.nan))
        ratios += [r1 / ref[0], ko1 / ref[1]]
        rows.append([d, r1, ref[0], ko1, ref[1]])
    ratios = np.array([r for r in ratios if math.isfinite(r)])
    out["data"][f"prototype_{task}"] = {"rows": rows}
    table = Table(f"Sweep B in the prototype's convention ({task}, decoupled depth-muP, n={cfg['width']}, base width "
                  f"{p['base_width']}, SGD η={p['lr']}, {b['steps']} steps)",
                  ["L", "√L·mean r_l,1", "prototype", "ko1", "prototype ko1"], rows,
                  caption="Our sweep B uses base width = width (readout multiplier 1) and η = 0.25 with the mean "
                          "squared error; the prototype's numbers are recovered with base width 1 (readout "
                          "multiplier 1/n) and half the LR.")
    claim = Claim(f"[{task}] the prototype's ko1 and √L·r_1 are recovered in its convention (readout 1/n, η/2)",
                  "every ratio ours/prototype within [0.5, 2]",
                  f"ratios {ratios.min():.2f} to {ratios.max():.2f}" if len(ratios) else "no completed run",
                  bool(len(ratios)) and bool(((ratios >= 0.5) & (ratios <= 2)).all()))
    return [claim], [table]


def _study(ctx: Context, cfg: dict) -> tuple[dict, list[list]]:
    """The correction variants on the tuning grid (own seeds): drift and best loss per variant."""
    c = cfg["correction"]
    seeds = spawn_seeds(ctx.seed, c["seeds"])          # tuning seeds, independent of sweep A's
    stats, rows = {}, []
    for k in (2, 3):
        for opt in ("adam", "sgd"):
            variants = {"depth-muP": DepthMuP()}
            if k == 2:
                variants.update({f"β={b:g}": DepthMuPCorrected(beta=b) for b in c["betas"]})
            else:
                variants.update({f"β={c['beta_k3']:g} {lay}": DepthMuPCorrected(beta=c["beta_k3"], layers=lay)
                                 for lay in ("first", "nonfinal")})
            res = lr_sweep(c["task"], variants, c["depths"], c["log2_lrs"][opt], widths=[c["width"]], seeds=seeds,
                           block_layers=k, optimizer=opt, steps=c["steps"], batch_size=cfg["batch_size"],
                           executor=ctx.executor, cache_dir=ctx.dir / "cells", fresh=ctx.fresh, progress=ctx.progress)
            for lab in variants:
                dr = res.drift(lab, seed=ctx.seed)
                opts = [res.optimum(lab, d) for d in c["depths"]]
                best = res.best_loss(lab, max(c["depths"]))
                stats[k, opt, lab] = {"drift": dr.__dict__, "best_loss_Lmax": best,
                                      "optimum": [o.log2_lr for o in opts]}
                rows.append([k, opt, lab, *[f"{o.log2_lr:.2f}{'*' if o.at_edge else ''}" for o in opts],
                             f"{dr.slope:+.3f} [{dr.low:+.2f}, {dr.high:+.2f}]", best])
    return stats, rows


def select_variant(stats: dict) -> tuple[float, str]:
    """The rule fixed before the first run: among the two-layer-block corrections (beta > 0, SGD or Adam),
    the smallest |drift slope| on the tuning grid; within 0.05 of it, the lower best loss at the largest
    depth. Returns (beta, optimizer)."""
    cands = [(abs(v["drift"]["slope"]), v["best_loss_Lmax"], float(lab.split("=")[1]), opt)
             for (k, opt, lab), v in stats.items() if k == 2 and lab != "depth-muP" and math.isfinite(v["drift"]["slope"])]
    if not cands:
        return 0.5, "adam"
    low = min(c[0] for c in cands)
    _, _, beta, opt = min((c for c in cands if c[0] <= low + 0.05), key=lambda c: c[1])
    return beta, opt


def _correction(ctx: Context, cfg: dict, out: dict) -> tuple[list[Claim], list[Table]]:
    c, a = cfg["correction"], cfg["sweep_a"]
    stats, rows = _study(ctx, cfg)
    depths = c["depths"]
    table = Table(f"Correction study (tuning grid: {c['task']}, n={c['width']}, {c['steps']} steps, {c['seeds']} tuning "
                  "seeds of their own)", ["block layers", "optimizer", "variant",
                                          *[f"log2 η* L={d}" for d in depths], "drift slope [95% boot]",
                                          f"best loss L={max(depths)}"], rows,
                  caption="k=2: the first internal layer is the only non-final one, so 'first' and 'nonfinal' "
                          "coincide; k=3 separates them. * = optimum on the grid's edge.")
    beta, opt = select_variant(stats)
    out["data"]["correction_study"] = {f"k={k} {o} {lab}": v for (k, o, lab), v in stats.items()}
    out["data"]["correction_selected"] = {"beta": beta, "optimizer": opt}
    claims, tables = [], [table]
    lab_sel, lab_base = f"selected β={beta:g} ({opt})", f"depth-muP k=2 ({opt})"
    for task in a["tasks"]:
        res = lr_sweep(task, {lab_base: DepthMuP(), lab_sel: DepthMuPCorrected(beta=beta)}, a["depths"],
                       a["log2_lrs"] if opt == "adam" else c["log2_lrs"]["sgd"], widths=a["widths"],
                       seeds=[ctx.seed + s for s in range(a["seeds"])], block_layers=2, optimizer=opt,
                       steps=a["steps"], batch_size=cfg["batch_size"], executor=ctx.executor,
                       cache_dir=ctx.dir / "cells", fresh=ctx.fresh, progress=ctx.progress)
        W, Lmax = max(a["widths"]), max(a["depths"])
        d_sel, d_base = res.drift(lab_sel, W, seed=ctx.seed), res.drift(lab_base, W, seed=ctx.seed)
        b_sel, b_base = res.best_loss(lab_sel, Lmax, W), res.best_loss(lab_base, Lmax, W)
        out["figures"][f"E_{task}_optima"] = res.plot_optima(W)
        tables.append(Table(f"Selected correction evaluated on sweep A's grid ({task}, {opt})",
                            ["scheme", "width", *[f"log2 η* L={d}" for d in a["depths"]], "drift slope [95% boot]",
                             f"best loss L={Lmax}"],
                            [[lab, w, *[f"{res.optimum(lab, d, w).log2_lr:.2f}" for d in a["depths"]],
                              f"{res.drift(lab, w, seed=ctx.seed).slope:+.3f}", res.best_loss(lab, Lmax, w)]
                             for lab in (lab_base, lab_sel) for w in a["widths"]]))
        claims += [
            Claim(f"[{task}] the selected correction (β={beta:g}, {opt}) restores LR transfer",
                  "|drift slope(selected)| < 0.15 and < |drift slope(depth-muP k=2, same optimizer)|",
                  f"selected {d_sel.slope:+.3f} [{d_sel.low:+.2f}, {d_sel.high:+.2f}] vs depth-muP k=2 "
                  f"{d_base.slope:+.3f} [{d_base.low:+.2f}, {d_base.high:+.2f}]",
                  abs(d_sel.slope) < 0.15 and abs(d_sel.slope) < abs(d_base.slope)),
            Claim(f"[{task}] the selected correction (β={beta:g}, {opt}) improves the best loss at the largest depth",
                  f"min over LR of the seed-mean loss at L={Lmax}, n={W}: selected < depth-muP k=2",
                  f"{b_sel:.4g} vs {b_base:.4g}", b_sel < b_base)]
    return claims, tables


def run(ctx: Context) -> Result:
    """The experiment: the parts of ``ctx.config``, cheapest first.

    Parameters
    ----------
    ctx : Context

    Returns
    -------
    Result
    """
    cfg = ctx.config
    out: dict[str, Any] = {"figures": {}, "data": {}}
    claims, tables = [], []
    with limit_threads(1):          # tiny matmuls: one thread is faster, and workers use one each
        parts = [(_sweep_b, t) for t in cfg["sweep_b"]["tasks"]] \
            + [(_prototype, t) for t in cfg["sweep_b"]["tasks"][:1] if "prototype" in cfg] \
            + [(_sweep_c, t) for t in cfg["sweep_c"]["tasks"]] + [(_coord, t) for t in cfg["coord"]["tasks"]] \
            + [(_sweep_a, t) for t in cfg["sweep_a"]["tasks"]]
        for fn, task in parts:
            c, t = fn(ctx, cfg, task, out)
            claims += c
            tables += t
        if "correction" in cfg:
            c, t = _correction(ctx, cfg, out)
            claims += c
            tables += t
    notes = (
        "Residual MLPs (pre-activation, ReLU, no norms), width n = {wa} in sweep A and {w} elsewhere, μP stem/readout frozen, base depth L0 = 1 "
        "(docs/depth.md). **The correction is a reconstruction** (the paper's formula could not be read): the first "
        "internal layer of each two-layer block gets its LR multiplied by (L/L0)^β, β = 1/2. Sweep A uses Adam and "
        "the quadratic-fit optimum of the seed-mean final training loss; the drift interval is a bootstrap over "
        "seeds (with {s} seeds it is coarse). Sweeps B and C use SGD η = {lb} with stem and readout frozen; the "
        "decoupled twin uses an independent copy B0 of each block weight for the input gradient. "
        "Profile '{p}': smaller than the design grids in quick (fewer depths, LR points and steps) so that it "
        "fits the CI budget; the full profile uses the design grids with depths up to 128. Reading sweep C: at a "
        "finite width the standard and decoupled runs also differ by width fluctuations that do not vanish with "
        "L (the paper's rates: O(1/n) uniformly in L at init), so the depth trend is measured on top of that floor."
    ).format(wa=cfg["sweep_a"]["widths"], w=cfg["width"], s=cfg["sweep_a"]["seeds"], lb=cfg["sweep_b"]["lr"], p=ctx.profile)
    return Result(claims=claims, tables=tables, figures=out["figures"], notes=notes, data=out["data"])


HALF_OCTAVE = [x / 2 for x in range(-20, -7)]                      # log2 η in [-10, -4], 13 points (Adam)
SGD_HALF_OCTAVE = [x / 2 for x in range(-12, 5)]                   # log2 η in [-6, 2], 17 points (SGD)
QUICK = {
    "width": 64, "batch_size": 64,
    "sweep_a": {"tasks": ["teacher"], "widths": [64], "depths": [2, 4, 16], "log2_lrs": [-10.0, -9.0, -8.0, -7.0, -6.0, -5.0, -4.0],
                "seeds": 2, "steps": 60},
    "sweep_b": {"tasks": ["teacher"], "depths": [2, 8, 32], "seeds": 2, "steps": 30, "lr": 0.25},
    "sweep_c": {"tasks": ["digits", "teacher"], "depths": [2, 8, 32], "seeds": 2, "steps": 60, "lr": 0.25},
    "coord": {"tasks": ["teacher", "digits"], "widths": [32, 128, 512], "depths": [2, 8, 32], "steps": 3, "lr": 0.05},
    "prototype": {"base_width": 1, "lr": 0.125},
    "correction": {"task": "teacher", "width": 32, "depths": [2, 8], "seeds": 2, "steps": 30, "betas": [0.25, 0.5, 1.0],
                   "beta_k3": 0.5, "log2_lrs": {"adam": [-10.0, -9.0, -8.0, -7.0, -6.0, -5.0, -4.0],
                                                "sgd": [-6.0, -5.0, -4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0]}},
}
FULL = {
    "width": 128, "batch_size": 128,
    "sweep_a": {"tasks": ["teacher", "digits"], "widths": [64, 128], "depths": [2, 4, 8, 16, 32], "log2_lrs": HALF_OCTAVE,
                "seeds": 2, "steps": 100},
    "sweep_b": {"tasks": ["teacher", "digits"], "depths": [2, 4, 8, 16, 32, 64, 128], "seeds": 2, "steps": 30,
                "lr": 0.25},
    "sweep_c": {"tasks": ["digits", "teacher"], "depths": [2, 4, 8, 16, 32], "seeds": 2, "steps": 100, "lr": 0.25},
    "coord": {"tasks": ["teacher", "digits"], "widths": [32, 64, 128, 256, 512, 1024], "depths": [2, 4, 8, 16, 32, 64, 128],
              "steps": 3, "lr": 0.05},
    "prototype": {"base_width": 1, "lr": 0.125},
    "correction": {"task": "teacher", "width": 64, "depths": [2, 8, 32], "seeds": 2, "steps": 100, "betas": [0.25, 0.5, 1.0],
                   "beta_k3": 0.5, "log2_lrs": {"adam": HALF_OCTAVE, "sgd": SGD_HALF_OCTAVE}},
}

EXPERIMENT = Experiment(
    name="depth",
    description="Depth-aware parametrisation of ResNets (2512.21075): LR transfer, collapse, GIA gap, coord check",
    run=run, quick=QUICK, full=FULL, expected_time={"quick": "2 min", "full": "about 75 min on 2 shared cores"},
    version="2",
)
