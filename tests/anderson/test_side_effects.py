"""No global side effects: every public entry point of stablelearn.anderson that takes a seed or runs
torch code leaves NumPy's and torch's global RNGs and torch's thread count as they were."""

import numpy as np
import torch

from stablelearn.anderson import Accelerator, estimate_L, solve
from stablelearn.anderson import problems as P
from stablelearn.experiments.anderson import run_cell


def test_entry_points_leave_global_state_alone(unchanged_global_state):
    g = lambda x: x - 1.0
    with unchanged_global_state():
        solve(np.zeros(6), grad=g, max_iter=20, seed=3)  # L estimated with a seeded power iteration
        solve(np.zeros(6), grad=g, max_iter=20, seed=np.random.default_rng(1))
        solve(torch.zeros(6, dtype=torch.float64), grad=g, F=lambda x: 0.5 * float((x - 1) @ (x - 1)), L=1.0,
              max_iter=20)
        estimate_L(lambda v: 2.0 * v, np.ones(5), seed=0)
        estimate_L(lambda v: 2.0 * v, torch.ones(5, dtype=torch.float64), seed=None)
        acc, x = Accelerator(3, guard_ref="base_step"), torch.zeros(4)
        for _ in range(5):
            x = acc.step(x, 0.5 * x + 1.0, energy=lambda y: float(((y - 2) ** 2).sum()))
        P.quadratic(20, 1e3, seed=4)
        P.lasso(20, 30, 0.5, seed=np.random.default_rng(2))
        run_cell({"problem": {"kind": "quadratic", "n": 20, "kappa": 1e2, "seed": 0}, "method": "EG-AA watchdog (default)",
                  "max_iter": 30, "tol": 1e-8, "m": 5})
