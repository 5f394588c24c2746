"""Spectral primitives of the Learning Stability Profile: sharpness, lambda_min, top-k Hessian eigenvalues and
the input/parameter Jacobian norms, all matrix-free on ``torch.func`` and warm-startable.

The profile components are reconstructed (docs/stability.md, "What is reconstructed"): S_rep = ||J_x||
(input -> output Jacobian, max over the probe batch) and S_theta->rep = ||J_theta|| (output-parameter
Jacobian). The Hessian is the Hessian of the mean probe loss, accumulated over chunks as PyHessian's
``dataloader_hv_product``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import jvp, vjp, vmap

from stablelearn._conventions import check_choice, check_float, check_int, torch_generator

from ._functional import (
    HessianOperator,
    Linearization,
    LossFn,
    ParamSpace,
    Seed,
    as_batches,
    aux_seeds,
    check_loss_fn,
    check_model,
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

def start_vector(vector: object, n: int, seed: Seed, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The warm start ``vector`` (checked: a finite non-zero tensor with ``n`` entries) or a seeded random one."""
    if vector is None:
        return random_unit(n, seed, dtype, device)
    if not isinstance(vector, torch.Tensor) or vector.numel() != n:
        raise ValueError(f"vector must be a tensor with {n} entries (a previous estimate's .vector), got "
                         f"{getattr(vector, 'shape', type(vector).__name__)}")
    v = vector.detach().reshape(-1).to(dtype=dtype, device=device)
    if not torch.isfinite(v).all() or v.norm() == 0:
        raise ValueError("vector must be finite and non-zero")
    return v


def _preconditioner(preconditioner: object, space: ParamSpace) -> torch.Tensor:
    if not isinstance(preconditioner, (torch.Tensor, np.ndarray)):
        raise TypeError(f"preconditioner must be a tensor or NumPy array of {space.size} positive entries, got "
                        f"{type(preconditioner).__name__}")
    d = torch.as_tensor(preconditioner).detach().reshape(-1).to(dtype=space.dtype, device=space.device)
    if d.numel() != space.size or not bool(torch.all(d > 0)) or not bool(torch.isfinite(d).all()):
        raise ValueError(f"preconditioner must be a finite positive vector with {space.size} entries (one per "
                         f"trainable parameter), got {d.numel()} entries")
    return d


def hessian_operator(model: nn.Module, loss_fn: LossFn, data: Any, *, chunk_size: int | None = None,
                     hvp_mode: str = "auto", preconditioner: object = None
                     ) -> tuple[ParamSpace, HessianOperator, Callable[[torch.Tensor], torch.Tensor]]:
    """``(space, op, matvec)``: the parameter space, the probe Hessian and the (preconditioned) operator."""
    space = ParamSpace(model)
    batches = as_batches(data, chunk_size=chunk_size, device=space.device, dtype=space.dtype)
    op = HessianOperator(space, loss_fn, batches, hvp_mode)
    if preconditioner is None:
        return space, op, op
    scale = _preconditioner(preconditioner, space).rsqrt()
    return space, op, lambda v: scale * op(scale * v)


def _check_common(model: object, loss_fn: object, iters: object, tol: object, method: str,
                  mode: str) -> tuple[nn.Module, int, float]:
    model = check_model(model)
    check_loss_fn(loss_fn)
    iters = check_int(iters, "iters", low=1)
    tol = check_float(tol, "tol", low=0.0, low_inclusive=False)
    check_choice(method, "method", ("lanczos", "power"))
    check_choice(mode, "mode", ("eval", "train"))
    return model, iters, tol


