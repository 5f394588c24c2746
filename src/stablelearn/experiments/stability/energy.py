"""V5, V7, V8: growth verdicts, the proximal (Clarke) case and the energies over growing horizons."""

from __future__ import annotations

import numpy as np
import torch

from stablelearn.stability import backward_gramian, laws, sup_energy, tangent_trajectory, twin_trajectory

from .data import batch_indices, diabetes

def v5_jordan(cell: dict) -> dict:
    """V5: the Jordan block: chi_T -> 0 but ||A^T|| = O(T): the tool must say subexponential growth."""
    T = cell["T"]
    A = np.array([[1.0, 1.0], [0.0, 1.0]])
    norms = np.array([np.linalg.norm([[1.0, t], [0.0, 1.0]], 2) for t in range(T + 1)])
    At = torch.as_tensor(A)
    tangent = tangent_trajectory(lambda th, t: At @ th, torch.zeros(2, dtype=torch.float64), cell["tangent_T"],
                                 direction=torch.tensor([0.0, 1.0], dtype=torch.float64))
    return {"norm_T": float(norms[-1]), "chi": laws.growth_exponent(norms), "verdict": laws.classify_growth(norms),
            "tangent_verdict": laws.classify_growth(tangent.norms), "sup_verdict": sup_energy(tangent.norms).verdict,
            "sup_growth": sup_energy(tangent.norms).growth.tolist()}


def v7_ista(cell: dict) -> dict:
    """V7: ISTA on the Lasso: the prox step is nonexpansive for eta <= 2/L (twin sensitivity <= 1); the
    restricted threshold 2/lambda_max(H_SS) is only local."""
    X, y = diabetes(bias=False)
    n, d = X.shape
    H = X.T @ X / n
    L = np.linalg.eigvalsh(H)[-1]
    lam = cell["lam"]
    Ht, bt = torch.as_tensor(H), torch.as_tensor(X.T @ y / n)
    out = {"L": float(L), "runs": {}}
    for c in cell["cs"]:
        eta = c * 2 / L

        def update(w: torch.Tensor, t: int, eta: float = eta) -> torch.Tensor:
            z = w - eta * (Ht @ w - bt)
            return torch.sign(z) * torch.clamp(z.abs() - eta * lam, min=0.0)  # Clarke selection at the kink

        twin = twin_trajectory(update, torch.zeros(d, dtype=torch.float64), cell["steps"], eps=1e-6, seed=cell["seed"])
        w, supports = torch.zeros(d, dtype=torch.float64), []
        for t in range(cell["steps"]):
            w = update(w, t)
            if not torch.isfinite(w).all() or w.norm() > 1e8:
                break
            supports.append(int((w != 0).sum()))
        support = (w != 0).numpy() if torch.isfinite(w).all() else np.zeros(d, bool)
        lss = float(np.linalg.eigvalsh(H[np.ix_(support, support)])[-1]) if support.any() else float("nan")
        out["runs"][str(c)] = {"eta": eta, "max_sens": float(twin.norms.max()), "end_sens": float(twin.norms[-1]),
                               "diverged": bool(w.norm() > 1e8 or not torch.isfinite(w).all()),
                               "nnz": int(support.sum()), "max_support": max(supports) if supports else 0,
                               "lam_SS": lss, "status": twin.status}
    return out


def v8_energy(cell: dict) -> dict:
    """V8: Gramian and sup-energy c2 over growing horizons: flat (stable), geometric (unstable), T^2 (Jordan)."""
    X, _ = diabetes()
    n, d = X.shape
    H = X.T @ X / n
    lam_max = np.linalg.eigvalsh(H)[-1]
    hs = cell["horizons"]
    T = hs[-1]
    rng = np.random.default_rng(cell["seed"])
    out = {}
    for c in cell["cs"]:
        A = np.eye(d) - c * 2 / lam_max * H
        gram = backward_gramian(np.repeat(A[None], T, axis=0), hs)
        delta, norms = rng.standard_normal(d), [1.0]
        delta /= np.linalg.norm(delta)
        for _ in range(T):
            delta = A @ delta
            norms.append(np.linalg.norm(delta))
        sup = sup_energy(np.array(norms), hs)
        out[f"GD c={c}"] = {"gram_c2": gram.c2, "gram_verdict": gram.verdict, "max_ratio": float(gram.ratios.max()),
                            "identity_error": gram.identity_error, "sup_c2": sup.c2, "sup_verdict": sup.verdict}
    # SGD (V3 setting) below and above the mean-square threshold
    B = cell["batch"]
    idx = batch_indices(rng, n, (cell["n_batches"], B))
    eta_ms = laws.mean_square_step(np.einsum("bki,bkj->bij", X[idx], X[idx]) / B)
    for f in cell["sgd_factors"]:
        idx = batch_indices(rng, n, (T, B))
        As = np.eye(d)[None] - f * eta_ms * np.einsum("bki,bkj->bij", X[idx], X[idx]) / B
        gram = backward_gramian(As, hs)
        out[f"SGD {f}x eta_ms"] = {"gram_c2": gram.c2, "gram_verdict": gram.verdict,
                                   "max_ratio": float(gram.ratios.max()) if gram.ratios.size else float("nan"),
                                   "identity_error": gram.identity_error, "sup_c2": None, "sup_verdict": None}
    J = np.array([[1.0, 1.0], [0.0, 1.0]])
    norms = np.array([np.linalg.norm([t, 1.0]) for t in range(T + 1)])  # ||J^t e_2||
    sup = sup_energy(norms, hs)
    gram = backward_gramian(np.repeat(J[None], T, axis=0), hs)
    out["Jordan"] = {"gram_c2": gram.c2, "gram_verdict": gram.verdict, "max_ratio": float(gram.ratios.max()),
                     "identity_error": gram.identity_error, "sup_c2": sup.c2, "sup_verdict": sup.verdict}
    return out
