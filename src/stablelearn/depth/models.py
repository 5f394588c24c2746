"""Residual networks: a residual MLP and a convolutional pre-activation ResNet (``docs/depth.md``, "Models").

Outer structure (reconstructed from arXiv 2512.21075 and TP6): stem ``h_0 = W_in x``; L residual blocks; head ``f = m_out * W_out phi(h_L)``
(the multiplier set by the scheme). No normalisation layers (theory nets). Blocks:

* ``form="pre"`` (the NFD setting): k = 1: ``h + a_L W phi(h)``; k = 2: ``h + a_L W_2 phi(W_1 phi(h))``.
* ``form="post"`` (TP6): ``h + a_L MS(phi(W h))`` with optional mean subtraction MS; for k = 2
  ``h + a_L MS(phi(W_2 phi(W_1 h)))``.
"""
from __future__ import annotations

import torch
from torch import nn

import numpy as np

from stablelearn._conventions import check_bool, check_choice, check_int, torch_seeded
from stablelearn.nn import ResidualBlock

from .parametrize import parametrize
from .schemes import DepthMuP, Parametrization

__all__ = ["ResidualMLP", "ResNet", "ResidualBlock", "make_activation"]

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
    """The nonlinearity phi by name.

    Parameters
    ----------
    name : {"relu", "abs", "tanh", "gelu"}

    Returns
    -------
    nn.Module
    """
    check_choice(name, "activation", ("relu", "abs", "tanh", "gelu"))
    return Abs() if name == "abs" else ACTIVATIONS[name]()


def _branch(make_layer, k: int, act: str, form: str, mean_subtract: bool) -> nn.Sequential:
    check_choice(form, "form", ("pre", "post"))
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
        """The residual stream h_L after the last block (the readout's input before phi).

        Parameters
        ----------
        x : torch.Tensor

        Returns
        -------
        torch.Tensor
        """
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output f(x)."""
        return self.head(self.head_act(self.features(x)))


def _check_common(width: int, depth: int, block_layers: int, dtype: torch.dtype) -> tuple[int, int, int]:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return check_int(width, "width", low=1), check_int(depth, "depth", low=1), check_int(block_layers, "block_layers", low=1)


class ResidualMLP(_ResidualNet):
    """Residual MLP ``in_dim -> width x depth blocks -> out_dim`` under ``scheme``.

    Its blocks are :class:`stablelearn.nn.ResidualBlock` instances, so ``stablelearn.stability`` reads
    their branch multipliers as Euler steps.

    Parameters
    ----------
    in_dim, width, depth, out_dim : int
        Data dimension d, width n, number of blocks L, outputs c (all >= 1).
    block_layers : int, default 1
        k, weight layers per residual block.
    scheme : Parametrization, optional
        Default :class:`DepthMuP`.
    base_width, base_depth : int
        n0 (default ``width``) and L0 (default 1).
    activation : {"relu", "abs", "tanh", "gelu"}
    form : {"pre", "post"}
        Pre-activation (the NFD setting) or TP6's post-nonlinearity blocks.
    mean_subtract : bool
        Mean subtraction in post-nonlinearity blocks.
    bias : bool
        Biases in the stem, blocks and readout.
    seed : int, None, numpy.random.Generator or torch.Generator, default 0
        The initialisation's randomness (the global RNG is not used).
    device, dtype
        Where and in which floating-point type the weights live.
    """

    def __init__(self, in_dim: int, width: int, depth: int, out_dim: int, *, block_layers: int = 1,
                 scheme: Parametrization | None = None, base_width: int | None = None,
                 base_depth: int = 1, activation: str = "relu", form: str = "pre",
                 mean_subtract: bool = False, bias: bool = False,
                 seed: int | np.random.Generator | torch.Generator | None = 0,
                 device: str | torch.device | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        in_dim, out_dim = check_int(in_dim, "in_dim", low=1), check_int(out_dim, "out_dim", low=1)
        width, depth, block_layers = _check_common(width, depth, block_layers, dtype)
        bias, mean_subtract = check_bool(bias, "bias"), check_bool(mean_subtract, "mean_subtract")
        kw = {"device": device, "dtype": dtype}
        with torch_seeded(None):        # torch's default initialisers draw from the global RNG: restore it
            self.stem = nn.Linear(in_dim, width, bias=bias, **kw)
            self.blocks = nn.ModuleList(
                ResidualBlock(_branch(lambda: nn.Linear(width, width, bias=bias, **kw), block_layers,
                                      activation, form, mean_subtract)) for _ in range(depth))
            self.head_act = make_activation(activation)
            self.head = nn.Linear(width, out_dim, bias=bias, **kw)
        parametrize(self, scheme if scheme is not None else DepthMuP(), base_width, base_depth, seed=seed)


class ResNet(_ResidualNet):
    """Convolutional pre-activation ResNet with one stage of ``depth`` blocks (reconstructed).

    Stem ``conv3x3(in_channels -> width)``, L blocks of k ``phi -> conv3x3(width -> width)`` layers,
    then phi, global average pooling and a linear readout. Channels are the width (fan_in = 9 C).
    Reconstructed simplification: no BatchNorm and no downsampling stages (the paper's abstract leaves
    both open); L counts all blocks.

    Parameters
    ----------
    in_channels, width, depth, num_classes : int
    kernel_size : int, default 3
        Odd.
    block_layers, scheme, base_width, base_depth, activation, seed, device, dtype
        As :class:`ResidualMLP`.
    """

    def __init__(self, in_channels: int, width: int, depth: int, num_classes: int, *,
                 block_layers: int = 1, scheme: Parametrization | None = None,
                 base_width: int | None = None, base_depth: int = 1, activation: str = "relu",
                 kernel_size: int = 3, seed: int | np.random.Generator | torch.Generator | None = 0,
                 device: str | torch.device | None = None, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", low=1)
        num_classes = check_int(num_classes, "num_classes", low=1)
        width, depth, block_layers = _check_common(width, depth, block_layers, dtype)
        kernel_size = check_int(kernel_size, "kernel_size", low=1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        kw = {"device": device, "dtype": dtype, "padding": kernel_size // 2, "bias": False}
        with torch_seeded(None):        # torch's default initialisers draw from the global RNG: restore it
            self.stem = nn.Conv2d(in_channels, width, kernel_size, **kw)
            self.blocks = nn.ModuleList(
                ResidualBlock(_branch(lambda: nn.Conv2d(width, width, kernel_size, **kw), block_layers,
                                      activation, "pre", False)) for _ in range(depth))
            self.head_act = nn.Sequential(make_activation(activation), nn.AdaptiveAvgPool2d(1),
                                          nn.Flatten())
            self.head = nn.Linear(width, num_classes, bias=False, device=device, dtype=dtype)
        parametrize(self, scheme if scheme is not None else DepthMuP(), base_width, base_depth, seed=seed)