def sharpness(
    model: nn.Module,
    loss_fn: LossFn,
    data: Any,
    *,
    iters: int = 100,
    tol: float = 1e-4,
    seed: Seed = 0,
    vector: torch.Tensor | None = None,
    method: str = "lanczos",
    chunk_size: int | None = None,
    mode: str = "eval",
    hvp_mode: str = "auto",
    preconditioner: torch.Tensor | np.ndarray | None = None,
) -> SpectralEstimate:
    """Sharpness lambda_max(H): the top (algebraic) eigenvalue of the Hessian of the mean probe loss.

    The quantity whose edge 2/eta decides GD's local linear stability (docs/stability.md, "Laws", the
    parametric law A_t = I - eta H_t; edge of stability after Cohen et al. 2021).

    Parameters
    ----------
    model : nn.Module
        The model (unwrapped from DDP).
    loss_fn : callable
        A mean-reduced ``loss_fn(outputs, targets)`` returning a scalar tensor.
    data : tuple or iterable
        An ``(inputs, targets)`` pair (tensors or NumPy arrays) or a DataLoader: the whole probe set.
    iters, tol : int, float
        Iteration budget and tolerance (> 0).
    seed : None, int or Generator
        The random start vector's seed when ``vector`` is None.
    vector : torch.Tensor, optional
        Warm start (a previous estimate's ``.vector``).
    method : str
        ``"lanczos"`` (default) or ``"power"`` (stops when the Rayleigh quotient changes by ``<= tol``
        relative; if it lands on a negative eigenvalue it reruns on ``H + |lambda| I``).
    chunk_size : int, optional
        Rows per HVP chunk.
    mode : str
        BatchNorm/dropout semantics, see :func:`measurement_mode` (default ``"eval"``).
    hvp_mode : str
        ``"auto"``, ``"retained"``, ``"double-backward"`` or ``"forward-over-reverse"``.
    preconditioner : tensor or array, optional
        A positive diagonal ``p`` (flat); the result is then lambda_max(P^-1 H), for Adam's edge 38/eta
        (Cohen et al. 2022).

    Returns
    -------
    SpectralEstimate
        ``value``, ``vector``, ``n_iter``, ``matvecs``, ``status`` (``converged``/``max_iter``/``non_finite``).

    Raises
    ------
    TypeError, ValueError
        For a wrong model, loss or data; a model or loss that fails on the data raises ``ValueError`` naming
        the shapes and dtypes involved.
    """
    model, iters, tol = _check_common(model, loss_fn, iters, tol, method, mode)
    with measurement_mode(model, mode):
        space, op, matvec = hessian_operator(model, loss_fn, data, chunk_size=chunk_size, hvp_mode=hvp_mode,
                                             preconditioner=preconditioner)
        v0 = start_vector(vector, space.size, seed, space.dtype, space.device)
        if method == "lanczos":
            return lanczos(matvec, v0, k=1, iters=iters, tol=tol, which="top")
        est = power_iteration(matvec, v0, iters=iters, tol=tol)
        if est.status != "non_finite" and est.value < 0:
            shifted = power_iteration(matvec, v0, iters=iters, tol=tol, shift=abs(est.value))
            shifted.matvecs += est.matvecs
            est = shifted
        return est


def lambda_min(
    model: nn.Module,
    loss_fn: LossFn,
    data: Any,
    *,
    iters: int = 200,
    tol: float = 1e-4,
    seed: Seed = 0,
    vector: torch.Tensor | None = None,
    method: str = "lanczos",
    lam_max: float | None = None,
    chunk_size: int | None = None,
    mode: str = "eval",
    hvp_mode: str = "auto",
) -> SpectralEstimate:
    """The smallest Hessian eigenvalue, needed for the local contraction bound |1 - eta lambda_min|.

    ``method="lanczos"`` (default) or ``"power"``: power iteration on ``lam_max*I - H`` (``lam_max`` from
    :func:`sharpness` when not given); slow when lambda_min is close to lambda_2, and ``tol`` is then
    relative to ``lam_max - lambda_min``. Other parameters as :func:`sharpness`.

    Returns
    -------
    SpectralEstimate
    """
    model, iters, tol = _check_common(model, loss_fn, iters, tol, method, mode)
    if lam_max is not None:
        lam_max = check_float(lam_max, "lam_max")
    with measurement_mode(model, mode):
        space, op, _ = hessian_operator(model, loss_fn, data, chunk_size=chunk_size, hvp_mode=hvp_mode)
        v0 = start_vector(vector, space.size, seed, space.dtype, space.device)
        if method == "lanczos":
            return lanczos(op, v0, k=1, iters=iters, tol=tol, which="bottom")
        extra = 0
        if lam_max is None:
            top = lanczos(op, random_unit(space.size, aux_seeds(seed, 1)[0], space.dtype, space.device), k=1, iters=iters,
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
    data: Any,
    *,
    k: int = 5,
    which: str = "top",
    iters: int = 100,
    tol: float = 1e-4,
    seed: Seed = 0,
    chunk_size: int | None = None,
    mode: str = "eval",
    hvp_mode: str = "auto",
) -> SpectralEstimate:
    """The ``k`` largest (``which="top"``) or smallest (``"bottom"``) Hessian eigenvalues by Lanczos with full
    reorthogonalisation.

    Returns
    -------
    SpectralEstimate
        ``values``/``vectors`` hold all k; ``value`` is the extreme one.
    """
    model, iters, tol = _check_common(model, loss_fn, iters, tol, "lanczos", mode)
    k = check_int(k, "k", low=1)
    check_choice(which, "which", ("top", "bottom"))
    with measurement_mode(model, mode):
        space, op, _ = hessian_operator(model, loss_fn, data, chunk_size=chunk_size, hvp_mode=hvp_mode)
        if k > space.size:
            raise ValueError(f"k must be <= the number of parameters {space.size}, got {k}")
        v0 = random_unit(space.size, seed, space.dtype, space.device)
        return lanczos(op, v0, k=k, iters=max(iters, k), tol=tol, which=which)


