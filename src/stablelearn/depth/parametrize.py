"""Apply a :class:`~stablelearn.depth.schemes.Parametrization` to any residual network.

A residual block is any module that follows :func:`stablelearn.nn.is_residual_block` (an ``nn.Module``
attribute ``branch`` and a real ``branch_multiplier``, with forward ``h + branch_multiplier * branch(h)``;
:class:`stablelearn.nn.ResidualBlock` is the ready-made one). :func:`parametrize` finds the blocks,
gives every parameter a role (declaratively, by name; nothing is attached to tensors, so checkpoints,
DDP and ``torch.compile`` keep working), re-initialises the weights, sets the branch and readout
multipliers, and records what it did on the model. :func:`param_groups` turns that record into
optimizer parameter groups for any ``torch.optim`` optimizer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from stablelearn._conventions import check_bool, check_choice, check_float, check_int, torch_generator
from stablelearn.nn import ResidualBlock, residual_blocks

from .schemes import ROLES, Parametrization, check_optimizer, check_scheme

__all__ = ["ResidualBlock", "Parametrized", "parametrize", "record_of", "param_groups"]

WEIGHT_MODULES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_ATTR = "_stablelearn_depth"


class _Scale:
    """Picklable forward hook multiplying a module's output by a constant (the readout multiplier)."""

    def __init__(self, multiplier: float) -> None:
        self.multiplier = multiplier

    def __call__(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return output * self.multiplier


@dataclass
class Parametrized:
    """What :func:`parametrize` did: the scheme, shapes, multipliers and each parameter's role.

    Attributes
    ----------
    scheme : Parametrization
    width, depth, base_width, base_depth : int
        n, L (the number of residual blocks), n0 and L0.
    roles : dict
        Role of every parameter, by name.
    blocks : list of str
        Names of the residual blocks, in module order.
    block_layers : list of list of str
        Weight layers of each block, in order.
    input_layer, output_layer : str
        The stem and the readout.
    branch_multiplier, output_multiplier : float
    """

    scheme: Parametrization
    width: int
    depth: int
    base_width: int
    base_depth: int
    roles: dict[str, str]
    blocks: list[str]
    block_layers: list[list[str]]
    output_layer: str
    input_layer: str
    branch_multiplier: float
    output_multiplier: float
    hook: object = field(default=None, repr=False)

    @property
    def m_n(self) -> float:
        """Width multiplier n / n0."""
        return self.width / self.base_width

    @property
    def m_L(self) -> float:
        """Depth multiplier L / L0."""
        return self.depth / self.base_depth

    def lr_factor(self, name: str, optimizer: str) -> float:
        """LR factor of parameter ``name`` (its role's width x depth factor).

        Parameters
        ----------
        name : str
        optimizer : {"sgd", "adam", "adamw"}

        Returns
        -------
        float
        """
        return self.scheme.lr_factor(self.roles[name], optimizer, self.m_n, self.m_L)


def _blocks(model: nn.Module) -> list[str]:
    return [n for n, _ in residual_blocks(model)]


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
            roles[n + ".weight"] = ("block" if i == len(layers) - 1 else "block_inner" if i == 0
                                    else "block_middle")
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
                reinit: bool = True, seed: int | np.random.Generator | torch.Generator | None = 0) -> Parametrized:
    """Give a residual network ``scheme``'s initialisation and multipliers.

    The tables applied are those of ``docs/depth.md`` ("What comes from where"): muP (TP5, ``mup``),
    depth-muP (TP6) and the reconstructed depth-aware correction of arXiv 2512.21075.

    Parameters
    ----------
    model : nn.Module
        A network whose residual blocks follow :func:`stablelearn.nn.is_residual_block`, with a stem and
        a readout weight layer outside the blocks.
    scheme : Parametrization
        SP, MuP, DepthMuP, DepthMuPCorrected or CompleteP.
    base_width : int, optional
        n0 (default: the model's width, i.e. m_n = 1).
    base_depth : int, default 1
        L0 (TP6 uses 8).
    width : int, optional
        n (default: the stem's output features or channels).
    roles : dict, optional
        Overrides of the inferred role per parameter name (see :mod:`stablelearn.depth.schemes`).
    reinit : bool, default True
        Re-draw the weights from the scheme's init (Gaussian; biases zero).
    seed : int, None, numpy.random.Generator or torch.Generator, default 0
        Randomness of the re-initialisation (the global RNG is not used).

    Returns
    -------
    Parametrized
        The record, also stored on the model for :func:`param_groups`.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    scheme = check_scheme(scheme)
    reinit = check_bool(reinit, "reinit")
    for name, p in model.named_parameters():
        if not p.is_floating_point():
            raise TypeError(f"model parameters must be floating point, got {name!r} of dtype {p.dtype}")
    blocks = _blocks(model)
    if not blocks:
        raise ValueError("model has no residual blocks: wrap each branch in stablelearn.nn.ResidualBlock "
                         "or give the block module an nn.Module 'branch' and a real 'branch_multiplier'")
    roles = dict(roles or {})
    names = {n for n, _ in model.named_parameters()}
    for name, role in roles.items():
        if name not in names:
            raise ValueError(f"roles names unknown parameter {name!r}")
        check_choice(role, f"roles[{name!r}]", ROLES)
    role_map, block_layers, outside = _infer_roles(model, blocks, roles)
    role_map.update(roles)
    modules = dict(model.named_modules())
    stem = modules[outside[0]]
    n = width if width is not None else getattr(stem, "out_features", getattr(stem, "out_channels", None))
    n = check_int(n, "width", low=1)
    n0 = check_int(base_width if base_width is not None else n, "base_width", low=1)
    L0 = check_int(base_depth, "base_depth", low=1)
    L = len(blocks)
    m_n, m_L = n / n0, L / L0
    branch = scheme.branch_multiplier(m_L)
    out_mult = scheme.output_multiplier(m_n)
    stds = {}
    for name, p in model.named_parameters():
        fan_in = int(math.prod(p.shape[1:])) if p.dim() > 1 else 1
        stds[name] = scheme.init_std(role_map[name], fan_in, m_n)
    for opt in scheme.optimizers:                           # refuse overflowing or vanishing factors now
        for role in set(role_map.values()):
            scheme.lr_factor(role, opt, m_n, m_L)
    if reinit:
        generator = torch_generator(seed)
        with torch.no_grad():
            for name, p in model.named_parameters():
                noise = torch.randn(p.shape, generator=generator, dtype=p.dtype, device="cpu")
                p.copy_((noise * stds[name]).to(p.device))
    for b in blocks:
        modules[b].branch_multiplier = float(branch)
    old = getattr(model, _ATTR, None)
    if old is not None and old.hook is not None:
        old.hook.remove()
    readout = modules[outside[-1]]
    hook = readout.register_forward_hook(_Scale(out_mult)) if out_mult != 1.0 else None
    record = Parametrized(scheme, n, L, n0, L0, role_map, blocks, block_layers, outside[-1], outside[0],
                          float(branch), float(out_mult), hook)
    object.__setattr__(model, _ATTR, record)
    return record


def record_of(model: nn.Module) -> Parametrized:
    """The :class:`Parametrized` record stored on ``model`` by :func:`parametrize`.

    Parameters
    ----------
    model : nn.Module

    Returns
    -------
    Parametrized
    """
    record = getattr(model, _ATTR, None)
    if record is None:
        raise ValueError("model has not been parametrized: call stablelearn.depth.parametrize(model, scheme, ...)")
    return record


def param_groups(model: nn.Module, lr: float, optimizer: str = "sgd", *, weight_decay: float = 0.0,
                 decoupled_wd: bool = True, roles: tuple[str, ...] | None = None,
                 adam_eps: float = 1e-8) -> list[dict]:
    """Optimizer parameter groups carrying the scheme's per-parameter learning rate.

    Each group is ``{"params", "lr", "weight_decay", "role", "lr_factor"}`` with ``lr = lr * lr_factor``;
    pass the list to any ``torch.optim`` optimizer of the named family. Schedulers stay correct as long
    as they change LRs relatively (LambdaLR, CosineAnnealing...), as with ``mup``'s ``MuSGD``/``MuAdam``.

    Parameters
    ----------
    model : nn.Module
        A network prepared by :func:`parametrize`.
    lr : float
        Base learning rate (finite, > 0).
    optimizer : {"sgd", "adam", "adamw"}
    weight_decay : float, default 0
        Finite, >= 0.
    decoupled_wd : bool, default True
        False divides the weight decay by the LR factor (``mup``'s coupled convention).
    roles : tuple of str, optional
        Train only parameters with these roles (e.g. ``("block", "block_inner")`` freezes the stem and
        readout as TP6 does); the others get ``requires_grad=False``.
    adam_eps : float, default 1e-8
        Adam's epsilon before the scheme's factor; a group gets an ``"eps"`` entry only where the
        scheme scales it (CompleteP).

    Returns
    -------
    list of dict
    """
    record = record_of(model)
    opt = check_optimizer(optimizer)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    weight_decay = check_float(weight_decay, "weight_decay", low=0.0)
    decoupled_wd = check_bool(decoupled_wd, "decoupled_wd")
    adam_eps = check_float(adam_eps, "adam_eps", low=0.0)
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
        eps = record.scheme.adam_eps_factor(role, record.m_n, record.m_L) if opt == "adam" else 1.0
        key = (role, factor, eps)
        if key not in groups:
            wd = weight_decay if decoupled_wd else weight_decay / factor
            groups[key] = {"params": [], "lr": lr * factor, "weight_decay": wd, "role": role, "lr_factor": factor,
                           **({"eps": adam_eps * eps} if eps != 1.0 else {})}
        groups[key]["params"].append(p)
    return list(groups.values())
