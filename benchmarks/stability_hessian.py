"""Top Hessian eigenvalue: stablelearn.stability vs PyHessian vs hessian-eigenthings, same model and probe set.

Run: python benchmarks/stability_hessian.py [--quick]
Prints a Markdown table (value, relative error, HVP count, wall time) and writes
benchmarks/results/stability_hessian.json. The reference is the exact eigenvalue (eigvalsh of the full
Hessian, float64) for the small model, and ARPACK (scipy eigsh, tol 1e-12, float64 HVPs) for the larger one.
All peers run in float32 on the same probe batch; each method starts from its own seeded random vector.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import print_table, write_results
from torch import nn

from stablelearn._conventions import limit_threads
from stablelearn.stability import sharpness
from stablelearn.stability._functional import HessianOperator, ParamSpace, as_batches


def _loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out, y)


def _problem(widths: list[int], n: int, seed: int) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = torch.as_tensor(X[:n] / 16.0, dtype=torch.float32), torch.as_tensor(y[:n])
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    model = nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(200):  # a partly trained checkpoint, not the initialisation
        opt.zero_grad()
        _loss(model(X), y).backward()
        opt.step()
    return model, X, y


def _reference(model: nn.Module, X: torch.Tensor, y: torch.Tensor, exact: bool) -> float:
    m64 = _double(model)
    space = ParamSpace(m64)
    op = HessianOperator(space, _loss, as_batches((X.double(), y)))
    if exact:
        H = torch.stack([op(e) for e in torch.eye(space.size, dtype=torch.float64)])
        return float(np.linalg.eigvalsh(((H + H.T) / 2).numpy())[-1])
    from scipy.sparse.linalg import LinearOperator, eigsh

    lin = LinearOperator((space.size, space.size), matvec=lambda v: op(torch.as_tensor(v.ravel())).numpy(),
                         dtype=np.float64)
    return float(eigsh(lin, k=1, which="LA", tol=1e-12)[0][0])


def _double(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model).double()


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run_ours(model, X, y, method: str, tol: float):
    est, dt = _timed(lambda: sharpness(model, _loss, (X, y), method=method, tol=tol, seed=0))
    return est.value, est.matvecs, dt


def run_pyhessian(model, X, y):
    import sys

    import pyhessian  # noqa: F401  (its package exports the class `hessian`, shadowing the module)

    ph = sys.modules["pyhessian.hessian"]

    count = {"n": 0}
    original = ph.hessian_vector_product

    def counted(*args):
        count["n"] += 1
        return original(*args)

    ph.hessian_vector_product = counted
    try:
        torch.manual_seed(0)  # PyHessian draws its start vector from the global RNG

        def go():
            h = ph.hessian(model, _loss, data=(X, y), cuda=False)
            return h.eigenvalues(maxIter=100, tol=1e-3)[0][0]

        value, dt = _timed(go)
    finally:
        ph.hessian_vector_product = original
        model.zero_grad(set_to_none=True)
    return float(value), count["n"], dt


def run_eigenthings(model, X, y, algo: str):
    import hessian_eigenthings as he

    def go():
        op = he.HessianOperator(model, [(X, y)], he.supervised_loss(_loss))
        count = {"n": 0}
        matvec = op.matvec

        def counted(v):
            count["n"] += 1
            return matvec(v)

        op.matvec = counted
        if algo == "lanczos":
            value = float(he.lanczos(op, k=1, max_iter=20, which="LA", seed=0).eigenvalues[0])
        else:
            value = float(he.power_iteration_one(op, max_iter=100, tol=1e-4, seed=0)[0])
        return value, count["n"]

    (value, n), dt = _timed(go)
    return value, n, dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller models (seconds)")
    args = parser.parse_args()
    with limit_threads(1):
        _compare(args.quick)


def _compare(quick: bool) -> None:
    problems = ({"name": "MLP 64-16-10 (P=1210), 500 digits", "widths": [64, 16, 10], "n": 500, "exact": True},
                {"name": "MLP 64-128-128-10 (P=26122), 1797 digits", "widths": [64, 128, 128, 10], "n": 1797,
                 "exact": False})
    if quick:
        problems = ({**problems[0], "name": "MLP 64-8-10 (P=610), 300 digits", "widths": [64, 8, 10], "n": 300},
                    {**problems[1], "name": "MLP 64-32-32-10 (P=4522), 1000 digits", "widths": [64, 32, 32, 10],
                     "n": 1000})
    rows, records = [], []
    for prob in problems:
        model, X, y = _problem(prob["widths"], prob["n"], seed=0)
        ref = _reference(model, X, y, prob["exact"])
        methods = {
            "stablelearn sharpness (Lanczos, tol 1e-4)": lambda: run_ours(model, X, y, "lanczos", 1e-4),
            "stablelearn sharpness (power, tol 1e-4)": lambda: run_ours(model, X, y, "power", 1e-4),
            "PyHessian eigenvalues (power, maxIter 100, tol 1e-3)": lambda: run_pyhessian(model, X, y),
            "hessian-eigenthings lanczos (k=1, max_iter 20)": lambda: run_eigenthings(model, X, y, "lanczos"),
            "hessian-eigenthings power_iteration_one (tol 1e-4)": lambda: run_eigenthings(model, X, y, "power"),
        }
        for name, fn in methods.items():
            fn()  # warm-up (imports, first-call overheads)
            value, hvps, dt = fn()
            rel = abs(value - ref) / abs(ref)
            rows.append([prob["name"], name, value, rel, hvps, dt * 1e3])
            records.append({"problem": prob["name"], "method": name, "value": value, "reference": ref,
                            "rel_error": rel, "hvps": hvps, "wall_ms": dt * 1e3})
        rows.append([prob["name"], f"reference ({'exact eigvalsh' if prob['exact'] else 'ARPACK eigsh'})", ref, 0.0,
                     None, None])
    table = print_table("Top Hessian eigenvalue: stablelearn vs PyHessian vs hessian-eigenthings",
                        ["problem", "method", "lambda_max", "rel. error", "HVPs", "wall ms"], rows)
    write_results("stability_hessian", {"quick": quick, "table": table, "rows": records})


if __name__ == "__main__":
    main()
