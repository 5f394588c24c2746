"""Figures of the stability reproduction."""

from __future__ import annotations

from typing import Any

import numpy as np

def figures(v1: dict, v3: dict, v6: list[dict], v8: dict, horizons: list[int]) -> dict[str, Any]:
    """The V1, V3, V6 and V8 figures."""
    import matplotlib.pyplot as plt

    figs = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for c, run in v1["runs"].items():
        ax.semilogy(10 * np.arange(1, len(run["losses"]) + 1), run["losses"], label=f"c = {c}")
    ax.set(xlabel="step", ylabel="loss", title="V1: GD at c x 2/lambda_max")
    ax.legend()
    figs["v1_gd_threshold"] = fig
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in v6:
        line = ax.plot(r["steps"], r["sharpness"], "o-", ms=3, label=f"eta = {r['eta']} (StabilityMonitor)")[0]
        ax.plot(r["steps"], r["exact"], "x", color=line.get_color(), ms=4)
        ax.axhline(2 / r["eta"], ls="--", color=line.get_color())
    ax.set(xlabel="step", ylabel="sharpness", title="V6: tracked sharpness (x: exact) vs 2/eta (dashed)")
    ax.legend()
    figs["v6_edge_of_stability"] = fig
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, v in v8.items():
        ax.loglog(horizons, np.where(np.isfinite(v["gram_c2"]), v["gram_c2"], np.nan), "o-", label=k)
    ax.set(xlabel="horizon T", ylabel="c2 = lambda_max(P_0)", title="V8: Gramian energy constant vs horizon")
    ax.legend(fontsize=7)
    figs["v8_energy_horizons"] = fig
    fig, ax = plt.subplots(figsize=(6, 4))
    fs = [float(f) for f in v3["runs"]]
    ax.semilogy(fs, [v["median"] for v in v3["runs"].values()], "o-", label="median ||delta_T||^2")
    ax.semilogy(fs, [v["mean"] for v in v3["runs"].values()], "s-", label="mean")
    ax.axvline(1.0, color="k", ls="--")
    ax.set(xlabel="eta / eta_ms", title="V3: SGD tangent norms around eta_ms")
    ax.legend()
    figs["v3_mean_square"] = fig
    return figs
