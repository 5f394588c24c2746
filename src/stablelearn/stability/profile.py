"""One-shot Learning Stability Profile of a checkpoint (docs/stability.md, "Usage")."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from stablelearn._conventions import check_int
from stablelearn.nn import residual_blocks

from ._functional import LossFn, ParamSpace, Seed, as_batches, check_loss_fn, check_model, measurement_mode, total_loss
from .eigen import SpectralEstimate
from .laws import contraction_factor
from .lipschitz import LipschitzBound, ResidualMargins, residual_margins, spectral_norm_bound
from .optim import OptimizerInfo, optimizer_info
from .spectral import input_jacobian_norm, lambda_min, parameter_jacobian_norm, sharpness

__all__ = ["Profile", "profile"]


@dataclass
class Profile:
    """The measured profile (components reconstructed; docs/stability.md) and the thresholds it implies.

    ``margin`` = (preconditioned, for Adam) sharpness / optimizer edge (> 1: locally linearly unstable,
    a flag, not a divergence prediction, except for quadratic losses); ``max_step``: the largest
    locally stable step for the optimizer's kind; ``contraction``: max(|1-eta lambda_min|, |1-eta lambda_max|)
    for GD/SGD; ``lipschitz`` is None when the model is not a feed-forward chain (see
    ``notes``); ``residual`` is None without residual blocks.
    """

    loss: float
    sharpness: SpectralEstimate
    lambda_min: SpectralEstimate
    input_jacobian: SpectralEstimate
    parameter_jacobian: SpectralEstimate
    lipschitz: LipschitzBound | None
    residual: ResidualMargins | None
    optimizer: OptimizerInfo | None
    preconditioned_sharpness: SpectralEstimate | None
    margin: float | None
    max_step: float | None
    contraction: float | None
    verdict: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A Markdown table of the profile."""
        rows = [("probe loss", self.loss), ("sharpness lambda_max(H)", self.sharpness.value),
                ("lambda_min(H)", self.lambda_min.value), ("||J_x|| (max over probe)", self.input_jacobian.value),
                ("||J_theta|| (max over probe)", self.parameter_jacobian.value)]
        if self.lipschitz is not None:
            rows += [("spectral product bound", self.lipschitz.bound), ("bound looseness", self.lipschitz.looseness)]
        if self.preconditioned_sharpness is not None:
            rows.append(("preconditioned sharpness", self.preconditioned_sharpness.value))
        if self.optimizer is not None:
            rows += [(f"edge ({self.optimizer.kind})", self.optimizer.edge), ("margin", self.margin),
                     ("max stable step", self.max_step), ("contraction |1-eta lambda|", self.contraction)]
        if self.residual is not None:
            rows += [("residual max h*||J_f||", float(self.residual.margin.max())),
                     ("residual blocks inside CFL", f"{int(self.residual.within.sum())}/{len(self.residual.names)}")]
        lines = ["| quantity | value |", "|---|---|"]
        lines += [f"| {k} | {v:.6g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in rows]
        return "\n".join(lines) + f"\n\n**Verdict**: {self.verdict}"


def _verdict(margin: float | None, info: OptimizerInfo | None, res: ResidualMargins | None, lam_min: float) -> str:
    parts = []
    if margin is None:
        parts.append("no optimizer/lr given: thresholds only (2/lambda_max is the GD step limit)")
    elif not math.isfinite(margin):
        parts.append("margin unavailable (see notes)")
    elif margin > 1:
        parts.append(f"locally unstable: the {info.kind} edge is exceeded by {margin:.2f}x; expect edge-of-stability "
                     "oscillation (non-monotone loss) or divergence (certain for quadratic losses)")
    elif margin > 0.9:
        parts.append(f"at the edge of stability (margin {margin:.2f})")
    else:
        parts.append(f"locally stable step (margin {margin:.2f} of the {info.kind} edge)")
    if lam_min < 0:
        parts.append(f"negative curvature (lambda_min = {lam_min:.3g}): GD is locally expansive along it")
    if res is not None and not res.within.all():
        bad = [n for n, w in zip(res.names, res.within) if not w]
        parts.append(f"{len(bad)} residual block(s) outside the CFL region h < 2mu/L^2: {', '.join(bad[:5])}")
    return "; ".join(parts) + "."


def profile(
    model: nn.Module,
    loss_fn: LossFn,
    data: Any,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float | None = None,
    iters: int = 100,
    tol: float = 1e-4,
    seed: Seed = 0,
    chunk_size: int | None = None,
    jacobian_batch: int = 256,
    max_batched_elements: int = 50_000_000,
    mode: str = "eval",
) -> Profile:
    """Measure the whole Learning Stability Profile of a checkpoint once (the exact, cold measurement).

    Sharpness and lambda_min by Lanczos over the whole probe set ``data`` (an ``(inputs, targets)`` pair
    or a DataLoader); the Jacobian norms, the spectral bound and the residual margins on the first
    ``jacobian_batch`` probe inputs. ``optimizer``/``lr`` give the edge (GD 2/eta, heavy ball
    (2+2beta)/eta, Adam 38/eta on lambda_max(P^-1 H)). ``mode`` chooses the BatchNorm/dropout semantics
    (default eval: frozen BN statistics, no dropout). Residual blocks (:mod:`stablelearn.nn`'s protocol, e.g.
    every block of a ``stablelearn.depth`` model) get their CFL margins in ``residual``. ||J_theta|| is the per-example max unless
    ``jacobian_batch x n_params`` exceeds ``max_batched_elements`` (memory of the batched solve); then the
    stacked-batch norm, an upper bound, is reported and ``notes`` says so. A non-finite probe loss raises
    ``ValueError``.

    Returns
    -------
    Profile
    """
    model = check_model(model)
    check_loss_fn(loss_fn)
    jacobian_batch = check_int(jacobian_batch, "jacobian_batch", low=1)
    max_batched_elements = check_int(max_batched_elements, "max_batched_elements", low=1)
    space = ParamSpace(model)
    batches = as_batches(data, chunk_size=chunk_size, device=space.device, dtype=space.dtype)
    with measurement_mode(model, mode):
        loss = total_loss(space, loss_fn, batches)
    if not math.isfinite(loss):
        raise ValueError(f"the probe loss is not finite ({loss}); nothing to profile")
    kw = dict(iters=iters, tol=tol, seed=seed, mode=mode)
    top = sharpness(model, loss_fn, batches, **kw)
    bottom = lambda_min(model, loss_fn, batches, **kw)
    x = torch.cat([b[0] for b in batches])[:jacobian_batch]
    jx = input_jacobian_norm(model, x, **kw)
    notes = []
    reduction = "max"
    if x.shape[0] * space.size > max_batched_elements:
        reduction = "stacked"
        notes.append(f"||J_theta|| is the stacked-batch norm (>= the per-example max): the per-example solve "
                     f"would hold {x.shape[0]} x {space.size} parameter vectors")
    jt = parameter_jacobian_norm(model, x, reduction=reduction, **kw)
    try:
        lip = spectral_norm_bound(model, x, iters=iters, seed=seed)
    except ValueError as err:
        lip = None
        notes.append(f"no spectral product bound: {err}")
    res = residual_margins(model, x, **kw) if residual_blocks(model) else None
    info = optimizer_info(optimizer, lr, space)
    pre = margin = max_step = contraction = None
    if info is not None:
        if info.note:
            notes.append(info.note)
        if info.kind == "adam":
            if info.preconditioner is not None:
                pre = sharpness(model, loss_fn, batches, preconditioner=info.preconditioner, **kw)
                margin = pre.value / info.edge
                max_step = info.lr / margin
            else:
                margin = float("nan")
        else:
            margin = top.value / info.edge
            max_step = info.lr / margin
            contraction = contraction_factor(info.lr, bottom.value, top.value)
    return Profile(loss, top, bottom, jx, jt, lip, res, info, pre, margin, max_step, contraction,
                   _verdict(margin, info, res, bottom.value), notes)
