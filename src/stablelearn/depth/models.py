"""Residual networks of spec section 2: a residual MLP and a convolutional pre-activation ResNet.

Outer structure (spec 2, [I]): stem ``h_0 = W_in x``; L residual blocks; head ``f = m_out * W_out phi(h_L)``
(the multiplier set by the scheme). No normalisation layers (theory nets). Blocks:

* ``form="pre"`` (the NFD setting): k = 1: ``h + a_L W phi(h)``; k = 2: ``h + a_L W_2 phi(W_1 phi(h))``.
* ``form="post"`` (TP6): ``h + a_L MS(phi(W h))`` with optional mean subtraction MS; for k = 2
  ``h + a_L MS(phi(W_2 phi(W_1 h)))``.
"""
from __future__ import annotations

import torch
from torch import nn

from .parametrize import ResidualBlock, _check_int, parametrize
from .schemes import DepthMuP, Parametrization

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


class Abs(nn.Module):
    """phi(x) = |x| (TP6's choice maximising feature diversity)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs()


class MeanSubtract(nn.Module):
    """MS(x) = x - mean(x) over the feature (channel) dimension (TP6's post-nonlin block)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=1, keepdim=True)


def make_activation(name: str) -> nn.Module:
    """The nonlinearity phi by name: relu, abs, tanh or gelu."""
    if name == "abs":
        return Abs()
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted([*ACTIVATIONS, 'abs'])}, got {name!r}")
    return ACTIVATIONS[name]()


def _branch(make_layer, k: int, act: str, form: str, mean_subtract: bool) -> nn.Sequential:
    if form not in ("pre", "post"):
        raise ValueError(f"form must be 'pre' or 'post', got {form!r}")
    mods: list[nn.Module] = []
    for i in range(k):
        if form == "pre":
            mods += [make_activation(act), make_layer()]
        else:
            mods += [make_layer(), make_activation(act)]
    if form == "post" and mean_subtract:
        mods.append(MeanSubtract())
    return nn.Sequential(*mods)


class _ResidualNet(nn.Module):
    """Shared forward: stem, blocks, activation, (pool), readout."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The residual stream h_L after the last block (the readout's input before phi)."""
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_act(self.features(x)))


def _check_common(width: int, depth: int, block_layers: int) -> None:
    _check_int(width, "width")
    _check_int(depth, "depth")
    _check_int(block_layers, "block_layers")


class ResidualMLP(_ResidualNet):
    """Residual MLP ``in_dim -> width x depth blocks -> out_dim`` under ``scheme`` (spec 2).

    Args:
        in_dim, width, depth, out_dim: data dimension d, width n, number of blocks L, outputs c.
        block_layers: k, weight layers per residual block (1 or 2; more is allowed).
        scheme: the parametrisation (default :class:`DepthMuP`).
        base_width, base_depth: n0 (default ``width``) and L0 (default 1).
        activation: phi in {relu, abs, tanh, gelu}.  form: "pre" (default) or "post" blocks.
        mean_subtract: mean subtraction in post-nonlin blocks.  bias: biases in the stem and blocks.
        seed / generator: the initialisation's randomness.
    """

    def __init__(self, in_dim: int, width: int, depth: int, out_dim: int, *, block_layers: int = 1,
                 scheme: Parametrization | None = None, base_width: int | None = None,
                 base_depth: int = 1, activation: str = "relu", form: str = "pre",
                 mean_subtract: bool = False, bias: bool = False, seed: int | None = 0,
                 generator: torch.Generator | None = None, device: str | torch.device | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        _check_int(in_dim, "in_dim")
        _check_int(out_dim, "out_dim")
        _check_common(width, depth, block_layers)
        kw = {"device": device, "dtype": dtype}
        self.stem = nn.Linear(in_dim, width, bias=bias, **kw)
        self.blocks = nn.ModuleList(
            ResidualBlock(_branch(lambda: nn.Linear(width, width, bias=bias, **kw), block_layers,
                                  activation, form, mean_subtract)) for _ in range(depth))
        self.head_act = make_activation(activation)
        self.head = nn.Linear(width, out_dim, bias=bias, **kw)
        parametrize(self, scheme if scheme is not None else DepthMuP(), base_width, base_depth,
                    generator=generator, seed=seed)


class ResNet(_ResidualNet):
    """Convolutional pre-activation ResNet with one stage of ``depth`` blocks (spec 2, [I]).

    Stem ``conv3x3(in_channels -> width)``, L blocks of k ``phi -> conv3x3(width -> width)`` layers,
    then phi, global average pooling and a linear readout. Channels are the width (fan_in = 9 C).
    Reconstructed simplification: no BatchNorm and no downsampling stages (the spec leaves both open);
    L counts all blocks. Arguments as :class:`ResidualMLP`.
    """

    def __init__(self, in_channels: int, width: int, depth: int, num_classes: int, *,
                 block_layers: int = 1, scheme: Parametrization | None = None,
                 base_width: int | None = None, base_depth: int = 1, activation: str = "relu",
                 kernel_size: int = 3, seed: int | None = 0, generator: torch.Generator | None = None,
                 device: str | torch.device | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        _check_int(in_channels, "in_channels")
        _check_int(num_classes, "num_classes")
        _check_common(width, depth, block_layers)
        if _check_int(kernel_size, "kernel_size") % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        kw = {"device": device, "dtype": dtype, "padding": kernel_size // 2, "bias": False}
        self.stem = nn.Conv2d(in_channels, width, kernel_size, **kw)
        self.blocks = nn.ModuleList(
            ResidualBlock(_branch(lambda: nn.Conv2d(width, width, kernel_size, **kw), block_layers,
                                  activation, "pre", False)) for _ in range(depth))
        self.head_act = nn.Sequential(make_activation(activation), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten())
        self.head = nn.Linear(width, num_classes, bias=False, device=device, dtype=dtype)
        parametrize(self, scheme if scheme is not None else DepthMuP(), base_width, base_depth,
                    generator=generator, seed=seed)
