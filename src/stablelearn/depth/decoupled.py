"""Decoupled-backward twin of a residual network: the gradient-independence (GIA) check of arXiv 2512.21075
(v3, Figure 2 design; ``docs/depth.md``, "Diagnostics").

In the twin, the input gradient of every block weight layer uses ``B = B0 + (W - W0)`` where ``B0`` is
an independent draw from the same init distribution, while the forward pass and the weight gradient are
those of ``W`` (custom autograd: forward ``z W^T``, ``grad_z = g B``, ``grad_W = g^T z``). Under the GIA
the standard and decoupled runs agree as L grows (for one-layer blocks under depth-muP).
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

import numpy as np

from stablelearn._conventions import torch_generator

from .parametrize import record_of

__all__ = ["decoupled", "DecoupledLayer"]


class _DecoupledLinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, weight, b_eff):
        ctx.save_for_backward(z, b_eff)
        return F.linear(z, weight)

    @staticmethod
    def backward(ctx, g):
        z, b_eff = ctx.saved_tensors
        grad_w = g.reshape(-1, g.shape[-1]).T @ z.reshape(-1, z.shape[-1])
        return g @ b_eff, grad_w, None


class _DecoupledConvFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z, weight, b_eff, kw):
        ctx.save_for_backward(z, weight, b_eff)
        ctx.kw = kw
        return F.conv2d(z, weight, None, **kw)

    @staticmethod
    def backward(ctx, g):
        z, weight, b_eff = ctx.saved_tensors
        grad_z = torch.nn.grad.conv2d_input(z.shape, b_eff, g, **ctx.kw)
        grad_w = torch.nn.grad.conv2d_weight(z, weight.shape, g, **ctx.kw)
        return grad_z, grad_w, None, None


class DecoupledLayer(nn.Module):
    """Holds ``layer``'s own ``weight``/``bias`` Parameters (same names) with the decoupled backward.

    Parameters
    ----------
    layer : nn.Linear or nn.Conv2d
    std : float
        Init standard deviation of the independent copy ``B0``.
    generator : torch.Generator
    """

    def __init__(self, layer: nn.Module, std: float, generator: torch.Generator) -> None:
        super().__init__()
        if isinstance(layer, nn.Conv2d):
            if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
                raise ValueError("decoupled backward needs Conv2d with numeric zero padding")
            self.conv_kw = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation,
                            "groups": layer.groups}
        elif isinstance(layer, nn.Linear):
            self.conv_kw = None
        else:
            raise TypeError(f"decoupled backward supports Linear and Conv2d layers, got {type(layer).__name__}")
        self.weight = layer.weight
        self.bias = layer.bias
        w = layer.weight.detach()
        self.register_buffer("w0", w.clone())
        noise = torch.randn(w.shape, generator=generator, dtype=w.dtype)
        self.register_buffer("b0", (noise * std).to(w.device))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``layer(z)`` whose input gradient uses ``B0 + (W - W0)``."""
        b_eff = self.b0 + (self.weight.detach() - self.w0)
        if self.conv_kw is None:
            out = _DecoupledLinearFn.apply(z, self.weight, b_eff)
        else:
            out = _DecoupledConvFn.apply(z, self.weight, b_eff, self.conv_kw)
        if self.bias is not None:
            out = out + (self.bias if out.dim() == 2 else self.bias.view(1, -1, *([1] * (out.dim() - 2))))
        return out


def decoupled(model: nn.Module, seed: int | np.random.Generator | torch.Generator | None = 0) -> nn.Module:
    """A deep copy of a parametrised ``model`` whose block weight layers use the decoupled backward.

    Call it at initialisation, before training; the twin computes the same forward pass as ``model``.

    Parameters
    ----------
    model : nn.Module
        A network prepared by :func:`~stablelearn.depth.parametrize`.
    seed : int, None, numpy.random.Generator or torch.Generator, default 0
        Draws ``B0`` from the scheme's init distribution of each layer.

    Returns
    -------
    nn.Module
    """
    record = record_of(model)
    twin = copy.deepcopy(model)
    gen = torch_generator(seed)
    modules = dict(twin.named_modules())
    for layers in record.block_layers:
        for name in layers:
            layer = modules[name]
            fan_in = layer.weight[0].numel()
            std = record.scheme.init_std(record.roles[name + ".weight"], fan_in, record.m_n)
            parent_name, _, child = name.rpartition(".")
            parent = modules[parent_name] if parent_name else twin
            setattr(parent, child, DecoupledLayer(layer, std, gen))
    return twin
