"""Baselines of arXiv 2512.21319 (PCA-Net, FNO from ``neuralop``) and our non-variationally-correct
boundary-penalty FOSLS (``docs/rbno.md``).

Grid models predict vertex values of all field components; :meth:`FOSLSProblem.project_vertex_values`
turns them into FE fields (CG1 interpolation + X projection, as the paper does) so that their X
error and FOSLS residual are measured exactly like RBNO's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from stablelearn._conventions import (check_array, check_choice, check_float, check_int, progress_disabled,
                                      spawn_seeds, torch_generator, torch_seeded)

from .fosls import FOSLSProblem
from .network import mlp
from .pod import PODBasis
from .reduced import ReducedFOSLS, ReducedSystem


class PenalisedReducedFOSLS(ReducedFOSLS):
    """Non-variationally-correct baseline (``docs/rbno.md``): FOSLS on an un-homogenised basis
    ``x = V c`` plus ``weight * (||u - u_D||^2_{Gamma_D} + ||sigma.n - g||^2_{Gamma_N})``.

    The boundary penalty is parameter independent, so it is projected once. Train an
    :class:`~stablelearn.rbno.network.RBNO` with ``loss="residual"`` on it to get the PINN-style
    penalty operator; its ``loss`` is NOT the FOSLS value of the decoded field.
    """

    def __init__(self, problem: FOSLSProblem, basis: PODBasis | np.ndarray, weight: float = 1.0) -> None:
        weight = check_float(weight, "weight", low=0, low_inclusive=False)
        super().__init__(problem, basis, homogeneous=False)
        self.weight = weight
        M, g, c = problem.boundary_penalty()
        V = self.V
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64)
        self.P_A, self.P_b, self.P_f = t(V.T @ (M @ V)), t(V.T @ g), torch.tensor(c, dtype=torch.float64)

    def fosls(self, c: Any, mu: Any) -> torch.Tensor:
        """The true FOSLS value ``J(V c; mu)`` of the decoded field (no penalty), shape (B,)."""
        return super().system(mu).loss(self._c(c))

    def system(self, mu: Any) -> ReducedSystem:
        """The penalised reduced quadratic (FOSLS + ``weight`` * boundary misfit) at ``mu``."""
        s = super().system(mu)
        w = self.weight
        return ReducedSystem(s.A + w * self.P_A, s.b + w * self.P_b, s.f + w * self.P_f)


@dataclass
class GridFitResult:
    """Result of a grid baseline's ``fit``.

    Attributes
    ----------
    status : ``"completed"`` or ``"non_finite"`` (the loss became NaN/inf; training stopped there).
    n_iter : steps taken.
    wall_time : seconds.
    history : ``"loss"``, the per-step MSE on standardised outputs.
    """

    status: str
    n_iter: int
    wall_time: float
    history: dict[str, np.ndarray] = field(default_factory=dict)


def _standardise(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return a.mean(0), a.std(0) + 1e-12


class PCANet:
    """PCA-Net (the paper's baseline): input PCA -> MLP (SELU) -> output PCA of vertex values, standardised I/O.

    Inputs are the parameter vectors (identity input: for heat conduction the 16 contrasts are
    already the natural coordinates; the paper's 20-mode input PCA of the coefficient field is
    ``input_modes=20`` with ``inputs="image"``). Output: Euclidean PCA (``output_modes``) of the
    flattened vertex values of all components. Trained with AdamW (lr 1e-3, wd 0.01) on MSE.
    ``seed`` (None, int >= 0 or Generator) seeds initialisation and batches; torch's global RNG is untouched.
    """

    def __init__(self, problem: FOSLSProblem, *, output_modes: int = 64, hidden: tuple[int, ...] = (256, 256),
                 inputs: str = "parameters", input_modes: int = 20, seed: Any = 0) -> None:
        if not isinstance(problem, FOSLSProblem):
            raise TypeError(f"problem must be a FOSLSProblem, got {type(problem).__name__}")
        self.inputs = check_choice(inputs, "inputs", ("parameters", "image"))
        self.output_modes = check_int(output_modes, "output_modes", low=1)
        self.input_modes = check_int(input_modes, "input_modes", low=1)
        self.hidden = tuple(check_int(h, "hidden[i]", low=1) for h in hidden)
        self.problem, self.seed = problem, seed
        self._seeds = spawn_seeds(np.random.default_rng() if seed is None else seed, 2)

    def _features(self, mu: np.ndarray) -> np.ndarray:
        if self.inputs == "parameters":
            return mu
        return self.problem.coefficient_image(mu).reshape(len(mu), -1)

    def fit(self, mu: Any, values: Any, *, steps: int = 2000, batch_size: int = 128,
            lr: float = 1e-3, progress: bool | None = None) -> GridFitResult:
        """Fit on parameters ``mu`` (n, d) and vertex values (n, n_components, n_vertices)."""
        mu = self.problem.check_mu(mu)
        values = check_array(values, "values", ndim=3)
        if len(values) != len(mu):
            raise ValueError(f"values must have one row per parameter ({len(mu)}), got {len(values)}")
        Y = values.reshape(len(mu), -1)
        self.value_shape = np.shape(values)[1:]
        Xf = self._features(mu)
        self.x_mean, self.x_std = _standardise(Xf)
        Z = (Xf - self.x_mean) / self.x_std
        if self.inputs == "image":
            _, _, Vt = np.linalg.svd(Z, full_matrices=False)
            self.in_basis = Vt[: min(self.input_modes, len(Vt))].T
            Z = Z @ self.in_basis
        self.y_mean = Y.mean(0)
        _, _, Vt = np.linalg.svd(Y - self.y_mean, full_matrices=False)
        self.out_basis = Vt[: min(self.output_modes, len(Vt))].T
        C = (Y - self.y_mean) @ self.out_basis
        self.c_mean, self.c_std = _standardise(C)
        with torch_seeded(self._seeds[0]):
            self.net = mlp((Z.shape[1], *self.hidden, C.shape[1]), nn.SELU)
        return _train_mse(self.net, torch.as_tensor(Z, dtype=torch.float32),
                          torch.as_tensor((C - self.c_mean) / self.c_std, dtype=torch.float32),
                          steps, batch_size, lr, self._seeds[1], progress, "PCA-Net", weight_decay=0.01)

    def predict_values(self, mu: Any) -> np.ndarray:
        """Vertex values (n, n_components, n_vertices) predicted at ``mu``."""
        mu = self.problem.check_mu(mu)
        Z = (self._features(mu) - self.x_mean) / self.x_std
        if self.inputs == "image":
            Z = Z @ self.in_basis
        with torch.no_grad():
            C = self.net(torch.as_tensor(Z, dtype=torch.float32)).double().numpy()
        Y = (C * self.c_std + self.c_mean) @ self.out_basis.T + self.y_mean
        return Y.reshape(len(mu), *self.value_shape)

    def predict(self, mu: Any) -> np.ndarray:
        """FE vectors (n, ndofs): vertex predictions projected onto the FE space."""
        return self.problem.project_vertex_values(self.predict_values(mu))


class FNOBaseline:
    """FNO from ``neuralop`` on the vertex grid (the paper's baseline): log-coefficient image (+ the
    package's grid embedding for x, y) -> all field components; MSE on standardised outputs, Adam.
    ``seed`` (None, int >= 0 or Generator) seeds initialisation and batches; torch's global RNG is untouched."""

    def __init__(self, problem: FOSLSProblem, *, n_modes: tuple[int, int] = (8, 8), hidden: int = 32,
                 n_layers: int = 4, seed: Any = 0) -> None:
        from neuralop.models import FNO  # optional dependency (bench extra)

        if not isinstance(problem, FOSLSProblem):
            raise TypeError(f"problem must be a FOSLSProblem, got {type(problem).__name__}")
        n_modes = tuple(check_int(m, "n_modes[i]", low=1) for m in n_modes)
        hidden, n_layers = check_int(hidden, "hidden", low=1), check_int(n_layers, "n_layers", low=1)
        self.problem, self.seed = problem, seed
        self._seeds = spawn_seeds(np.random.default_rng() if seed is None else seed, 2)
        n_comp = len(problem.vertex_values(problem.lift))
        with torch_seeded(self._seeds[0]):
            self.net = FNO(n_modes=n_modes, in_channels=1, out_channels=n_comp, hidden_channels=hidden,
                           n_layers=n_layers)
        self.order, self.shape = problem.grid_order, problem.grid_shape

    def _to_grid(self, values: np.ndarray) -> np.ndarray:
        return values[..., self.order].reshape(*values.shape[:-1], *self.shape)

    def fit(self, mu: Any, values: Any, *, steps: int = 1000, batch_size: int = 32,
            lr: float = 2e-3, progress: bool | None = None) -> GridFitResult:
        """Fit on parameters ``mu`` (n, d) and vertex values (n, n_components, n_vertices)."""
        mu = self.problem.check_mu(mu)
        values = check_array(values, "values", ndim=3)
        if len(values) != len(mu):
            raise ValueError(f"values must have one row per parameter ({len(mu)}), got {len(values)}")
        img = self.problem.coefficient_image(mu)
        self.x_mean, self.x_std = img.mean(), img.std() + 1e-12
        Y = self._to_grid(values)
        self.y_mean, self.y_std = Y.mean((0, 2, 3), keepdims=True), Y.std((0, 2, 3), keepdims=True) + 1e-12
        return _train_mse(self.net, torch.as_tensor((img - self.x_mean) / self.x_std, dtype=torch.float32),
                          torch.as_tensor((Y - self.y_mean) / self.y_std, dtype=torch.float32),
                          steps, batch_size, lr, self._seeds[1], progress, "FNO")

    def predict_values(self, mu: Any) -> np.ndarray:
        """Vertex values (n, n_components, n_vertices) predicted at ``mu``."""
        mu = self.problem.check_mu(mu)
        img = (self.problem.coefficient_image(mu) - self.x_mean) / self.x_std
        with torch.no_grad():
            Y = self.net(torch.as_tensor(img, dtype=torch.float32)).double().numpy() * self.y_std + self.y_mean
        out = np.empty((len(mu), Y.shape[1], len(self.order)))
        out[..., self.order] = Y.reshape(len(mu), Y.shape[1], -1)
        return out

    def predict(self, mu: Any) -> np.ndarray:
        """FE vectors (n, ndofs): vertex predictions projected onto the FE space."""
        return self.problem.project_vertex_values(self.predict_values(mu))


def _train_mse(net: nn.Module, X: torch.Tensor, Y: torch.Tensor, steps: int, batch_size: int, lr: float,
               seed: int, progress: bool | None, desc: str, weight_decay: float = 0.0) -> GridFitResult:
    steps = check_int(steps, "steps", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_float(lr, "lr", low=0, high=1e6, low_inclusive=False)
    gen = torch_generator(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    hist, status, t0 = np.zeros(steps), "completed", time.perf_counter()
    for k in tqdm(range(steps), desc=desc, disable=progress_disabled(progress), leave=False):
        idx = torch.randint(len(X), (min(batch_size, len(X)),), generator=gen)
        loss = ((net(X[idx]) - Y[idx]) ** 2).mean()
        if not torch.isfinite(loss):
            status, hist = "non_finite", hist[:k]
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        hist[k] = loss.item()
    return GridFitResult(status=status, n_iter=len(hist), wall_time=time.perf_counter() - t0,
                         history={"loss": hist})
