"""RBNO: a network from parameters to reduced coefficients, trained on the FOSLS residual.

Qiu, Dahmen, Chen, arXiv 2512.21319, the RBNO network and its three losses (paper names):
``"residual"`` = mean reduced FOSLS value ``J_r(c(mu); mu)`` (needs no solution labels),
``"coefficient"`` ("RB coef.") = mean squared distance to the RB-FOSLS optimum ``c*(mu)`` on the
labelled parameters, ``"both"`` = their sum. Because the basis is X-orthonormal,
``||c - c*||^2 = ||x - x*||_X^2``, so the two terms are on the same scale (the paper's "MSE" is a
mean over entries; ours sums over coefficients, which only rescales it).

Beyond the paper (named options, ``docs/rbno.md`` "Training"):

- ``refit_output``: every loss is a quadratic in the output layer, so, the features fixed, the
  output layer's optimum on the training parameters is one linear solve (:meth:`RBNO.refit_output`).
- ``validation``: best-validation checkpointing on the residual of held-out parameters, as the
  authors' training scripts do.
- :meth:`RBNO.predict` with ``tol`` replaces every output whose estimator ``eta = sqrt(J)`` exceeds
  ``tol`` by the full-order FE solution (certified prediction).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from stablelearn._conventions import (check_array, check_choice, check_float, check_int, progress_disabled, spawn_seeds,
                                      torch_generator, torch_seeded)

from .reduced import ReducedFOSLS, ReducedSystem

LOSSES = ("residual", "coefficient", "both")
ARCHITECTURES = ("mlp", "cnn")
OUTPUT_MAPS = ("std", "whiten")
WEIGHTINGS = ("none", "trace", "inverse_trace")


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.GELU) -> nn.Sequential:
    """Fully connected network ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between layers.

    The RBNO default ``param_dim -> 128 -> 128 -> r`` with GELU is a CPU-scale reconstruction
    (``docs/rbno.md``, "Reconstructed choices"); the paper uses a CNN on the coefficient image.
    """
    sizes = [check_int(s, "sizes[i]", low=1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least two layer widths, got {sizes!r}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class ImageCNN(nn.Module):
    """The paper's CNN on the coefficient image (arXiv 2512.21319, authors' ``convolutional_nn.py``),
    channel widths scaled by ``width``.

    Conv(1->w,k5,s2) -> Conv(w->2w,k5,s2) -> Conv(2w->4w,k5,s3) -> Conv(4w->8w,k3,s1) -> Flatten ->
    Linear(->8w) -> Linear(->r); LeakyReLU; Xavier-uniform weights, zero biases. ``width=64`` is the
    paper's size. Without padding the stack needs images of at least 53 pixels a side (the paper's
    are 129); ``padding=None`` uses none there and ``kernel // 2`` on smaller CPU-scale images
    (reconstructed adaptation, ``docs/rbno.md``).
    """

    def __init__(self, image_shape: tuple[int, int], r: int, width: int = 64, padding: bool | None = None) -> None:
        super().__init__()
        w = check_int(width, "cnn_width", low=1)
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
        """Coefficients (n, r) of images (n, 1, ny+1, nx+1)."""
        return self.head(self.features(x))


def _split_output(net: nn.Module) -> tuple[nn.Module, nn.Linear]:
    """The network as (feature map, output layer): the last ``nn.Linear`` and everything before it."""
    if isinstance(net, ImageCNN):
        return nn.Sequential(net.features, *list(net.head)[:-1]), net.head[-1]
    return nn.Sequential(*list(net)[:-1]), net[-1]


@dataclass
class FitResult:
    """Result of :meth:`RBNO.fit`.

    Attributes
    ----------
    status : ``"completed"`` (all steps ran) or ``"non_finite"`` (the objective became NaN or
        infinite; training stopped and the last finite network is kept).
    n_iter : optimiser steps taken.
    wall_time : seconds.
    history : ``"objective"`` and ``"residual"`` (batch-mean ``J_r``) per step; with validation,
        ``"validation_step"`` and ``"validation"`` (mean ``J_r`` on the validation parameters).
    best_iter : step of the kept best-validation checkpoint (None without validation).
    output_refit : whether the output layer was re-solved after the optimiser (``refit_output``).
    ridge : the ridge factor used by that solve (None when not refitted).
    """

    status: str
    n_iter: int
    wall_time: float
    history: dict[str, np.ndarray] = field(default_factory=dict)
    best_iter: int | None = None
    output_refit: bool = False
    ridge: float | None = None


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


def _check_device(device: Any) -> torch.device:
    try:
        dev = torch.device(device)
        torch.zeros(1, device=dev)
    except (RuntimeError, TypeError, AssertionError) as exc:
        raise ValueError(f"device must name an available torch device, got {device!r} ({exc})") from None
    return dev


class _Operator:
    """What a trained operator offers once it has ``reduced`` and ``coefficients(mu)``."""

    reduced: ReducedFOSLS

    def coefficients(self, mu: Any) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def excess_loss(self, mu: Any) -> np.ndarray:
        """``J_r(c(mu); mu) - J_r(c*(mu); mu)`` per parameter: the network's own share of the residual.

        By least-squares orthogonality it equals ``|||V (c - c*)|||^2``, the squared energy-norm distance
        to the RB-FOSLS optimum, so on the training parameters it measures optimisation and capacity and
        on unseen parameters it adds generalisation (``docs/rbno.md``, "Training").
        """
        mu = self.reduced.problem.check_mu(mu)
        s = self.reduced.system(mu)
        return (s.loss(self.coefficients(mu)) - s.loss(s.optimum())).numpy()

    def predict(self, mu: Any, tol: float | None = None) -> Prediction:
        """Fields and their estimates; with ``tol``, outputs with ``eta > tol`` are FE-solved instead.

        The estimator ``eta = sqrt(J)`` bounds the X error to the exact PDE solution up to the
        norm-equivalence constants (arXiv 2512.21319, a-posteriori estimate); it includes the FE
        discretisation error, so ``tol`` below ``sqrt(J(u_h))`` forces every fallback solve to return
        ``eta > tol`` anyway.
        """
        problem = self.reduced.problem
        mu = problem.check_mu(mu)
        if tol is not None:
            tol = check_float(tol, "tol", low=0, low_inclusive=False)
        c = self.coefficients(mu)
        eta = self.reduced.estimate(c, mu).numpy()
        x = self.reduced.decode(c)
        est = eta.copy()
        fallback = np.zeros(len(mu), dtype=bool) if tol is None else eta > tol
        for i in np.flatnonzero(fallback):
            sol = problem.solve(mu[i])
            x[i], est[i] = sol.x, sol.estimate
        return Prediction(x=x, coefficients=c.numpy(), estimate=est, network_estimate=eta, fallback=fallback)


class RBNO(_Operator):
    """Reduced basis neural operator (arXiv 2512.21319): parameters -> reduced coefficients.

    Parameters
    ----------
    reduced : ReducedFOSLS
        Defines the basis and the loss.
    loss : {"residual", "coefficient", "both"}
        The paper's three losses (module docstring).
    hidden : sequence of int
        Hidden widths of the MLP (reconstructed for the CPU plan, ``docs/rbno.md``).
    architecture : {"mlp", "cnn"}
        ``"mlp"``: parameters -> coefficients (default); ``"cnn"``: the paper's CNN on the coefficient
        image ``problem.coefficient_image``.
    cnn_width : int
        Channel width of the CNN (the paper's 64; 16 keeps it CPU sized).
    input_scale : None, "kl" or array (param_dim,)
        MLP only: the parameter vector is multiplied by these factors before the first layer. ``"kl"``
        uses ``sqrt(c_k / c_1)`` of the problem's KL eigenvalues (Darcy, elasticity), so that each input is
        the mode's weight in the log-field relative to the first (an option of ours, ``docs/rbno.md``
        "Darcy study"). None: the raw parameter (the first version).
    field_blocks : int >= 0
        MLP only: with ``k > 0``, the input also holds, on a ``k x k`` grid of blocks of the domain's
        bounding box, the logarithms of the block means of the coefficient ``theta`` and of ``1 / theta``
        over the elements (an option of ours, ``docs/rbno.md`` "Darcy study"): label-free functions of the
        parameter that the MLP would otherwise have to build from the parameter vector. 0: none (the
        first version).
    seed : None, int or numpy.random.Generator
        Initialisation and batch-sampling seed. Torch's global RNG is never touched.
    dtype, device
        Of the network; the loss is always evaluated in float64 on the CPU (cancellation in
        ``c^T A c - 2 b^T c + f`` near the minimum).
    """

    def __init__(self, reduced: ReducedFOSLS, *, loss: str = "residual", hidden: Sequence[int] = (128, 128),
                 architecture: str = "mlp", cnn_width: int = 16, input_scale: Any = None, field_blocks: int = 0,
                 seed: Any = 0,
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> None:
        if not isinstance(reduced, ReducedFOSLS):
            raise TypeError(f"reduced must be a ReducedFOSLS, got {type(reduced).__name__}")
        self.loss = check_choice(loss, "loss", LOSSES)
        self.architecture = check_choice(architecture, "architecture", ARCHITECTURES)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or len(hidden) == 0:
            raise TypeError(f"hidden must be a non-empty sequence of positive integers, got {hidden!r}")
        self.hidden = tuple(check_int(h, "hidden[i]", low=1) for h in hidden)
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        self.reduced, self.dtype, self.device = reduced, dtype, _check_device(device)
        self.input_scale = _check_input_scale(input_scale, reduced.problem, self.architecture)
        self.field_blocks = check_int(field_blocks, "field_blocks", low=0)
        if self.field_blocks and self.architecture != "mlp":
            raise ValueError(f"field_blocks applies to architecture='mlp' only, got architecture={self.architecture!r}")
        self._blocks = _block_means(reduced.problem, self.field_blocks) if self.field_blocks else None
        init_seed, self._batch_seed = spawn_seeds(np.random.default_rng() if seed is None else seed, 2)
        self.seed = seed
        problem = reduced.problem
        with torch_seeded(init_seed):
            if self.architecture == "mlp":
                n_in = problem.param_dim + (2 * self._blocks.shape[1] if self._blocks is not None else 0)
                self.net = mlp((n_in, *self.hidden, reduced.r))
            else:
                shape = problem.coefficient_image(problem.sample(1, seed=0)).shape[-2:]
                self.net = ImageCNN(shape, reduced.r, cnn_width)
        self.net.to(self.device, dtype)
        self.c_mean = torch.zeros(reduced.r, dtype=torch.float64)
        self.c_scale = torch.ones(reduced.r, dtype=torch.float64)

    # ------------------------------------------------------------------ forward
    def _inputs(self, mu: np.ndarray) -> torch.Tensor:
        if self.architecture == "cnn":
            z = self.reduced.problem.coefficient_image(mu)
        else:
            z = mu if self.input_scale is None else mu * self.input_scale
            if self._blocks is not None:
                th = self.reduced.problem.theta(mu)[:, self.reduced.problem.regions]
                z = np.concatenate([z, np.log(th @ self._blocks), -np.log((1 / th) @ self._blocks)], axis=1)
        return torch.as_tensor(z, dtype=self.dtype, device=self.device)

    def _forward(self, inputs: torch.Tensor) -> torch.Tensor:
        z = self.net(inputs).to(device="cpu", dtype=torch.float64)
        return self.c_mean + (z @ self.c_scale.T if self.c_scale.ndim == 2 else self.c_scale * z)

    def coefficients(self, mu: Any) -> torch.Tensor:
        """Network coefficients ``c(mu)``, shape (n, r), float64."""
        mu = self.reduced.problem.check_mu(mu)
        with torch.no_grad():
            return self._forward(self._inputs(mu))

    # ------------------------------------------------------------------ training
    def _objective(self, sys_b: ReducedSystem | None, c: torch.Tensor | None, c_lab: torch.Tensor | None,
                   c_star: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        J = sys_b.loss(c) if sys_b is not None else torch.zeros(1, dtype=torch.float64)
        total = J.mean() if self.loss != "coefficient" else torch.zeros((), dtype=torch.float64)
        if self.loss != "residual":
            total = total + ((c_lab - c_star) ** 2).sum(-1).mean()
        return total, J

    def fit(self, mu: Any, *, labelled: Any = None, steps: int = 3000, batch_size: int = 256, lr: float = 1e-3,
            weight_decay: float = 0.0, validation: Any = None, eval_every: int = 100, refit_output: bool = False,
            ridge: float | Sequence[float] = 0.0, output_map: str = "std", weighting: str = "none",
            progress: bool | None = None) -> FitResult:
        """Train with Adam(W) and a cosine learning-rate schedule (the paper uses SOAP + StepLR).

        Parameters
        ----------
        mu : array (n, param_dim)
            Training parameters of the residual term.
        labelled : array (m, param_dim), optional
            Parameters whose RB-FOSLS optimum ``c*`` labels the coefficient term (required unless
            ``loss="residual"``).
        steps, batch_size, lr, weight_decay
            Optimiser settings; batches are drawn with replacement from the batch-sampling stream.
        validation : array (k, param_dim), optional
            Held-out parameters: every ``eval_every`` steps the mean ``J_r`` on them is recorded and
            the best network is kept (the authors' best-validation checkpoint).
        refit_output : bool
            After the optimiser, replace the output layer by the minimiser of the training objective
            with the features fixed (:meth:`refit_output`).
        ridge : float or sequence of float
            Ridge factor(s) of that solve; with ``validation`` and several factors, the one with the
            lowest validation residual is kept.
        output_map : {"std", "whiten"}
            The affine output map ``c = m + S z``: ``"std"`` (the first version) ``S = diag(std c*)``;
            ``"whiten"`` ``S = L^-T`` with ``L L^T`` the mean reduced Hessian ``A(mu)`` over the training
            parameters, so that the residual's mean Hessian in ``z`` is the identity (a preconditioning
            of ours, ``docs/rbno.md`` "Darcy study").
        weighting : {"none", "trace", "inverse_trace"}
            ``"none"`` (the paper's): the plain mean of ``J_r`` over the parameters. ``"trace"``: each
            parameter's ``J_r`` (training, checkpoint and re-solve alike) is multiplied by
            ``w(mu) = 1 / tr A(mu)``, ``"inverse_trace"`` by ``w(mu) = tr A(mu)^-1``, each relative to its
            mean over the training parameters, so that parameters with a stiff reduced matrix do not
            dominate the mean and the weighted energy error approximates the X error the claims measure
            (an option of ours, ``docs/rbno.md`` "Darcy study"). The weights are label-free functions of
            the reduced matrix and leave each parameter's minimiser ``c*(mu)`` unchanged; the
            ``"residual"`` history is then the weighted mean.
        progress : bool or None
            Progress bar (None: on a terminal only).

        Returns
        -------
        FitResult

        Notes
        -----
        The output is affinely normalised (``output_map``) with ``m`` the mean of ``c*`` over the labelled
        set (or up to 256 training parameters), a reparametrisation that leaves the minimisers unchanged.
        """
        steps = check_int(steps, "steps", low=1)
        batch_size = check_int(batch_size, "batch_size", low=1)
        eval_every = check_int(eval_every, "eval_every", low=1)
        lr = check_float(lr, "lr", low=0, high=1e6, low_inclusive=False)
        weight_decay = check_float(weight_decay, "weight_decay", low=0)
        ridges = _check_ridges(ridge)
        output_map = check_choice(output_map, "output_map", OUTPUT_MAPS)
        weighting = check_choice(weighting, "weighting", WEIGHTINGS)
        mu, lab, val = self._parameter_sets(mu, labelled, validation)
        sys_train = self.reduced.system(mu)
        if weighting != "none":
            w = _weights(sys_train, weighting)
            w_ref = float(w.mean())
            sys_train = _scaled(sys_train, w / w_ref)
        c_lab = sys_train.optimum() if lab is None else self.reduced.optimum(lab)
        ref = c_lab if lab is not None else c_lab[:256]
        self.c_mean = ref.mean(0)
        if output_map == "whiten":
            L = torch.linalg.cholesky(sys_train.A.mean(0))
            self.c_scale = torch.linalg.solve_triangular(L, torch.eye(len(L), dtype=L.dtype), upper=False).T
        else:
            self.c_scale = ref.std(0).clamp_min(1e-12) if len(ref) > 1 else torch.ones_like(ref[0])
        x_train = self._inputs(mu)
        x_lab = self._inputs(lab) if lab is not None else None
        sys_val, x_val = (self.reduced.system(val), self._inputs(val)) if val is not None else (None, None)
        if sys_val is not None and weighting != "none":
            sys_val = _scaled(sys_val, _weights(sys_val, weighting) / w_ref)
        gen = torch_generator(self._batch_seed)
        opt = torch.optim.AdamW(self.net.parameters(), lr=lr, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        obj, res = np.zeros(steps), np.zeros(steps)
        v_steps, v_vals, best = [], [], (np.inf, None, None)
        status, t0 = "completed", time.perf_counter()
        for k in tqdm(range(steps), desc=f"RBNO ({self.loss})", disable=progress_disabled(progress), leave=False):
            idx = torch.randint(len(mu), (min(batch_size, len(mu)),), generator=gen)
            c_l = c_s = None
            if self.loss != "residual":
                jdx = torch.randint(len(lab), (min(batch_size, len(lab)),), generator=gen)
                c_l, c_s = self._forward(x_lab[jdx]), c_lab[jdx]
            total, J = self._objective(sys_train[idx], self._forward(x_train[idx]), c_l, c_s)
            if not torch.isfinite(total):
                status, obj, res = "non_finite", obj[:k], res[:k]
                break
            opt.zero_grad()
            total.backward()
            opt.step()
            sched.step()
            obj[k], res[k] = total.item(), J.mean().item()
            if val is not None and ((k + 1) % eval_every == 0 or k + 1 == steps):
                v = self._val_residual(sys_val, x_val)
                v_steps.append(k + 1)
                v_vals.append(v)
                if v < best[0]:
                    best = (v, k + 1, copy.deepcopy(self.net.state_dict()))
        if best[2] is not None:
            self.net.load_state_dict(best[2])
        used_ridge = None
        if refit_output and status == "completed":
            used_ridge = self._refit(sys_train, x_train, x_lab, c_lab, ridges, sys_val, x_val)
        history = {"objective": obj, "residual": res}
        if val is not None:
            history.update(validation_step=np.array(v_steps, dtype=int), validation=np.array(v_vals))
        return FitResult(status=status, n_iter=len(obj), wall_time=time.perf_counter() - t0, history=history,
                         best_iter=best[1], output_refit=used_ridge is not None, ridge=used_ridge)

    def _parameter_sets(self, mu: Any, labelled: Any, validation: Any) -> tuple[np.ndarray, Any, Any]:
        problem = self.reduced.problem
        mu = problem.check_mu(mu, "mu")
        if self.loss != "residual" and labelled is None:
            raise ValueError(f"labelled parameters are required for loss={self.loss!r}")
        lab = problem.check_mu(labelled, "labelled") if labelled is not None else None
        val = problem.check_mu(validation, "validation") if validation is not None else None
        return mu, lab, val

    def _val_residual(self, sys_val: ReducedSystem, x_val: torch.Tensor) -> float:
        with torch.no_grad():
            return float(sys_val.loss(self._forward(x_val)).mean())

    def refit_output(self, mu: Any, *, labelled: Any = None, ridge: float | Sequence[float] = 0.0,
                     validation: Any = None) -> float:
        """Replace the output layer by the exact minimiser of the training objective, features fixed.

        With ``c = m + S (W h(mu) + w0)``, every loss is a quadratic in ``Theta = S [W, w0]``:
        ``mean_i phi_i^T Theta^T A_i Theta phi_i - 2 (b_i - A_i m)^T Theta phi_i`` (``phi = [h; 1]``)
        for the residual, ``mean ||m + Theta phi - c*||^2`` for the coefficient term. Its minimiser
        solves ``(H + lambda diag(H)-mean I) vec(Theta) = g`` with ``H = mean_i (phi_i phi_i^T) (x) A_i``,
        an ``r (F+1)``-square system (``F`` the last hidden width). Returns the ridge factor used
        (chosen on ``validation`` when several are given). The output normalisation of the last
        :meth:`fit` is kept.
        """
        ridges = _check_ridges(ridge)
        mu, lab, val = self._parameter_sets(mu, labelled, validation)
        sys_train = self.reduced.system(mu)
        c_lab = self.reduced.optimum(lab) if lab is not None else None
        sys_val, x_val = (self.reduced.system(val), self._inputs(val)) if val is not None else (None, None)
        return self._refit(sys_train, self._inputs(mu), self._inputs(lab) if lab is not None else None,
                           c_lab, ridges, sys_val, x_val)

    def _features(self, x: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
        feat, _ = _split_output(self.net)
        with torch.no_grad():
            h = torch.cat([feat(x[i:i + chunk]).to("cpu", torch.float64) for i in range(0, len(x), chunk)])
        return torch.cat([h, torch.ones(len(h), 1, dtype=torch.float64)], 1)

    def _refit(self, sys_train: ReducedSystem, x_train: torch.Tensor, x_lab: torch.Tensor | None,
               c_lab: torch.Tensor | None, ridges: tuple[float, ...], sys_val: ReducedSystem | None,
               x_val: torch.Tensor | None) -> float:
        r, m = self.reduced.r, self.c_mean
        H, g = 0.0, 0.0
        if self.loss != "coefficient":
            phi = self._features(x_train)
            F = phi.shape[1]
            H, g = torch.zeros(r * F, r * F, dtype=torch.float64), torch.zeros(r, F, dtype=torch.float64)
            for lo in range(0, len(phi), 256):
                p, s = phi[lo:lo + 256], sys_train[lo:lo + 256]
                P2 = (p[:, :, None] * p[:, None, :]).reshape(len(p), -1)
                H += (P2.T @ s.A.reshape(len(p), -1)).reshape(F, F, r, r).permute(2, 0, 3, 1).reshape(r * F, r * F)
                g += ((s.b - s.A @ m)[:, :, None] * p[:, None, :]).sum(0)
            H, g = H / len(phi), g / len(phi)
        if self.loss != "residual":
            phi = self._features(x_lab)
            F = phi.shape[1]
            H = H + torch.kron(torch.eye(r, dtype=torch.float64), phi.T @ phi / len(phi))
            g = g + (c_lab - m).T @ phi / len(phi)
        scale = float(H.diagonal().mean())
        _, out = _split_output(self.net)
        best = (np.inf, None)
        for lam in ridges:
            theta = torch.linalg.solve(H + lam * scale * torch.eye(r * F, dtype=torch.float64),
                                       g.reshape(-1)).reshape(r, F)
            wb = (torch.linalg.solve(self.c_scale, theta) if self.c_scale.ndim == 2
                  else theta / self.c_scale[:, None])  # Theta = S [W, w0]
            with torch.no_grad():
                out.weight.copy_(wb[:, :-1].to(out.weight))
                out.bias.copy_(wb[:, -1].to(out.bias))
            if len(ridges) == 1 or sys_val is None:
                return lam
            v = self._val_residual(sys_val, x_val)
            if v < best[0]:
                best = (v, lam, copy.deepcopy(out.state_dict()))
        out.load_state_dict(best[2])
        return best[1]

    def state_dict(self) -> dict[str, Any]:
        """Network weights and output normalisation (picklable)."""
        return {"net": self.net.state_dict(), "c_mean": self.c_mean, "c_scale": self.c_scale}

    def load_state_dict(self, state: dict[str, Any]) -> RBNO:
        """Restore what :meth:`state_dict` returned (for a network of the same configuration)."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from RBNO.state_dict(), got {type(state).__name__}")
        missing = [k for k in ("net", "c_mean", "c_scale") if k not in state]
        if missing:
            raise ValueError(f"state must hold the keys 'net', 'c_mean', 'c_scale'; missing {missing}")
        r = self.reduced.r
        c_mean, c_scale = (torch.as_tensor(state[k], dtype=torch.float64) for k in ("c_mean", "c_scale"))
        if c_mean.shape != (r,) or c_scale.shape not in ((r,), (r, r)):
            raise ValueError(f"state['c_mean'] must have shape ({r},) and state['c_scale'] ({r},) or ({r}, {r}), "
                             f"got {tuple(c_mean.shape)} and {tuple(c_scale.shape)}")
        try:
            self.net.load_state_dict(state["net"])
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise ValueError(f"state['net'] does not fit this network: {exc}") from None
        self.c_mean, self.c_scale = c_mean, c_scale
        return self


