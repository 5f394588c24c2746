"""Optimizer-aware edges of stability (spec §4.3, §4.7): which sharpness to compare with which threshold."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._functional import ParamSpace, check_positive_float
from .laws import adam_edge

__all__ = ["OptimizerInfo", "optimizer_info"]


@dataclass
class OptimizerInfo:
    """``kind``: "gd" (plain SGD/GD), "heavy_ball" (SGD with momentum), "adam" (Adam/AdamW) or "unknown";
    ``lr``; ``beta`` (momentum or beta1); ``edge``: the threshold the (preconditioned, for Adam) sharpness is
    compared with: 2/eta, (2+2 beta)/eta or (2+2 beta1)/((1-beta1) eta) = 38/eta; ``preconditioner``: Adam's
    P = sqrt(v_hat) + eps as a flat vector (None before Adam's first step); ``note``: caveats."""

    kind: str
    lr: float
    beta: float
    edge: float
    preconditioner: torch.Tensor | None = None
    note: str = ""


def _adam_preconditioner(optimizer: torch.optim.Optimizer, group: dict, space: ParamSpace) -> torch.Tensor | None:
    by_param = {id(p): p for p in group["params"]}
    named = dict(space.model.named_parameters())
    eps, beta2 = group["eps"], group["betas"][1]
    parts = []
    for name in space.names:
        p = named[name]
        state = optimizer.state.get(p, {}) if id(p) in by_param else {}
        if "exp_avg_sq" not in state:
            return None
        step = float(state["step"])
        v_hat = state["exp_avg_sq"].detach() / (1 - beta2**step)
        parts.append((v_hat.sqrt() + eps).reshape(-1).to(space.dtype))
    return torch.cat(parts)


def optimizer_info(optimizer: torch.optim.Optimizer | None = None, lr: float | None = None,
                   space: ParamSpace | None = None) -> OptimizerInfo | None:
    """Read the kind, step size and momentum of ``optimizer`` (its first param group) and the edge it implies.

    Without an optimizer, ``lr`` alone means plain GD (edge 2/lr); with neither, None. ``lr`` overrides the
    optimizer's learning rate. Adam's preconditioner needs ``space`` (the monitored parameters).
    """
    if optimizer is None:
        return None if lr is None else OptimizerInfo("gd", check_positive_float("lr", lr), 0.0, 2.0 / lr)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    group = optimizer.param_groups[0]
    eta = check_positive_float("lr", float(lr if lr is not None else group["lr"]))
    note = "" if len(optimizer.param_groups) == 1 else "several param groups: the first group's lr and momentum are used"
    if isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        beta1 = float(group["betas"][0])
        pre = _adam_preconditioner(optimizer, group, space) if space is not None else None
        if pre is None:
            note = (note + "; " if note else "") + "no Adam state yet: preconditioned sharpness unavailable"
        return OptimizerInfo("adam", eta, beta1, adam_edge(eta, beta1), pre, note)
    if isinstance(optimizer, torch.optim.SGD):
        beta = float(group.get("momentum", 0.0))
        if beta > 0:
            if group.get("nesterov"):
                note = (note + "; " if note else "") + "Nesterov momentum: heavy-ball edge used as an approximation"
            return OptimizerInfo("heavy_ball", eta, beta, (2 + 2 * beta) / eta, None, note)
        return OptimizerInfo("gd", eta, 0.0, 2.0 / eta, None, note)
    return OptimizerInfo("unknown", eta, 0.0, 2.0 / eta, None,
                         f"{type(optimizer).__name__}: no known edge, the GD edge 2/lr is shown for reference")
