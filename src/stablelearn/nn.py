"""Neural-network pieces that more than one library needs: the residual block.

A *residual block* is any module with an ``nn.Module`` attribute ``branch`` and a real attribute
``branch_multiplier`` whose forward computes ``x + branch_multiplier * branch(x)``: one explicit-Euler step,
of size ``h = branch_multiplier``, of the depth flow ``x' = branch(x)``. :class:`ResidualBlock` is the
ready-made one; your own blocks qualify by having the two attributes. ``stablelearn.depth`` sets the
multiplier of every block it finds (depth-muP's ``L^-alpha``), and ``stablelearn.stability`` reads it as the
step ``h`` of the CFL margins, so a model parametrised by one is measured by the other.
"""

from __future__ import annotations

import numbers

import torch
from torch import nn

from stablelearn._conventions import check_float

__all__ = ["ResidualBlock", "is_residual_block", "residual_blocks"]


class ResidualBlock(nn.Module):
    """``x -> x + branch_multiplier * branch(x)``.

    Parameters
    ----------
    branch : nn.Module
        The residual branch ``f``.
    branch_multiplier : float, default 1.0
        The step ``h`` of the explicit-Euler step; finite and >= 0.
    """

    def __init__(self, branch: nn.Module, branch_multiplier: float = 1.0) -> None:
        super().__init__()
        if not isinstance(branch, nn.Module):
            raise TypeError(f"branch must be an nn.Module, got {type(branch).__name__}")
        self.branch = branch
        self.branch_multiplier = check_float(branch_multiplier, "branch_multiplier", low=0.0)

    @property
    def h(self) -> float:
        """The Euler step size, an alias of ``branch_multiplier``."""
        return self.branch_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch_multiplier * self.branch(x)

    def extra_repr(self) -> str:
        return f"branch_multiplier={self.branch_multiplier:g}"


def is_residual_block(module: nn.Module) -> bool:
    """Whether ``module`` follows the residual-block protocol (``.branch`` module, real ``.branch_multiplier``)."""
    mult = getattr(module, "branch_multiplier", None)
    return (isinstance(getattr(module, "branch", None), nn.Module)
            and isinstance(mult, numbers.Real) and not isinstance(mult, bool))


def residual_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every residual block in ``model``, in module order."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [(n, m) for n, m in model.named_modules() if is_residual_block(m)]
