"""RBNO: a network from parameters to reduced coefficients, trained on the FOSLS residual (spec 3b, 6d).

Loss variants (paper names): ``"residual"`` = mean reduced FOSLS value ``J_r(c(mu); mu)`` (needs no
solution labels), ``"coefficient"`` ("RB coef.") = mean squared distance to the RB-FOSLS optimum
``c*(mu)`` on the labelled parameters, ``"both"`` = their sum. Because the basis is X-orthonormal,
``||c - c*||^2 = ||x - x*||_X^2``, so the two terms are on the same scale (the paper's "MSE" is a
mean over entries; ours sums over coefficients, which only rescales it).

Certified prediction (beyond the paper): :meth:`RBNO.predict` with ``tol`` replaces every output
whose estimator ``eta = sqrt(J)`` exceeds ``tol`` by the full-order FE solution.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .reduced import ReducedFOSLS

LOSSES = ("residual", "coefficient", "both")


def mlp(sizes: tuple[int, ...], activation: type[nn.Module] = nn.GELU) -> nn.Sequential:
    """Fully connected network ``sizes[0] -> ... -> sizes[-1]`` (spec 6d: 16 -> 128 -> 128 -> r, GELU)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class ImageCNN(nn.Module):
    """The paper's CNN on the coefficient image (spec 3b), channel widths scaled by ``width``.

    Conv(1->w,k5,s2) -> Conv(w->2w,k5,s2) -> Conv(2w->4w,k5,s3) -> Conv(4w->8w,k3,s1) -> Flatten ->
    Linear(->8w) -> Linear(->r); LeakyReLU; Xavier-uniform weights, zero biases. ``width=64`` is the
    paper's size. Without padding the stack needs images of at least 53 pixels a side (the paper's
    are 129); ``padding=None`` uses none there and ``kernel // 2`` on smaller CPU-scale images
    (reconstructed adaptation).
    """

    def __init__(self, image_shape: tuple[int, int], r: int, width: int = 64, padding: bool | None = None) -> None:
        super().__init__()
        w = width
        pad = int((min(image_shape) < 53) if padding is None else bool(padding))
        convs = [nn.Conv2d(1, w, 5, 2, 2 * pad), nn.Conv2d(w, 2 * w, 5, 2, 2 * pad),
                 nn.Conv2d(2 * w, 4 * w, 5, 3, 2 * pad), nn.Conv2d(4 * w, 8 * w, 3, 1, pad)]
        body: list[nn.Module] = []
        for c in convs:
            body += [c, nn.LeakyReLU()]
        self.features = nn.Sequential(*body, nn.Flatten())
        with torch.no_grad():
            n = self.features(torch.zeros(1, 1, *image_shape)).shape[1]
        self.head = nn.Sequential(nn.Linear(n, 8 * w), nn.LeakyReLU(), nn.Linear(8 * w, r))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class TrainResult:
    """History of :meth:`RBNO.fit`: per-step objective and batch-mean residual ``J_r``."""

    objective: np.ndarray
    residual: np.ndarray
    steps: int
    status: str  # "completed" or "diverged"
    seconds: float


@dataclass
class Prediction:
    """Output of :meth:`RBNO.predict`.

    Attributes
    ----------
    x : (n, ndofs) full FE vectors returned (network field, or FE solution where ``fallback``).
    coefficients : (n, r) network coefficients.
    estimate : (n,) ``sqrt(J)`` of the returned fields (the certificate).
    network_estimate : (n,) ``sqrt(J_r)`` of the network output before any fallback.
    fallback : (n,) True where the estimate exceeded ``tol`` and the FE solver was used.
    """

    x: np.ndarray
    coefficients: np.ndarray
    estimate: np.ndarray
    network_estimate: np.ndarray
    fallback: np.ndarray


