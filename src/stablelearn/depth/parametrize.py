"""Apply a :class:`~stablelearn.depth.schemes.Parametrization` to any residual network (spec 1, 7).

A residual block is any module with a float attribute ``branch_multiplier`` whose forward computes
``h + branch_multiplier * branch(h)`` (:class:`ResidualBlock` does). :func:`parametrize` finds the blocks,
gives every parameter a role (declaratively, by name; nothing is attached to tensors, so checkpoints,
DDP and ``torch.compile`` keep working), re-initialises the weights, sets the branch and readout
multipliers, and records what it did on the model. :func:`param_groups` turns that record into
optimizer parameter groups for any ``torch.optim`` optimizer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from .schemes import ROLES, Parametrization, check_optimizer, check_scheme

WEIGHT_MODULES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_ATTR = "_stablelearn_depth"


class ResidualBlock(nn.Module):
    """``h + branch_multiplier * branch(h)``: wrap any branch module to make it a residual block."""

    def __init__(self, branch: nn.Module, branch_multiplier: float = 1.0) -> None:
        super().__init__()
        if not isinstance(branch, nn.Module):
            raise TypeError(f"branch must be an nn.Module, got {type(branch).__name__}")
        self.branch = branch
        self.branch_multiplier = float(branch_multiplier)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.branch_multiplier * self.branch(h)


class _Scale:
    """Picklable forward hook multiplying a module's output by a constant (the readout multiplier)."""

    def __init__(self, multiplier: float) -> None:
        self.multiplier = multiplier

    def __call__(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return output * self.multiplier


@dataclass
class Parametrized:
    """What :func:`parametrize` did: the scheme, shapes, multipliers and each parameter's role."""

    scheme: Parametrization
    width: int
    depth: int
    base_width: int
    base_depth: int
    roles: dict[str, str]
    blocks: list[str]
    block_layers: list[list[str]]
    output_layer: str
    branch_multiplier: float
    output_multiplier: float
    hook: object = field(default=None, repr=False)

    @property
    def m_n(self) -> float:
        return self.width / self.base_width

    @property
    def m_L(self) -> float:
        return self.depth / self.base_depth

    def lr_factor(self, name: str, optimizer: str) -> float:
        """LR factor of parameter ``name`` (its role's width x depth factor)."""
        return self.scheme.lr_factor(self.roles[name], optimizer, self.m_n, self.m_L)


def _check_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _blocks(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(getattr(m, "branch_multiplier", None), float)]


def _infer_roles(model: nn.Module, blocks: list[str],
                 overrides: dict[str, str]) -> tuple[dict[str, str], list[list[str]], list[str]]:
    """Roles by module order: inside a block, the last weight layer is 'block', earlier ones
    'block_inner'; outside, the first weight layer is 'input', the last 'output', others 'hidden'."""
    weights = [n for n, m in model.named_modules() if isinstance(m, WEIGHT_MODULES)]
    in_block = {n: next((b for b in blocks if n.startswith(b + ".")), None) for n in weights}
    block_layers = [[n for n in weights if in_block[n] == b] for b in blocks]
    if any(not layers for layers in block_layers):
        raise ValueError("every residual block must contain at least one Linear/Conv weight layer")
    outside = [n for n in weights if in_block[n] is None]
    if len(outside) < 2:
        raise ValueError("the model needs an input (stem) and an output (readout) weight layer outside "
                         f"its residual blocks; found {outside}")
    roles: dict[str, str] = {}
    for layers in block_layers:
        for i, n in enumerate(layers):
            roles[n + ".weight"] = "block" if i == len(layers) - 1 else "block_inner"
    roles[outside[0] + ".weight"] = "input"
    roles[outside[-1] + ".weight"] = "output"
    for n in outside[1:-1]:
        roles[n + ".weight"] = "hidden"
    for name, p in model.named_parameters():
        if name in roles or name in overrides:
            continue
        inside = any(name.startswith(b + ".") for b in blocks)
        if name == outside[-1] + ".bias":
            roles[name] = "fixed"
        elif p.dim() > 1:
            raise ValueError(f"cannot infer the role of parameter {name!r} of shape {tuple(p.shape)}; "
                             "pass roles={name: role}")
        else:
            roles[name] = "block_vector" if inside else "vector"
    return roles, block_layers, outside


def parametrize(model: nn.Module, scheme: Parametrization, base_width: int | None = None,
                base_depth: int = 1, *, width: int | None = None, roles: dict[str, str] | None = None,
                reinit: bool = True, generator: torch.Generator | None = None,
                seed: int | None = None) -> Parametrized:
    """Give a residual network ``scheme``'s initialisation and multipliers (spec 1, 2, 7 item 2-4).

    Args:
        model: a network whose residual blocks have a float ``branch_multiplier`` (see
            :class:`ResidualBlock`), with a stem and a readout weight layer outside the blocks.
        scheme: the parametrisation (SP, MuP, DepthMuP, DepthMuPCorrected, CompleteP).
        base_width: n0 (default: the model's width, i.e. m_n = 1).
        base_depth: L0, the base depth (default 1; TP6 uses 8).
        width: n (default: the stem's output features / channels).
        roles: overrides of the inferred role per parameter name (see :mod:`.schemes`).
        reinit: re-draw the weights from the scheme's init (Gaussian; biases zero).
        generator, seed: randomness of the re-initialisation.

    Returns:
        the :class:`Parametrized` record, also stored on the model for :func:`param_groups`.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    scheme = check_scheme(scheme)
    blocks = _blocks(model)
    if not blocks:
        raise ValueError("model has no residual blocks: wrap each branch in stablelearn.depth.ResidualBlock "
                         "or give the block module a float attribute 'branch_multiplier'")
    roles = dict(roles or {})
    names = {n for n, _ in model.named_parameters()}
    for name, role in roles.items():
        if name not in names:
            raise ValueError(f"roles names unknown parameter {name!r}")
    role_map, block_layers, outside = _infer_roles(model, blocks, roles)
    if roles:
        for name, role in roles.items():
            if role not in ROLES:
                raise ValueError(f"roles[{name!r}] must be one of {ROLES}, got {role!r}")
        role_map.update(roles)
    modules = dict(model.named_modules())
    stem = modules[outside[0]]
    n = width if width is not None else getattr(stem, "out_features", getattr(stem, "out_channels", None))
    n = _check_int(n, "width")
    n0 = _check_int(base_width if base_width is not None else n, "base_width")
    L0 = _check_int(base_depth, "base_depth")
    L = len(blocks)
    m_n, m_L = n / n0, L / L0
    if reinit:
        if generator is None:
            generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
        with torch.no_grad():
            for name, p in model.named_parameters():
                fan_in = int(math.prod(p.shape[1:])) if p.dim() > 1 else 1
                std = scheme.init_std(role_map[name], fan_in, m_n)
                noise = torch.randn(p.shape, generator=generator, dtype=p.dtype, device="cpu")
                p.copy_((noise * std).to(p.device))
    branch = scheme.branch_multiplier(m_L)
    for b in blocks:
        modules[b].branch_multiplier = float(branch)
    old = getattr(model, _ATTR, None)
    if old is not None and old.hook is not None:
        old.hook.remove()
    out_mult = scheme.output_multiplier(m_n)
    readout = modules[outside[-1]]
    hook = readout.register_forward_hook(_Scale(out_mult)) if out_mult != 1.0 else None
    record = Parametrized(scheme, n, L, n0, L0, role_map, blocks, block_layers, outside[-1],
                          float(branch), float(out_mult), hook)
    object.__setattr__(model, _ATTR, record)
    return record


def record_of(model: nn.Module) -> Parametrized:
    """The :class:`Parametrized` record stored on ``model`` by :func:`parametrize`."""
    record = getattr(model, _ATTR, None)
    if record is None:
        raise ValueError("model has not been parametrized: call stablelearn.depth.parametrize(model, scheme, ...)")
    return record


def param_groups(model: nn.Module, lr: float, optimizer: str = "sgd", *, weight_decay: float = 0.0,
                 decoupled_wd: bool = True, roles: tuple[str, ...] | None = None) -> list[dict]:
    """Optimizer parameter groups carrying the scheme's per-parameter LR (spec 1.1-1.3, 7 item 3).

    Each group is ``{"params", "lr", "weight_decay", "role", "lr_factor"}`` with ``lr = lr * lr_factor``;
    pass the list to any ``torch.optim`` optimizer of the named family. Schedulers stay correct as long
    as they change LRs relatively (LambdaLR, CosineAnnealing...). With ``decoupled_wd=False`` the weight
    decay is divided by the LR factor (``mup``'s coupled convention).

    Args:
        roles: train only parameters with these roles (e.g. ``("block", "block_inner")`` to freeze the
            stem and readout as TP6 does); the others get ``requires_grad=False``.
    """
    record = record_of(model)
    opt = check_optimizer(optimizer)
    if not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite positive number, got {lr!r}")
    if not isinstance(weight_decay, (int, float)) or weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    if roles is not None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"roles must be a subset of {ROLES}; unknown {sorted(unknown)}")
    groups: dict[tuple[str, float], dict] = {}
    for name, p in model.named_parameters():
        role = record.roles[name]
        if roles is not None and role not in roles:
            p.requires_grad_(False)
            continue
        factor = record.lr_factor(name, opt)
        key = (role, factor)
        if key not in groups:
            wd = weight_decay if decoupled_wd else weight_decay / factor
            groups[key] = {"params": [], "lr": lr * factor, "weight_decay": wd, "role": role, "lr_factor": factor}
        groups[key]["params"].append(p)
    return list(groups.values())