class RBNOEnsemble(_Operator):
    """The mean of the coefficient predictions of several trained :class:`RBNO` on one reduced basis.

    An option of ours (``docs/rbno.md``, "Darcy study"), not the paper's. The reduced loss is a convex
    quadratic in ``c``, so the mean's ``J_r`` is at most the mean of the members' (Jensen), and averaging
    independently initialised members removes part of their variance, the generalisation error that limits
    a single network on Darcy.

    Parameters
    ----------
    members : sequence of RBNO
        Trained networks sharing the same :class:`ReducedFOSLS` (at least one).
    """

    def __init__(self, members: Sequence[RBNO]) -> None:
        if isinstance(members, RBNO) or not isinstance(members, Sequence) or len(members) == 0:
            raise TypeError(f"members must be a non-empty sequence of RBNO, got {members!r}")
        for m in members:
            if not isinstance(m, RBNO):
                raise TypeError(f"members must hold RBNO instances, got {type(m).__name__}")
            if m.reduced is not members[0].reduced:
                raise ValueError("members must share one ReducedFOSLS (the same basis and loss)")
        self.members, self.reduced = list(members), members[0].reduced

    def coefficients(self, mu: Any) -> torch.Tensor:
        """Mean of the members' coefficients ``c(mu)``, shape (n, r), float64."""
        mu = self.reduced.problem.check_mu(mu)
        return torch.stack([m.coefficients(mu) for m in self.members]).mean(0)