def check_inputs(x: object, name: str = "x", dtype: torch.dtype | None = None) -> torch.Tensor:
    """Probe inputs for the Jacobian norms: a finite floating tensor with a batch dimension first (a NumPy
    floating array is converted to ``dtype``, the model's)."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        x = torch.as_tensor(x, dtype=dtype)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of probe inputs, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating tensor (the Jacobian is taken with respect to it), got dtype "
                         f"{x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{name} must have a batch dimension first, shape (batch, ...), got shape {tuple(x.shape)}; "
                         f"for one example pass {name}.unsqueeze(0)")
    if x.shape[0] == 0 or x.numel() == 0:
        raise ValueError(f"{name}: the probe batch is empty, shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    return x


def _singular(est: SpectralEstimate) -> SpectralEstimate:
    """Turn an eigen-estimate of J^T J into one of ||J||."""
    est.value = float(est.value) ** 0.5 if est.value == est.value else est.value
    est.history = est.history.clip(min=0) ** 0.5
    return est


def _check_jacobian_args(model: object, x: object, iters: object, tol: object, mode: str):
    model = check_model(model)
    x = check_inputs(x, dtype=ParamSpace(model).dtype)
    iters = check_int(iters, "iters", low=1)
    tol = check_float(tol, "tol", low=0.0, low_inclusive=False)
    check_choice(mode, "mode", ("eval", "train"))
    return model, x, iters, tol


def input_jacobian_norm(
    model: nn.Module,
    x: torch.Tensor,
    *,
    iters: int = 50,
    tol: float = 1e-4,
    seed: Seed = 0,
    vector: torch.Tensor | None = None,
    mode: str = "eval",
    per_example: bool = True,
) -> SpectralEstimate:
    """S_rep = max over the probe batch of ||d model(x_i) / d x_i||_2 (reconstructed; docs/stability.md).

    Power iteration on J^T J with ``u = J v``, ``v <- J^T u`` (``Linearization``: one retained graph, the
    double-backward trick for J v). Without BatchNorm in train mode the Jacobian of the stacked batch is
    block-diagonal across examples, so the top singular value of the stacked map is the maximum over the
    batch. ReLU kinks use autograd's selection ReLU'(0) = 0 (a Clarke-Jacobian selection). ``per_example=True``
    (default in eval mode) normalises each example's block separately, so every example converges at its own
    rate; ``values`` then holds the per-example norms. In train mode (BatchNorm couples the batch) the stacked
    map is used.

    Parameters
    ----------
    model : nn.Module
    x : torch.Tensor
        Probe inputs of shape ``(batch, ...)``: one example is ``x[None]``.
    iters, tol, seed, vector, mode : as :func:`sharpness`.
    per_example : bool

    Returns
    -------
    SpectralEstimate
    """
    model, x, iters, tol = _check_jacobian_args(model, x, iters, tol, mode)
    with measurement_mode(model, mode):
        lin = Linearization(model, x.detach())
        v0 = start_vector(vector, x.numel(), seed, x.dtype, x.device)
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
    seed: Seed = 0,
    vector: torch.Tensor | None = None,
    reduction: str = "max",
    mode: str = "eval",
) -> SpectralEstimate:
    """S_theta->rep: the norm of the output-parameter Jacobian J_theta = d model(x) / d theta (reconstructed).

    ``reduction="max"`` (default): max over the probe batch of the per-example ||J_theta(x_i)||, by a
    batched power iteration under ``vmap`` (the per-example Jacobians are not block-diagonal in theta, so
    the stacked map would not give the max). ``"stacked"``: the norm of the Jacobian of the whole stacked
    batch, i.e. sqrt(lambda_max) of the empirical NTK Gram J J^T, which is >= the max.

    Returns
    -------
    SpectralEstimate
    """
    model, x, iters, tol = _check_jacobian_args(model, x, iters, tol, mode)
    check_choice(reduction, "reduction", ("max", "stacked"))
    with measurement_mode(model, mode):
        space = ParamSpace(model)
        theta, x = space.unflatten(space.flat()), x.detach()
        if reduction == "stacked":
            lin = Linearization(lambda th: space.call(th, x), theta)
            v0 = start_vector(vector, space.size, seed, space.dtype, space.device)
            return _singular(power_iteration(lin.gram, v0, iters=iters, tol=tol))
        return _singular(_batched_param_power(space, theta, x, iters, tol, seed, vector))


def _batched_param_power(space: ParamSpace, theta: dict, x: torch.Tensor, iters: int, tol: float, seed: Seed,
                         vector: torch.Tensor | None) -> SpectralEstimate:
    b = x.shape[0]
    if vector is not None and vector.numel() == b * space.size:
        v0 = vector.detach().reshape(b, space.size).to(space.dtype)
    else:
        v0 = torch.randn(b, space.size, generator=torch_generator(seed), dtype=torch.float64).to(space.dtype)

    def one(xi: torch.Tensor, vi: torch.Tensor) -> torch.Tensor:
        f = lambda th: space.call(th, xi.unsqueeze(0))  # noqa: E731
        u = jvp(f, (theta,), (space.unflatten(vi),))[1]
        return space.flatten(vjp(f, theta)[1](u)[0])

    batched = vmap(one)
    est = block_power_iteration(lambda v: batched(x, v.view(b, -1)).reshape(-1), v0, iters=iters, tol=tol)
    if est.values is not None:
        est.values = np.sqrt(np.clip(est.values, 0, None))
    return est
