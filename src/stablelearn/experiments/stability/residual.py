"""V4: the discrete CFL-type condition for residual networks (linear, nonlinear, a trained ResNet)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from stablelearn._conventions import torch_seeded
from stablelearn.nn import ResidualBlock
from stablelearn.stability import input_jacobian_norm, laws, residual_margins

from .data import standardize

def v4_linear_cfl(cell: dict) -> dict:
    """V4a: a weight-shared linear residual net x + h(-A x): ||Phi(K,0)|| = max|1 - h lambda_i|^K."""
    d, K = 20, cell["depth"]
    rng = np.random.default_rng(cell["seed"])
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.linspace(0.1, 4.0, d)
    branch = nn.Linear(d, d, bias=False).double()
    with torch.no_grad():
        branch.weight.copy_(torch.as_tensor(-(q * eig) @ q.T))
    out = {"max_step": laws.gd_max_step(eig[-1]), "runs": {}}
    x = torch.as_tensor(rng.standard_normal((3, d)))
    for h in cell["hs"]:
        net = nn.Sequential(*[ResidualBlock(branch, h)] * K)
        est = input_jacobian_norm(net, x, iters=200, tol=1e-10, seed=cell["seed"])
        out["runs"][str(h)] = {"measured": est.value, "exact": float(np.max(np.abs(1 - h * eig)) ** K)}
    return out


class _Dissipative(nn.Module):
    """f(x) = -2x + tanh(W x + b) with ||W||_2 = 1: mu >= 1, L <= 3 (V4)."""

    def __init__(self, d: int, rng: np.random.Generator) -> None:
        super().__init__()
        W = rng.standard_normal((d, d))
        self.lin = nn.Linear(d, d).double()
        with torch.no_grad():
            self.lin.weight.copy_(torch.as_tensor(W / np.linalg.norm(W, 2)))
            self.lin.bias.copy_(torch.as_tensor(rng.standard_normal(d)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -2 * x + torch.tanh(self.lin(x))


def _flow_jacobians(f: "_Dissipative", x: torch.Tensor, h: float, K: int) -> np.ndarray:
    """Exact dx_K/dx_0 per input by the chain rule J_{k+1} = (I + h J_f(x_k)) J_k (float64)."""
    W = f.lin.weight.detach()
    eye = torch.eye(W.shape[0], dtype=W.dtype)
    J = eye.expand(x.shape[0], -1, -1).clone()
    with torch.no_grad(), np.errstate(over="ignore"):
        for _ in range(K):
            s = 1 - torch.tanh(f.lin(x)) ** 2
            J = (eye + h * (-2 * eye + s[:, :, None] * W)) @ J
            x = x + h * f(x)
    return torch.linalg.matrix_norm(J, ord=2).numpy()


def v4_nonlinear_cfl(cell: dict) -> dict:
    """V4b: x_{k+1} = x_k + h f(x_k) with f 1-dissipative and 3-Lipschitz: contraction for h < 2 mu/L^2.
    The sensitivity is exact (chain rule); mu and L come from the tool's ``residual_margins``."""
    d, K = cell["dim"], cell["depth"]
    rng = np.random.default_rng(cell["seed"])
    f = _Dissipative(d, rng)
    x = torch.as_tensor(rng.standard_normal((5, d)))
    out = {"guaranteed": laws.residual_max_step(1.0, 3.0), "runs": {}}
    for h in cell["hs"]:
        marg = residual_margins(nn.Sequential(ResidualBlock(f, h)), x)
        sens = _flow_jacobians(f, x, h, K)
        out["runs"][str(h)] = {"sens": float(np.max(sens)), "mu": float(marg.mu[0]), "L": float(marg.lipschitz[0]),
                               "cfl_local": float(marg.cfl_step[0])}
    return out


class _SharedResNet(nn.Module):
    """Weight-shared ResNet: K copies of one :class:`stablelearn.nn.ResidualBlock` x -> x + (T/K) tanh(W x + b),
    on make_moons (V4). ``set_depth`` rebuilds the chain with step h = T/K."""

    def __init__(self, width: int, depth: int, T: float = 1.0) -> None:
        super().__init__()
        self.embed, self.readout = nn.Linear(2, width), nn.Linear(width, 2)
        self.branch = nn.Sequential(nn.Linear(width, width), nn.Tanh())
        self.T = T
        self.set_depth(depth)

    def set_depth(self, depth: int) -> None:
        """Use ``depth`` copies of the shared block, each with step T / depth."""
        self.blocks = nn.Sequential(*[ResidualBlock(self.branch, self.T / depth)] * depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.blocks(self.embed(x)))


def v4_resnet_depth(cell: dict) -> dict:
    """V4c: train a weight-shared ResNet once (depth K0), then S_rep = ||J_x|| at depths K with h = T/K."""
    from sklearn.datasets import make_moons

    X, y = make_moons(cell["n"], noise=0.2, random_state=cell["seed"])
    X, y = torch.as_tensor(standardize(X), dtype=torch.float32), torch.as_tensor(y)
    with torch_seeded(cell["seed"]):
        net = _SharedResNet(cell["width"], cell["train_depth"], T=cell["T"])
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(cell["train_steps"]):
        opt.zero_grad()
        nn.functional.cross_entropy(net(X), y).backward()
        opt.step()
    acc = float((net(X).argmax(1) == y).float().mean())
    s_rep = {}
    for K in cell["depths"]:
        net.set_depth(K)
        s_rep[str(K)] = input_jacobian_norm(net, X[:64], iters=100, tol=1e-6, seed=cell["seed"]).value
    return {"accuracy": acc, "s_rep": s_rep}
