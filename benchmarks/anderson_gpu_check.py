"""The torch path of stablelearn.anderson on a GPU (or CPU when none): device and dtype preserved,
agreement with the NumPy float64 path, and per-iteration time of the AA step at n = 1e6 and 1e7.

    python benchmarks/anderson_gpu_check.py [--quick]

Prints a Markdown table and writes benchmarks/results/anderson_gpu_check.json.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _common import print_table, write_results
from stablelearn.anderson import Accelerator, solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 1e5 only")
    args = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    rows, out = [], {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"}
    for n in ([10**5] if args.quick else [10**6, 10**7]):
        d_np = np.logspace(0, -4, n)
        b_np = np.random.default_rng(0).standard_normal(n)
        rec = {"n": n}
        # agreement with NumPy float64 over the first 25 EG-AA iterations
        ref = solve(np.zeros(n), grad=lambda x: d_np * x - b_np, F=lambda x: 0.5 * x @ (d_np * x) - b_np @ x,
                    L=1.0, method="egaa", max_iter=25, tol=0.0)
        for dtype in (torch.float64, torch.float32):
            d, b = torch.tensor(d_np, dtype=dtype, device=dev), torch.tensor(b_np, dtype=dtype, device=dev)
            T = lambda x: x - (d * x - b)
            res = solve(torch.zeros(n, dtype=dtype, device=dev), grad=lambda x: d * x - b,
                        F=lambda x: 0.5 * x @ (d * x) - b @ x, L=1.0, method="egaa", max_iter=25, tol=0.0)
            key = str(dtype).split(".")[-1]
            rec[f"{key}_device_kept"] = res.x.device.type == dev.type and res.x.dtype == dtype
            rec[f"{key}_max_rel_diff_vs_numpy"] = float(
                np.abs(res.x.double().cpu().numpy() - ref.x).max() / np.abs(ref.x).max())
            acc, x = Accelerator(5, governor="none"), torch.zeros(n, dtype=dtype, device=dev)
            for _ in range(5):
                x = acc.step(x, T(x))
            sync()
            t = time.perf_counter()
            for _ in range(50):
                x = acc.step(x, T(x))
            sync()
            rec[f"{key}_ms_per_aa_step"] = (time.perf_counter() - t) / 50 * 1e3
        acc, x = Accelerator(5, governor="none"), np.zeros(n)
        T_np = lambda x: x - (d_np * x - b_np)
        for _ in range(5):
            x = acc.step(x, T_np(x))
        t = time.perf_counter()
        for _ in range(10):
            x = acc.step(x, T_np(x))
        rec["numpy_cpu_ms_per_aa_step"] = (time.perf_counter() - t) / 10 * 1e3
        rows.append(rec)
    out["table"] = print_table(f"stablelearn.anderson torch path on {out['device']}", list(rows[0]),
                               [list(r.values()) for r in rows])
    out["rows"] = rows
    write_results("anderson_gpu_check", out)


if __name__ == "__main__":
    main()
