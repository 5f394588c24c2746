"""V1-V3: GD and SGD step-size laws on bundled regression and classification data."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from stablelearn.stability import lambda_min, laws, sharpness, twin_trajectory

from .data import batch_indices, cancer, diabetes, mse_half

def v1_gd_threshold(cell: dict) -> dict:
    """V1: GD on least squares diverges iff eta > 2/lambda_max; the tool's lambda's against eigvalsh."""
    X, y = diabetes()
    n, d = X.shape
    H = X.T @ X / n
    ev = np.linalg.eigvalsh(H)
    model = nn.Linear(d, 1, bias=False).double()
    data = (torch.as_tensor(X), torch.as_tensor(y[:, None]))
    top = sharpness(model, mse_half, data, seed=cell["seed"])
    bottom = lambda_min(model, mse_half, data, seed=cell["seed"])
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    loss_star = 0.5 * np.mean((X @ w_star - y) ** 2)
    runs = {}
    for c in cell["cs"]:
        eta = c * laws.gd_max_step(top.value)
        w, div_step, losses = np.zeros(d), None, []
        for t in range(1, cell["steps"] + 1):
            w = w - eta * (X.T @ (X @ w - y)) / n
            if t % 10 == 0:
                losses.append(0.5 * np.mean((X @ w - y) ** 2))
            if np.linalg.norm(w) > 1e8:
                div_step = t
                break
        runs[str(c)] = {"eta": eta, "diverged": div_step is not None, "div_step": div_step,
                        "final_loss": None if div_step else float(0.5 * np.mean((X @ w - y) ** 2)),
                        "losses": np.asarray(losses)}
    return {"lam_max": top.value, "lam_min": bottom.value, "exact_max": float(ev[-1]), "exact_min": float(ev[0]),
            "hvps": top.matvecs + bottom.matvecs, "loss_star": float(loss_star), "runs": runs}


def v2_logistic_twin(cell: dict) -> dict:
    """V2: twin SGD on L2-logistic regression contracts beyond the global 2/L (sufficient, not necessary);
    the twin sensitivity stays below the product of local bounds ||I - eta H_B(theta_t)||."""
    X, y = cancer()
    n, d = X.shape
    lam2, B = 0.01, cell["batch"]
    L = np.linalg.eigvalsh(X.T @ X)[-1] / (4 * n) + lam2
    rng = np.random.default_rng(cell["seed"])
    order = [rng.permutation(n) for _ in range(cell["epochs"])]
    batches = [o[i : i + B] for o in order for i in range(0, n, B)]
    LB = max(np.linalg.eigvalsh(X[b].T @ X[b])[-1] / (4 * len(b)) + lam2 for b in batches[: n // B + 1])
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    per_epoch = math.ceil(n / B)
    out = {"L": float(L), "LB": float(LB), "runs": {}}
    for c in cell["cs"]:
        eta = c * 2 / L

        def update(theta: torch.Tensor, t: int, eta: float = eta) -> torch.Tensor:
            b = torch.as_tensor(batches[t])
            p = torch.sigmoid(Xt[b] @ theta)
            return theta - eta * (Xt[b].T @ (p - yt[b]) / len(b) + lam2 * theta)

        theta0 = torch.zeros(d, dtype=torch.float64)
        twin = twin_trajectory(update, theta0, len(batches), eps=1e-6, seed=cell["seed"])
        # product of local bounds along the primary trajectory (the local-bound route)
        theta, log_bound, worst = theta0.numpy().copy(), [0.0], 0.0
        for t in range(twin.n_iter):
            b = batches[t]
            p = 1 / (1 + np.exp(-X[b] @ theta))
            Hb = (X[b].T * (p * (1 - p))) @ X[b] / len(b) + lam2 * np.eye(d)
            e = np.linalg.eigvalsh(Hb)
            log_bound.append(log_bound[-1] + math.log(laws.contraction_factor(eta, e[0], e[-1])))
            theta = theta - eta * (X[b].T @ (p - y[b]) / len(b) + lam2 * theta)
        bound = np.exp(np.array(log_bound))
        ok = np.all(twin.norms <= bound * (1 + 1e-6) + 1e-9)
        out["runs"][str(c)] = {"eta": eta, "sens_1": float(twin.norms[per_epoch]), "sens_end": float(twin.norms[-1]),
                               "below_bound": bool(ok), "max_ratio_to_bound": float(np.max(twin.norms / bound)),
                               "status": twin.status}
    return out


def v3_mean_square(cell: dict) -> dict:
    """V3: SGD tangent dynamics on least squares: the mean-square threshold eta_ms, median path norms."""
    X, _ = diabetes()
    n, d = X.shape
    B = cell["batch"]
    rng = np.random.default_rng(cell["seed"])
    idx = batch_indices(rng, n, (cell["n_batches"], B))
    Hb = np.einsum("bki,bkj->bij", X[idx], X[idx]) / B
    eta_ms = laws.mean_square_step(Hb)
    worst = 2 / max(np.linalg.eigvalsh(h)[-1] for h in Hb)
    out = {"eta_ms": eta_ms, "worst": float(worst), "gd": float(2 / np.linalg.eigvalsh(X.T @ X / n)[-1]), "runs": {}}
    for f in cell["factors"]:
        eta = f * eta_ms
        rho = laws.mean_square_factor(eta, Hb)
        delta = rng.standard_normal((cell["seeds"], d))
        delta /= np.linalg.norm(delta, axis=1, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(cell["steps"]):
                xb = X[batch_indices(rng, n, (cell["seeds"], B))]
                delta = delta - eta * np.einsum("ski,sk->si", xb, np.einsum("skj,sj->sk", xb, delta)) / B
        sq = np.sum(delta**2, axis=1)
        out["runs"][str(f)] = {"eta": eta, "rho_ms": rho, "chi_ms": 0.5 * math.log(rho),
                               "median": float(np.median(sq)), "mean": float(np.mean(sq)),
                               "chi_path": float(np.median(0.5 * np.log(sq)) / cell["steps"])}
    return out