class RBNO:
    """Reduced basis neural operator (spec 3b, 6d).

    Parameters
    ----------
    reduced : the :class:`~stablelearn.rbno.reduced.ReducedFOSLS` defining basis and loss.
    loss : ``"residual"``, ``"coefficient"`` or ``"both"``.
    hidden : hidden widths of the MLP (spec 6d, reconstructed for the CPU plan).
    architecture : ``"mlp"`` (parameters -> coefficients; default, spec 6d) or ``"cnn"`` (the
        paper's CNN on the coefficient image ``problem.coefficient_image``; spec 3b).
    seed : initialisation and batch-sampling seed.
    dtype, device : of the network; the loss is always evaluated in float64 (cancellation in
        ``c^T A c - 2 b^T c + f`` near the minimum).
    """

    def __init__(self, reduced: ReducedFOSLS, *, loss: str = "residual", hidden: tuple[int, ...] = (128, 128),
                 architecture: str = "mlp", cnn_width: int = 16, seed: int = 0,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
        if architecture not in ("mlp", "cnn"):
            raise ValueError(f"architecture must be 'mlp' or 'cnn'; got {architecture!r}")
        if not hidden or any(not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty tuple of positive ints; got {hidden!r}")
        self.reduced, self.loss, self.architecture = reduced, loss, architecture
        self.dtype, self.device = dtype, torch.device(device)
        torch.manual_seed(seed)
        self.seed = seed
        problem = reduced.problem
        if architecture == "mlp":
            self.net = mlp((problem.param_dim, *hidden, reduced.r))
        else:
            self.net = ImageCNN(problem.coefficient_image(problem.sample(1, 0)).shape[-2:], reduced.r, cnn_width)
        self.net.to(self.device, dtype)
        r = reduced.r
        self.c_mean = torch.zeros(r, dtype=torch.float64)
        self.c_scale = torch.ones(r, dtype=torch.float64)

    # ------------------------------------------------------------------ forward
    def _inputs(self, mu: np.ndarray) -> torch.Tensor:
        p = self.reduced.problem
        z = p.coefficient_image(mu) if self.architecture == "cnn" else mu
        return torch.as_tensor(z, dtype=self.dtype, device=self.device)

    def _forward(self, inputs: torch.Tensor) -> torch.Tensor:
        z = self.net(inputs).to(device="cpu", dtype=torch.float64)
        return self.c_mean + self.c_scale * z

    def coefficients(self, mu) -> torch.Tensor:
        """Network coefficients ``c(mu)``, shape (n, r), float64."""
        mu = self.reduced.problem.check_mu(mu)
        with torch.no_grad():
            return self._forward(self._inputs(mu))

    # ------------------------------------------------------------------ training
    def fit(self, mu: np.ndarray, *, labelled: np.ndarray | None = None, steps: int = 3000,
            batch_size: int = 256, lr: float = 1e-3, progress: bool = True) -> TrainResult:
        """Train with Adam and a cosine learning-rate schedule (spec 6d; the paper uses SOAP + StepLR).

        ``mu``: training parameters for the residual term; ``labelled``: parameters whose RB-FOSLS
        optimum ``c*`` is the label of the coefficient term (required unless ``loss="residual"``).
        The output is affinely normalised by the mean/std of ``c*`` over the labelled set (or up to
        256 training parameters), a reparametrisation that leaves the minimisers unchanged.
        """
        problem = self.reduced.problem
        mu = problem.check_mu(mu, "mu")
        for name, v in (("steps", steps), ("batch_size", batch_size)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive finite number; got {lr!r}")
        if self.loss != "residual" and labelled is None:
            raise ValueError(f"labelled parameters are required for loss={self.loss!r}")
        lab = problem.check_mu(labelled, "labelled") if labelled is not None else None
        sys_train = self.reduced.system(mu)
        c_lab = sys_train.optimum() if lab is None else self.reduced.optimum(lab)
        ref = c_lab if lab is not None else c_lab[:256]
        self.c_mean, self.c_scale = ref.mean(0), ref.std(0).clamp_min(1e-12) if len(ref) > 1 else torch.ones_like(ref[0])
        x_train = self._inputs(mu)
        x_lab = self._inputs(lab) if lab is not None else None
        gen = torch.Generator().manual_seed(self.seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        obj, res = np.zeros(steps), np.zeros(steps)
        status, t0 = "completed", time.perf_counter()
        for k in tqdm(range(steps), desc=f"RBNO ({self.loss})", disable=not progress, leave=False):
            idx = torch.randint(len(mu), (min(batch_size, len(mu)),), generator=gen)
            J = sys_train[idx].loss(self._forward(x_train[idx]))
            total = J.mean() if self.loss != "coefficient" else torch.zeros((), dtype=torch.float64)
            if self.loss != "residual":
                jdx = torch.randint(len(lab), (min(batch_size, len(lab)),), generator=gen)
                total = total + ((self._forward(x_lab[jdx]) - c_lab[jdx]) ** 2).sum(-1).mean()
            if not torch.isfinite(total):
                status, obj, res = "diverged", obj[:k], res[:k]
                break
            opt.zero_grad()
            total.backward()
            opt.step()
            sched.step()
            obj[k], res[k] = total.item(), J.mean().item()
        return TrainResult(obj, res, len(obj), status, time.perf_counter() - t0)

    # ------------------------------------------------------------------ prediction
    def predict(self, mu, tol: float | None = None) -> Prediction:
        """Fields and their estimates; with ``tol``, outputs with ``eta > tol`` are FE-solved instead.

        The estimator ``eta = sqrt(J)`` bounds the X error to the exact PDE solution up to the
        norm-equivalence constants (spec section 4); it includes the FE discretisation error, so
        ``tol`` below ``sqrt(J(u_h))`` forces every fallback solve to return ``eta > tol`` anyway.
        """
        problem = self.reduced.problem
        mu = problem.check_mu(mu)
        if tol is not None and not (isinstance(tol, (int, float)) and tol > 0 and math.isfinite(tol)):
            raise ValueError(f"tol must be a positive finite number or None; got {tol!r}")
        c = self.coefficients(mu)
        eta = self.reduced.estimate(c, mu).numpy()
        x = self.reduced.decode(c)
        est = eta.copy()
        fallback = np.zeros(len(mu), dtype=bool) if tol is None else eta > tol
        for i in np.flatnonzero(fallback):
            sol = problem.solve(mu[i])
            x[i], est[i] = sol.x, sol.estimate
        return Prediction(x=x, coefficients=c.numpy(), estimate=est, network_estimate=eta, fallback=fallback)

    def state_dict(self) -> dict:
        """Network weights and output normalisation (picklable)."""
        return {"net": self.net.state_dict(), "c_mean": self.c_mean, "c_scale": self.c_scale}

    def load_state_dict(self, state: dict) -> "RBNO":
        self.net.load_state_dict(state["net"])
        self.c_mean, self.c_scale = state["c_mean"], state["c_scale"]
        return self
