"""CPU cost model of ``stablelearn reproduce rbno --profile full``: unit costs measured in one process.

Cells computed in a run record their own CPU seconds (``cpu_time``); cells taken from the cache of an
earlier run do not. This script measures, with ``time.process_time`` on one thread, the unit costs the
full profile is made of (an FE solve on the problem's mesh and on the refined reference mesh, the reduced
system, 100 PCA-Net and 100 FNO steps, one C1 cell per mesh) and multiplies them by the profile's counts,
so the CPU of the whole profile can be estimated without re-running it. Training cells are not modelled
here: their CPU comes from the cells of the run (``cpu_time``) or from ``rbno_darcy_study.py``.

    python benchmarks/rbno_cpu_budget.py
"""

from __future__ import annotations

import time

import numpy as np
from _common import print_table, write_results

from stablelearn._conventions import limit_threads
from stablelearn.experiments.rbno import EXPERIMENT, make_problem, norm_equivalence_cell
from stablelearn.rbno import FNOBaseline, PCANet, ReducedFOSLS, pod


def cpu(fn, *args, **kw) -> tuple[float, object]:
    t = time.process_time()
    out = fn(*args, **kw)
    return time.process_time() - t, out


def main() -> None:
    cfg = EXPERIMENT.full
    rows, model = [], {}
    with limit_threads(1):
        for prob in cfg["problems"]:
            name, n = prob["problem"], prob["n"]
            P = make_problem(name, n, prob.get("modes", 16))
            mu = P.sample(4, np.random.default_rng(0))
            t_solve, X = cpu(P.solve_many, mu[:3], progress=False)
            Pf = make_problem(name, 2 * n, prob.get("modes", 16), width=getattr(P, "width", None))
            t_fine, _ = cpu(Pf.solve_many, mu[:1], progress=False)
            snaps = np.tile(X - P.lift, (cfg["n_snapshots"] // 3, 1))  # POD cost depends on the count only
            snaps[:, P.interior] += 1e-3 * np.random.default_rng(1).standard_normal((len(snaps), P.interior.size))
            t_pod, basis = cpu(pod, snaps, P.product(), cfg["r"])
            t_red, _ = cpu(ReducedFOSLS, P, basis)
            values = np.stack([P.vertex_values(x) for x in X])
            t_pca, _ = cpu(PCANet(P, output_modes=min(cfg["pcanet_modes"], values[0].size), seed=0).fit,
                           mu[:3], values, steps=100, progress=False)
            f = cfg["fno"]
            t_fno, _ = cpu(FNOBaseline(P, n_modes=(f["modes"],) * 2, hidden=f["hidden"], n_layers=f["layers"],
                                       seed=0).fit, mu[:3], values, steps=100, progress=False)
            unit = dict(solve=t_solve / 3, solve_fine=t_fine, pod=t_pod, reduced=t_red, pca_step=t_pca / 100,
                        fno_step=t_fno / 100)
            solves = cfg["n_snapshots"] + cfg["n_test"]
            # one offline stage + refined reference per worker process that meets the problem (2 with --jobs 2)
            offline = solves * unit["solve"] + cfg["n_test"] * unit["solve_fine"] + t_pod + t_red
            grid = cfg["pcanet_steps"] * unit["pca_step"] + f["steps"] * unit["fno_step"]
            model[name] = dict(unit=unit, offline_per_process=offline, grid_models=grid)
            rows.append([name, unit["solve"], unit["solve_fine"], t_pod + t_red, unit["pca_step"] * 1e3,
                         unit["fno_step"] * 1e3, offline, grid])
            print(rows[-1], flush=True)
        c1 = {}
        for n in cfg["c1_meshes"]:
            c1[n], _ = cpu(norm_equivalence_cell, dict(n=n, k=1, seed=0, weights=cfg["penalty_weights"]))
        model["C1"] = dict(per_mesh=c1, total=cfg["c1_params"] * sum(c1.values()))
    table = print_table("Unit CPU costs of the full profile (one thread, time.process_time)",
                        ["problem", "FE solve [s]", "FE solve on 2n [s]", "POD + reduced [s]", "PCA-Net step [ms]",
                         "FNO step [ms]", "offline + reference per process [s]", "PCA-Net + FNO cells [s]"], rows,
                        caption=f"C1: {cfg['c1_params']} parameters x meshes {cfg['c1_meshes']}: "
                                f"{model['C1']['total']:.0f} s in all")
    write_results("rbno_cpu_budget", {"table": table, "model": model})


if __name__ == "__main__":
    main()
