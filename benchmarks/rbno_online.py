"""RBNO online/offline cost against the full-order FE solve and the grid operators (PCA-Net, neuralop FNO).

Heat conduction (arXiv 2512.21319, setup 1) on an n x n mesh, RT2 x P2. Online: time per parameter of
(a) scikit-fem assemble + sparse solve, (b) RBNO network + reduced estimator (batched),
(c) RB-FOSLS optimum (batched r x r solves) + estimator, (d) PCA-Net / FNO inference, and with
the projection onto the FE space that their errors need. Offline: snapshots, POD + reduction,
training. Accuracy: relative X error vs the FE solution, RBNO against the RB optimum.

    python benchmarks/rbno_online.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import print_table, write_results

from stablelearn._conventions import limit_threads
from stablelearn.rbno import RBNO, FNOBaseline, HeatConduction, PCANet, ReducedFOSLS, pod, relative_error


def best_time(fn, repeat: int = 5) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="16x16 mesh, fewer snapshots and steps")
    args = ap.parse_args()
    with limit_threads(1):
        run(args.quick)


def run(quick: bool) -> None:
    n, n_s, r, steps, n_test = (16, 60, 24, 400, 50) if quick else (32, 200, 32, 3000, 200)
    P = HeatConduction(n)
    rng = np.random.default_rng(0)
    mu_s, mu_test, mu_train = P.sample(n_s, rng), P.sample(n_test, rng), P.sample(4000, rng)
    res: dict = {"mesh": n, "ndofs": P.ndofs, "n_snapshots": n_s, "r": r, "steps": steps, "n_test": n_test}

    t0 = time.perf_counter()
    X_s = P.solve_many(mu_s)
    res["offline_snapshots_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    basis = pod(X_s - P.lift, P.product(), r)
    red = ReducedFOSLS(P, basis)
    res["offline_pod_reduce_s"] = time.perf_counter() - t0
    res["reduced_memory_MB"] = red.memory_bytes / 2 ** 20
    net = RBNO(red, loss="residual", seed=0)
    tr = net.fit(mu_train, steps=steps)
    res["offline_train_s"] = tr.wall_time
    values = np.stack([P.vertex_values(x) for x in X_s])
    pca = PCANet(P, output_modes=min(64, n_s), seed=0)
    res["offline_pcanet_s"] = pca.fit(mu_s, values, steps=steps).wall_time
    fno = FNOBaseline(P, n_modes=(8, 8), hidden=16, n_layers=2, seed=0)
    res["offline_fno_s"] = fno.fit(mu_s, values, steps=max(100, steps // 10)).wall_time

    X_test = P.solve_many(mu_test)
    k = 10
    t_fe = best_time(lambda: [P.solve(m) for m in mu_test[:k]], repeat=2) / k
    online = {"FE assemble+solve (scikit-fem)": t_fe}
    for B in (1, n_test):
        mb = mu_test[:B]
        online[f"RBNO net+estimator, batch {B}"] = best_time(lambda: red.estimate(net.coefficients(mb), mb)) / B
        online[f"RB optimum+estimator, batch {B}"] = best_time(lambda: red.estimate(red.optimum(mb), mb)) / B
    online[f"PCA-Net values, batch {n_test}"] = best_time(lambda: pca.predict_values(mu_test)) / n_test
    online[f"PCA-Net + FE projection, batch {n_test}"] = best_time(lambda: pca.predict(mu_test), 2) / n_test
    online[f"FNO values, batch {n_test}"] = best_time(lambda: fno.predict_values(mu_test)) / n_test
    online[f"FNO + FE projection, batch {n_test}"] = best_time(lambda: fno.predict(mu_test), 2) / n_test
    res["online_s_per_param"] = online
    acc = {"RBNO (residual)": relative_error(P, red.decode(net.coefficients(mu_test)), X_test),
           "RB optimum": relative_error(P, red.decode(red.optimum(mu_test)), X_test),
           "PCA-Net": relative_error(P, pca.predict(mu_test), X_test),
           "FNO": relative_error(P, fno.predict(mu_test), X_test)}
    res["rel_X_error"] = acc
    key = f"RBNO net+estimator, batch {n_test}"
    res["speedup_rbno_vs_fe"] = t_fe / online[key]
    res["targets"] = {"speedup >= 100": res["speedup_rbno_vs_fe"] >= 100,
                      "rel X within 2x of RB optimum": acc["RBNO (residual)"] <= 2 * acc["RB optimum"]}

    title = f"Heat conduction {n}x{n}, {P.ndofs} dofs, r={r}, N_s={n_s}, {steps} training steps, one thread"
    t1 = print_table(title, ["online method", "time per parameter [us]", "speed-up vs FE"],
                     [[name, t * 1e6, t_fe / t] for name, t in online.items()])
    t2 = print_table("Offline", ["item", "value"],
                     [[kk, res[kk]] for kk in ("offline_snapshots_s", "offline_pod_reduce_s", "offline_train_s",
                                              "offline_pcanet_s", "offline_fno_s", "reduced_memory_MB")])
    t3 = print_table("Accuracy", ["method", "rel. X error vs FE"], [[k, e] for k, e in acc.items()])
    print("\ntargets:", res["targets"])
    write_results("rbno_online", {**res, "tables": [t1, t2, t3]})


if __name__ == "__main__":
    main()
