"""Feed-forward spectral bound and residual CFL margins (docs/stability.md, "Laws": the feed-forward spectral
stability and the discrete CFL-type condition that the paper's abstract names, arXiv 2512.21208).

Residual blocks follow the one protocol of :mod:`stablelearn.nn` (``branch`` + ``branch_multiplier``): a
``stablelearn.depth`` model is measured here without any adapter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from stablelearn._conventions import check_float, check_int
from stablelearn.nn import residual_blocks

from ._functional import Linearization, Seed, aux_seeds, check_model, forward, measurement_mode, random_unit
from .eigen import power_iteration
from .laws import residual_max_step
from .spectral import check_inputs, input_jacobian_norm

__all__ = ["LipschitzBound", "ResidualMargins", "residual_margins", "spectral_norm_bound"]

# Lipschitz constants of parameter-free layers (max |derivative|).
_ACTIVATION_LIP: dict[type, float] = {
    nn.ReLU: 1.0, nn.Tanh: 1.0, nn.Sigmoid: 0.25, nn.Identity: 1.0, nn.Flatten: 1.0, nn.Dropout: 1.0,
    nn.Hardtanh: 1.0, nn.ReLU6: 1.0, nn.Softplus: 1.0, nn.Softsign: 1.0, nn.GELU: 1.1289, nn.SiLU: 1.0998,
    nn.Mish: 1.089, nn.Softmax: 1.0, nn.AvgPool1d: 1.0, nn.AvgPool2d: 1.0, nn.AdaptiveAvgPool1d: 1.0,
    nn.AdaptiveAvgPool2d: 1.0,
}


@dataclass
class LipschitzBound:
    """Product bound ||J_x|| <= prod_l Lip(sigma_l) ||W_l||_2 with its looseness.

    Attributes
    ----------
    bound : float
    layers, factors, cumulative, chi_ff, measured, looseness
        ``layers``/``factors``: every executed leaf module and its factor (spectral norm for Linear/Conv,
    Lipschitz constant for activations, max |gamma|/sqrt(var+eps) for eval-mode BatchNorm);
    ``cumulative``: the layerwise bounds on ||dh^l/dh^0||; ``chi_ff``: (1/L) log(bound) over the L
    weighted layers; ``measured``: ||J_x|| on the probe (max over it) when ``x`` was given, and
    ``looseness = bound / measured``.
    """

    bound: float
    layers: list[str]
    factors: np.ndarray
    cumulative: np.ndarray
    chi_ff: float
    measured: float | None
    looseness: float | None


def _operator_norm(module: nn.Module, inp: torch.Tensor, iters: int, seed: Seed) -> float:
    if isinstance(module, nn.Linear):
        return float(torch.linalg.matrix_norm(module.weight.detach().double(), ord=2))
    # ConvNd: power iteration on the bias-free convolution of one example and its adjoint (AutoLip).
    z0 = inp[:1].detach()
    lin = Linearization(lambda z: module._conv_forward(z, module.weight.detach(), None), z0)
    v0 = random_unit(z0.numel(), seed, z0.dtype, z0.device)
    est = power_iteration(lin.gram, v0, iters=iters, tol=1e-6)
    return float(est.value) ** 0.5


def _factor(module: nn.Module, inp: torch.Tensor, iters: int, seed: Seed, extra: dict[type, float]) -> tuple[float, bool]:
    """(factor, is_weighted_layer) of one leaf module."""
    if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return _operator_norm(module, inp, iters, seed), True
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        if module.running_var is None:
            raise ValueError("spectral_norm_bound: BatchNorm without running statistics has no fixed Lipschitz constant")
        scale = (module.running_var + module.eps).rsqrt()
        if module.weight is not None:
            scale = scale * module.weight.detach().abs()
        return float(scale.max()), False
    if isinstance(module, nn.LeakyReLU):
        return max(1.0, abs(module.negative_slope)), False
    if isinstance(module, nn.ELU):
        return max(1.0, module.alpha), False
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
        if module.stride not in (module.kernel_size, None):
            raise ValueError("spectral_norm_bound: overlapping max pooling (stride != kernel_size) is not 1-Lipschitz")
        return 1.0, False
    for kind, lip in {**_ACTIVATION_LIP, **extra}.items():
        if isinstance(module, kind):
            return lip, False
    raise ValueError(f"spectral_norm_bound: no Lipschitz constant known for {type(module).__name__}; "
                     "pass lipschitz={ModuleType: constant}")


def spectral_norm_bound(
    model: nn.Module,
    x: torch.Tensor,
    *,
    iters: int = 100,
    seed: Seed = 0,
    measure: bool = True,
    lipschitz: dict[type, float] | None = None,
) -> LipschitzBound:
    """The certified bound ||J_x|| <= prod_l Lip(sigma_l) ||W_l||_2 for a feed-forward chain.

    The model runs once on the probe ``x`` (eval mode) to record the order of its leaf modules
    and the input shapes that convolutions need; the model must be a chain (each leaf module consumes the
    previous one's output), otherwise ``ValueError`` (use ``residual_margins`` for residual nets). The
    bound holds for every Clarke selection at ReLU kinks. ``measure=True`` also measures ||J_x|| by power
    iteration and reports the looseness (bound / measured).

    Parameters
    ----------
    model : nn.Module
    x : torch.Tensor
        Probe inputs ``(batch, ...)``.
    iters : int
    seed : None, int or Generator
    measure : bool
    lipschitz : dict, optional
        ``{ModuleType: constant}`` for layers without a known constant.

    Returns
    -------
    LipschitzBound
    """
    model = check_model(model)
    x = check_inputs(x, dtype=next(model.parameters()).dtype)
    iters = check_int(iters, "iters", low=1)
    extra = dict(lipschitz or {})
    for kind, lip in extra.items():
        check_float(lip, f"lipschitz[{getattr(kind, '__name__', kind)}]", low=0.0, low_inclusive=False)
    record: list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]] = []
    hooks = [
        mod.register_forward_hook(lambda m, i, o, n=name: record.append((n, m, i[0], o)))
        for name, mod in model.named_modules()
        if not list(mod.children())
    ]
    try:
        with measurement_mode(model, "eval"), torch.no_grad():
            out = forward(model, x, "model(x)")
    finally:
        for h in hooks:
            h.remove()
    if not record:
        raise ValueError("spectral_norm_bound: the model ran no leaf modules")
    if record[0][2] is not x or out is not record[-1][3]:
        raise ValueError("spectral_norm_bound: the model is not a feed-forward chain of its leaf modules (computation "
                         "outside them, e.g. a skip connection); use residual_margins for residual blocks")
    for (_, _, _, prev_out), (name, _, inp, _) in zip(record, record[1:]):
        if inp is not prev_out:
            raise ValueError(f"spectral_norm_bound: the model is not a feed-forward chain (module {name!r} does not "
                             "take the previous module's output); use residual_margins for residual blocks")
    factors, weighted = [], 0
    seeds = aux_seeds(seed, len(record) + 1)
    for i, (_, mod, inp, _) in enumerate(record):
        f, is_w = _factor(mod, inp, iters, seeds[i], extra)
        factors.append(f)
        weighted += is_w
    factors = np.asarray(factors)
    cumulative = np.cumprod(factors)
    bound = float(cumulative[-1])
    measured = looseness = None
    if measure:
        measured = input_jacobian_norm(model, x, iters=iters, tol=1e-6, seed=seeds[-1]).value
        looseness = bound / measured if measured > 0 else float("inf")
    chi = float(np.log(bound) / max(weighted, 1)) if bound > 0 else float("-inf")
    return LipschitzBound(bound, [r[0] for r in record], factors, cumulative, chi, measured, looseness)


@dataclass
class ResidualMargins:
    """Per residual block (the discrete CFL-type condition, reconstructed; docs/stability.md): step ``h``, ``lipschitz`` = ||J_f|| (max over the probe), ``margin`` =
    h*||J_f||, ``mu`` = -max_x lambda_max((J_f+J_f^T)/2) (the local dissipativity estimate), ``cfl_step`` =
    2 mu / L^2 (0 when mu <= 0), ``within`` = h < cfl_step, ``factor`` = sqrt(1 - 2 h mu + h^2 L^2) (the
    contraction bound of the block's step; < 1 inside the CFL region)."""

    names: list[str]
    h: np.ndarray
    lipschitz: np.ndarray
    margin: np.ndarray
    mu: np.ndarray
    cfl_step: np.ndarray
    within: np.ndarray
    factor: np.ndarray


def residual_margins(model: nn.Module, x: torch.Tensor, *, iters: int = 100, tol: float = 1e-5, seed: Seed = 0,
                     mode: str = "eval") -> ResidualMargins:
    """CFL margins of every residual block of ``model`` on the probe ``x`` (reconstructed; docs/stability.md).

    A residual block is any submodule following :mod:`stablelearn.nn`'s protocol: an ``nn.Module`` attribute
    ``branch`` and a real ``branch_multiplier`` (the step ``h``), computing ``x + h*branch(x)``
    (:class:`stablelearn.nn.ResidualBlock`, and every block of ``stablelearn.depth``'s models). Block inputs are
    recorded on one forward pass.
    mu comes from power iteration on the symmetric part (J+J^T)/2 via jvp+vjp, shifted by ||J|| so that
    the dominant eigenvalue is the algebraically largest; both are maxima over the probe batch (the
    Jacobians are block-diagonal across examples).

    Returns
    -------
    ResidualMargins

    Raises
    ------
    ValueError
        When the model has no residual block.
    """
    model = check_model(model)
    x = check_inputs(x, dtype=next(model.parameters()).dtype)
    iters = check_int(iters, "iters", low=1)
    tol = check_float(tol, "tol", low=0.0, low_inclusive=False)
    blocks = residual_blocks(model)
    if not blocks:
        raise ValueError("residual_margins: model has no residual blocks (modules with an nn.Module .branch and a "
                         "real .branch_multiplier, e.g. stablelearn.nn.ResidualBlock)")
    inputs: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_pre_hook(lambda mod, i, n=n: inputs.__setitem__(n, i[0].detach())) for n, m in blocks]
    try:
        with measurement_mode(model, mode), torch.no_grad():
            forward(model, x, "model(x)")
    finally:
        for hk in hooks:
            hk.remove()
    rows = []
    seeds = aux_seeds(seed, 2 * len(blocks))
    with measurement_mode(model, mode):
        for i, (name, block) in enumerate(blocks):
            z = inputs[name]
            lin = Linearization(block.branch, z)
            v0 = random_unit(z.numel(), seeds[2 * i], z.dtype, z.device)
            lip = float(power_iteration(lin.gram, v0, iters=iters, tol=tol).value) ** 0.5
            sym = lambda v, lin=lin: 0.5 * (lin.jvp(v).reshape(-1) + lin.vjp(v))  # noqa: E731
            v0 = random_unit(z.numel(), seeds[2 * i + 1], z.dtype, z.device)
            top = power_iteration(sym, v0, iters=iters, tol=tol, shift=lip).value
            rows.append((name, float(block.branch_multiplier), lip, -top))
    h = np.array([r[1] for r in rows])
    lip = np.array([r[2] for r in rows])
    mu = np.array([r[3] for r in rows])
    cfl = np.array([residual_max_step(m, l) for m, l in zip(mu, lip)])
    factor = np.sqrt(np.clip(1 - 2 * h * mu + h**2 * lip**2, 0, None))
    return ResidualMargins([r[0] for r in rows], h, lip, h * lip, mu, cfl, h < cfl, factor)
