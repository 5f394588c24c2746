"""Spectral primitives of the Learning Stability Profile (spec §2): sharpness, lambda_min, top-k Hessian
eigenvalues and the input/parameter Jacobian norms, all matrix-free on ``torch.func`` and warm-startable.

The profile components are reconstructed (spec §0/§2 [I]): S_rep = ||J_x|| (input -> output Jacobian,
max over the probe batch) and S_theta->rep = ||J_theta|| (output-parameter Jacobian). The Hessian is the
Hessian of the mean probe loss, accumulated over chunks as PyHessian's ``dataloader_hv_product``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.func import jvp, vjp, vmap

from ._functional import (
    HessianOperator,
    Linearization,
    LossFn,
    ParamSpace,
    as_batches,
    check_choice,
    check_positive_float,
    check_positive_int,
    measurement_mode,
    random_unit,
)
from .eigen import SpectralEstimate, block_power_iteration, lanczos, power_iteration

__all__ = [
    "SpectralEstimate",
    "sharpness",
    "lambda_min",
    "hessian_eigenvalues",
    "input_jacobian_norm",
    "parameter_jacobian_norm",
]


def _start(vector: torch.Tensor | None, n: int, seed: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if vector is None:
        return random_unit(n, seed, dtype, device)
    if not isinstance(vector, torch.Tensor) or vector.numel() != n:
        raise ValueError(f"vector must be a tensor with {n} entries (a previous estimate's .vector), got "
                         f"{getattr(vector, 'shape', type(vector).__name__)}")
    v = vector.detach().reshape(-1).to(dtype=dtype, device=device)
    if not torch.isfinite(v).all() or v.norm() == 0:
        raise ValueError("vector must be finite and non-zero")
    return v


def _hessian(model, loss_fn, data, *, chunk_size, hvp_mode, preconditioner=None):
    space = ParamSpace(model)
    batches = as_batches(data, chunk_size=chunk_size, device=space.device)
    op = HessianOperator(space, loss_fn, batches, hvp_mode)
    if preconditioner is None:
        return space, op, op
    d = preconditioner.detach().reshape(-1).to(dtype=space.dtype, device=space.device)
    if d.numel() != space.size or not torch.all(d > 0):
        raise ValueError(f"preconditioner must be a positive vector with {space.size} entries")
    scale = d.rsqrt()
    return space, op, lambda v: scale * op(scale * v)


def _check_common(iters: int, tol: float, method: str) -> None:
    check_positive_int("iters", iters)
    check_positive_float("tol", tol)
    check_choice("method", method, ("lanczos", "power"))


def sharpness(
    model: nn.Module,
    loss_fn: LossFn,
    data,
    *,
    iters: int = 100,
    tol: float = 1e-4,
    seed: int = 0,
    vector: torch.Tensor | None = None,
    method: str = "lanczos",
    chunk_size: int | None = None,
    mode: str = "eval",
    hvp_mode: str = "auto",
    preconditioner: torch.Tensor | None = None,
) -> SpectralEstimate:
    """Sharpness lambda_max(H): the top (algebraic) eigenvalue of the Hessian of the mean probe loss (spec §2, §4.3).

    ``data``: an ``(inputs, targets)`` pair or a DataLoader, the whole probe set (chunks of ``chunk_size``
    rows). ``loss_fn(outputs, targets)`` must be a mean-reduced loss. ``method="lanczos"`` (default; stops
    on the Ritz residual ``<= tol*|lambda|``) or ``"power"`` (stops when the Rayleigh quotient changes by
    ``<= tol`` relative; if it lands on a negative eigenvalue it reruns on ``H + |lambda| I``).
    ``vector`` warm-starts from a previous estimate. ``preconditioner``: a positive diagonal ``p`` (flat);
    then the result is lambda_max(P^-1 H) for Adam's edge 38/eta (spec §4.7, Cohen et al. 2022).
    ``mode``: the measurement mode of BatchNorm/dropout, see ``measurement_mode`` (spec §7).
    ``hvp_mode``: "auto", "retained", "double-backward" or "forward-over-reverse" (see ``HessianOperator``).
    """
    _check_common(iters, tol, method)
    with measurement_mode(model, mode):
        space, op, matvec = _hessian(model, loss_fn, data, chunk_size=chunk_size, hvp_mode=hvp_mode,
                                     preconditioner=preconditioner)
        v0 = _start(vector, space.size, seed, space.dtype, space.device)
        if method == "lanczos":
            return lanczos(matvec, v0, k=1, iters=iters, tol=tol, which="top")
        est = power_iteration(matvec, v0, iters=iters, tol=tol)
        if est.status != "non-finite" and est.value < 0:
            shifted = power_iteration(matvec, v0, iters=iters, tol=tol, shift=abs(est.value))
            shifted.matvecs += est.matvecs
            est = shifted
        return est


def lambda_min(
    model: nn.Module,
    loss_fn: LossFn,
    data,
    *,
    iters: int = 200,
    tol: float = 1e-4,
    seed: int = 0,
    vector: torch.Tensor | None = None,
    method: str = "lanczos",
    lam_max: float | None = None,
    chunk_size: int | None = None,
    mode: str = "eval",
    hvp_mode: str = "auto",
) -> SpectralEstimate:
    """The smallest Hessian eigenvalue, needed for the local contraction bound |1 - eta*lambda_min| (spec §2, §4.3).

    ``method="lanczos"`` (default) or ``"power"``: power iteration on ``lam_max*I - H`` (``lam_max`` from
    ``sharpness`` when not given), as the spec describes; slow when lambda_min is close to lambda_2, and
    ``tol`` is then relative to ``lam_max - lambda_min``.
    """
    _check_common(iters, tol, method)
    with measurement_mode(model, mode):
        space, op, _ = _hessian(model, loss_fn, data, chunk_size=chunk_size, hvp_mode=hvp_mode)
        v0 = _start(vector, space.size, seed, space.dtype, space.device)
        if method == "lanczos":
            return lanczos(op, v0, k=1, iters=iters, tol=tol, which="bottom")
        extra = 0
        if lam_max is None:
            top = lanczos(op, random_unit(space.size, seed + 1, space.dtype, space.device), k=1, iters=iters,
                          tol=tol, which="top")
            lam_max, extra = top.value, top.matvecs
        est = power_iteration(lambda v: -op(v), v0, iters=iters, tol=tol, shift=float(lam_max))
        est.value = -est.value
        est.history = -est.history
        est.matvecs += extra
        return est


def hessian_eigenvalues(
    model: nn.Module,
    loss_fn: LossFn,
    data,
    *,
    k: int = 5,
    which: str = "top",
    iters: int = 100,
    tol: float = 1e-4,
    seed: int = 0,
    chunk_size: int | None = None,
    mode: str = "eval",
    hvp_mode: str = "auto",
) -> SpectralEstimate:
    """The ``k`` largest (``which="top"``) or smallest (``"bottom"``) Hessian eigenvalues by Lanczos with full
    reorthogonalisation (spec §2). ``values``/``vectors`` hold all k; ``value`` is the extreme one."""
    check_positive_int("k", k)
    _check_common(iters, tol, "lanczos")
    check_choice("which", which, ("top", "bottom"))
    with measurement_mode(model, mode):
        space, op, _ = _hessian(model, loss_fn, data, chunk_size=chunk_size, hvp_mode=hvp_mode)
        if k > space.size:
            raise ValueError(f"k={k} exceeds the number of parameters {space.size}")
        v0 = random_unit(space.size, seed, space.dtype, space.device)
        return lanczos(op, v0, k=k, iters=max(iters, k), tol=tol, which=which)


def _check_inputs(x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of probe inputs, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError("x: the probe batch is empty")
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or inf")
    return x


def _singular(est: SpectralEstimate) -> SpectralEstimate:
    """Turn an eigen-estimate of J^T J into one of ||J||."""
    est.value = float(est.value) ** 0.5 if est.value == est.value else est.value
    est.history = est.history.clip(min=0) ** 0.5
    return est


def input_jacobian_norm(
    model: nn.Module,
    x: torch.Tensor,
    *,
    iters: int = 50,
    tol: float = 1e-4,
    seed: int = 0,
    vector: torch.Tensor | None = None,
    mode: str = "eval",
    per_example: bool = True,
) -> SpectralEstimate:
    """S_rep = max over the probe batch of ||d model(x_i) / d x_i||_2 (spec §2, reconstructed [I]).

    Power iteration on J^T J with ``u = J v``, ``v <- J^T u`` (``Linearization``: one retained graph, the
    double-backward trick for J v). Without BatchNorm in train mode the Jacobian of the stacked batch is
    block-diagonal across examples, so the top singular value of the stacked map is the maximum over the
    batch (spec §2, "batch trick"). ReLU kinks use autograd's selection ReLU'(0) = 0 (a Clarke-Jacobian
    selection, spec §5). Each iteration is one J v + one J^T u product. ``per_example=True`` (default in
    eval mode) normalises each example's block separately, so every example converges at its own rate
    (a plain power iteration on the stack stalls when two examples have close norms); ``values`` then holds
    the per-example norms. In train mode (BatchNorm couples the batch) the stacked map is used.
    """
    x = _check_inputs(x)
    check_positive_int("iters", iters)
    check_positive_float("tol", tol)
    with measurement_mode(model, mode):
        lin = Linearization(model, x.detach())
        v0 = _start(vector, x.numel(), seed, x.dtype, x.device)
        if per_example and mode == "eval":
            est = block_power_iteration(lin.gram, v0.view(x.shape[0], -1), iters=iters, tol=tol)
            est.values = np.sqrt(np.clip(est.values, 0, None)) if est.values is not None else None
            return _singular(est)
        return _singular(power_iteration(lin.gram, v0, iters=iters, tol=tol))


def parameter_jacobian_norm(
    model: nn.Module,
    x: torch.Tensor,
    *,
    iters: int = 50,
    tol: float = 1e-4,
    seed: int = 0,
    vector: torch.Tensor | None = None,
    reduction: str = "max",
    mode: str = "eval",
) -> SpectralEstimate:
    """S_theta->rep: the norm of the output-parameter Jacobian J_theta = d model(x) / d theta (spec §2, [I]).

    ``reduction="max"`` (default): max over the probe batch of the per-example ||J_theta(x_i)||, by a
    batched power iteration under ``vmap`` (the per-example Jacobians are not block-diagonal in theta, so
    the stacked map would not give the max). ``"stacked"``: the norm of the Jacobian of the whole stacked
    batch, i.e. sqrt(lambda_max) of the empirical NTK Gram J J^T, which is >= the max.
    """
    x = _check_inputs(x)
    check_positive_int("iters", iters)
    check_positive_float("tol", tol)
    check_choice("reduction", reduction, ("max", "stacked"))
    with measurement_mode(model, mode):
        space = ParamSpace(model)
        theta, x = space.unflatten(space.flat()), x.detach()
        if reduction == "stacked":
            lin = Linearization(lambda th: space.call(th, x), theta)
            v0 = _start(vector, space.size, seed, space.dtype, space.device)
            return _singular(power_iteration(lin.gram, v0, iters=iters, tol=tol))
        return _singular(_batched_param_power(space, theta, x, iters, tol, seed, vector))


def _batched_param_power(space, theta, x, iters, tol, seed, vector) -> SpectralEstimate:
    b = x.shape[0]
    if vector is not None and vector.numel() == b * space.size:
        v0 = vector.detach().reshape(b, space.size).to(space.dtype)
    else:
        gen = torch.Generator().manual_seed(seed)
        v0 = torch.randn(b, space.size, generator=gen, dtype=torch.float64).to(space.dtype)

    def one(xi: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        f = lambda th: space.call(th, xi.unsqueeze(0))  # noqa: E731
        u = jvp(f, (theta,), (space.unflatten(vi),))[1]
        return space.flatten(vjp(f, theta)[1](u)[0])

    batched = vmap(one)
    est = block_power_iteration(lambda v: batched(x, v.view(b, -1)).reshape(-1), v0, iters=iters, tol=tol)
    if est.values is not None:
        est.values = np.sqrt(np.clip(est.values, 0, None))
    return est