def _check_input_scale(scale: Any, problem: Any, architecture: str) -> np.ndarray | None:
    if scale is None:
        return None
    if architecture != "mlp":
        raise ValueError(f"input_scale applies to architecture='mlp' only, got architecture={architecture!r}")
    if isinstance(scale, str):
        if scale != "kl" or not hasattr(problem, "kl_eigenvalues"):
            raise ValueError(f"input_scale must be None, 'kl' (for a problem with KL eigenvalues) or an array, "
                             f"got {scale!r}")
        c = np.asarray(problem.kl_eigenvalues, float)
        return np.sqrt(c / c[0])
    arr = check_array(scale, "input_scale", ndim=1)
    if arr.shape != (problem.param_dim,) or not (arr > 0).all():
        raise ValueError(f"input_scale must hold {problem.param_dim} positive factors, got {arr!r}")
    return arr


def _weights(s: ReducedSystem, weighting: str) -> torch.Tensor:
    """Unnormalised per-parameter weights of ``fit(weighting=...)``: ``1 / tr A`` or ``tr A^-1``."""
    if weighting == "trace":
        return 1 / s.A.diagonal(dim1=1, dim2=2).sum(-1)
    return torch.linalg.inv(s.A).diagonal(dim1=1, dim2=2).sum(-1)


