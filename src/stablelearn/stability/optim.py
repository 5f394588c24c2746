"""Optimizer-aware edges of stability: which sharpness to compare with which threshold (docs/stability.md, "Laws";
Cohen et al. 2021, 2022)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stablelearn._conventions import check_float

from ._functional import ParamSpace
from .laws import adam_edge

__all__ = ["OptimizerInfo", "optimizer_info"]


@dataclass
class OptimizerInfo:
    """What an optimizer implies for stability.

    Attributes
    ----------
    kind : str
        ``"gd"`` (plain SGD/GD), ``"heavy_ball"`` (SGD with momentum), ``"adam"`` (Adam/AdamW) or ``"unknown"``.
    lr, beta : float
        Step size (0 is accepted: warm-ups start there; the edge is then infinite) and momentum or beta1.
    edge : float
        The threshold the (preconditioned, for Adam) sharpness is compared with: 2/eta, (2+2 beta)/eta or
        (2+2 beta1)/((1-beta1) eta) = 38/eta.
    preconditioner : torch.Tensor or None
        Adam's P = sqrt(v_hat) + eps as a flat vector (None before Adam's first step).
    note : str
        Caveats.
    """

    kind: str
    lr: float
    beta: float
    edge: float
    preconditioner: torch.Tensor | None = None
    note: str = ""


def _adam_preconditioner(optimizer: torch.optim.Optimizer, space: ParamSpace) -> torch.Tensor | None:
    """P = sqrt(v_hat) + eps over the monitored parameters, each with its own param group's eps and beta2
    (None until every monitored parameter has Adam state)."""
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    parts = []
    for p in space.params():
        state, group = optimizer.state.get(p, {}), group_of.get(id(p))
        if group is None or "exp_avg_sq" not in state:
            return None
        v_hat = state["exp_avg_sq"].detach() / (1 - group["betas"][1] ** float(state["step"]))
        parts.append((v_hat.sqrt() + group["eps"]).reshape(-1).to(space.dtype))
    return torch.cat(parts)


def unwrap_optimizer(optimizer: object) -> object:
    """The torch optimizer inside framework wrappers (accelerate's ``AcceleratedOptimizer``, Lightning's
    ``LightningOptimizer``), so that its class gives the edge."""
    for _ in range(4):
        inner = getattr(optimizer, "optimizer", None) or getattr(optimizer, "_optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer) or inner is optimizer:
            break
        optimizer = inner
    return optimizer


def _over(numerator: float, eta: float) -> float:
    return numerator / eta if eta > 0 else float("inf")


def optimizer_info(optimizer: torch.optim.Optimizer | None = None, lr: float | None = None,
                   space: ParamSpace | None = None) -> OptimizerInfo | None:
    """Read the kind, step size and momentum of ``optimizer`` (its first param group) and the edge it implies.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer, optional
    lr : float, optional
        Without an optimizer, ``lr`` alone means plain GD (edge 2/lr); with neither, None. ``lr`` overrides
        the optimizer's learning rate. ``lr = 0`` is accepted (edge infinite, margin 0).
    space : ParamSpace, optional
        The monitored parameters (Adam's preconditioner needs them).

    Returns
    -------
    OptimizerInfo or None
    """
    if optimizer is None:
        if lr is None:
            return None
        eta = check_float(lr, "lr", low=0.0)
        return OptimizerInfo("gd", eta, 0.0, _over(2.0, eta))
    optimizer = unwrap_optimizer(optimizer)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    group = optimizer.param_groups[0]
    raw = lr if lr is not None else group["lr"]
    eta = check_float(float(raw) if isinstance(raw, torch.Tensor) else raw, "lr", low=0.0)
    note = "" if len(optimizer.param_groups) == 1 else "several param groups: the first group's lr and momentum are used"
    if isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        beta1 = float(group["betas"][0])
        pre = _adam_preconditioner(optimizer, space) if space is not None else None
        if pre is None:
            note = (note + "; " if note else "") + "no Adam state yet: preconditioned sharpness unavailable"
        return OptimizerInfo("adam", eta, beta1, adam_edge(eta, beta1) if eta > 0 else float("inf"), pre, note)
    if isinstance(optimizer, torch.optim.SGD):
        beta = float(group.get("momentum", 0.0))
        if beta > 0:
            if group.get("nesterov"):
                note = (note + "; " if note else "") + "Nesterov momentum: heavy-ball edge used as an approximation"
            return OptimizerInfo("heavy_ball", eta, beta, _over(2 + 2 * beta, eta), None, note)
        return OptimizerInfo("gd", eta, 0.0, _over(2.0, eta), None, note)
    return OptimizerInfo("unknown", eta, 0.0, _over(2.0, eta), None,
                         f"{type(optimizer).__name__}: no known edge, the GD edge 2/lr is shown for reference")
