"""How many full-probe HVPs a check needs to be within 5 % of the top eigenvalue after 100 SGD steps.

Run: python benchmarks/stability_tracking_floor.py [--every 100] [--models mlp cnn]
The training of benchmarks/stability_monitor.py (SGD, momentum 0.9, lr 0.05, batch 64, digits, probe 512).
At every ``every`` steps: the exact top eigenvalue of the probe Hessian (cold Lanczos to 1e-6), then, from the
previous check's exact top eigenvector v, Lanczos with a fixed number m of HVPs started from v, from v plus the
mini-batch gradient, and from v plus the momentum buffer (sign matched); m = 1 is the Rayleigh quotient of v
(the one-HVP check). Also: Lanczos on a 128-row subsample of the probe (cheap HVPs), then one full-probe HVP
for the Rayleigh quotient of its vector. Errors are relative to the exact top eigenvalue at the same weights
(no timing: the machine's load does not enter). Writes benchmarks/results/stability_tracking_floor.json.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import print_table, write_results
from stability_monitor import LR, MOMENTUM, _data, _model, sgd_step
from torch import nn

from stablelearn._conventions import limit_threads
from stablelearn.stability import hessian_eigenvalues
from stablelearn.stability._functional import HessianOperator, ParamSpace
from stablelearn.stability.eigen import lanczos


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    t = torch.cat([x.detach().reshape(-1) for x in tensors])
    return t / t.norm()


def _mix(v: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    return v + d * (1.0 if float(v @ d) >= 0 else -1.0)


def floor(kind: str, every: int, steps: int = 2000, probe: int = 512, sub: int = 128) -> dict:
    X, y = _data()
    loss_fn = nn.functional.cross_entropy
    model = _model(kind)
    space = ParamSpace(model)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    gen = torch.Generator().manual_seed(0)
    errors: dict[str, list[float]] = {}
    prev = None
    for step in range(steps):
        sgd_step(model, opt, X, y, gen)
        if step % every:
            continue
        exact = hessian_eigenvalues(model, loss_fn, (X[:probe], y[:probe]), k=1, tol=1e-6, iters=300)
        top = exact.value
        op = HessianOperator(space, loss_fn, [(X[:probe], y[:probe])])
        if prev is not None:
            starts = {"v": prev, "v + gradient": _mix(prev, _flat([p.grad for p in space.params()])),
                      "v + momentum": _mix(prev, _flat([opt.state[p]["momentum_buffer"] for p in space.params()]))}
            for name, start in starts.items():
                for m in (1, 2, 3, 4):
                    est = lanczos(op, start, k=1, iters=m, tol=1e-12)
                    errors.setdefault(f"{name}|{m}", []).append((top - est.value) / top)
            small = HessianOperator(space, loss_fn, [(X[:sub], y[:sub])])
            u = lanczos(small, starts["v + momentum"], k=1, iters=4, tol=1e-12).vector
            errors.setdefault(f"4 HVPs on {sub} rows, then v + momentum|1 on {probe}", []).append(
                (top - float(u @ op(u))) / top)
        prev = exact.vector
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    args = parser.parse_args()
    rows, records = [], {}
    with limit_threads(1):
        for kind in args.models:
            errors = floor(kind, args.every)
            records[kind] = errors
            for key, e in errors.items():
                start, m = key.split("|")
                e = np.asarray(e)
                rows.append([kind, args.every, start, m, float(e.max()), float(np.median(e)), int((e > 0.05).sum()),
                             len(e)])
            print(rows[-1], flush=True)
    table = print_table(
        f"Error of a fixed-size check after {args.every} SGD steps, from the previous check's exact top eigenvector",
        ["model", "every", "start", "full-probe HVPs", "max error", "median error", "checks > 5 %", "checks"], rows)
    write_results("stability_tracking_floor", {"table": table, "errors": records})


if __name__ == "__main__":
    main()