def _scaled(s: ReducedSystem, w: torch.Tensor) -> ReducedSystem:
    """The system with each parameter's quadratic scaled by ``w(mu)`` (same minimisers)."""
    return ReducedSystem(s.A * w[:, None, None], s.b * w[:, None], s.f * w)


def _block_means(problem: Any, k: int) -> np.ndarray:
    """(n_elem, k*k) averaging matrix: column j is the mean over the elements whose centroid lies in block j
    of a k x k grid over the mesh's bounding box (blocks without an element are dropped)."""
    mesh = problem.mesh
    cen = mesh.p[:, mesh.t].mean(axis=1)
    lo, hi = mesh.p.min(axis=1, keepdims=True), mesh.p.max(axis=1, keepdims=True)
    ij = np.clip(np.floor(k * (cen - lo) / (hi - lo)).astype(int), 0, k - 1)
    idx = ij[0] * k + ij[1]
    M = np.zeros((cen.shape[1], k * k))
    M[np.arange(cen.shape[1]), idx] = 1.0
    M = M[:, M.sum(0) > 0]
    return M / M.sum(0)


def _check_ridges(ridge: Any) -> tuple[float, ...]:
    seq = tuple(ridge) if isinstance(ridge, (list, tuple, np.ndarray)) else (ridge,)
    if not seq:
        raise ValueError("ridge must hold at least one value, got an empty sequence")
    return tuple(check_float(v, "ridge", low=0) for v in seq)
