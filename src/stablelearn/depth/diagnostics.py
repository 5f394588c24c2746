"""Finite-network diagnostics of spec 3.2 and the coordinate check of spec 6 (like ``mup``'s).

* :func:`feature_updates`: per-layer feature-update size r_{l,j} = rms(dW_{l,j} z_{l,j}) on a probe batch,
  with dW = W_t - W_0 and z the layer's current input; depth-muP predicts r ~ L^-1/2 (sqrt(L) r flat).
* :func:`knockouts`: ko_j = rms(h_L(theta_t) - h_L(theta_t with every W_{l,j} reset to W_{l,j}^0)).
* :func:`coord_check`: activation sizes over a few steps against width and depth (flat is correct).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from .parametrize import _check_int, record_of
from .training import Task, make_optimizer

PROBE_DEPTHS = (0.25, 0.5, 0.75, 1.0)


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model``'s parameters and buffers (the W_0 of the diagnostics)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _rms(t: torch.Tensor) -> float:
    return float(t.pow(2).mean().sqrt())


@contextmanager
def _capture(modules: list[nn.Module], inputs: bool):
    store: list = [None] * len(modules)

    def hook(i):
        def fn(mod, args, out):
            store[i] = args[0].detach() if inputs else out.detach()
        return fn

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(modules)]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


def _apply(layer: nn.Module, z: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    kw = getattr(layer, "conv_kw", None)
    if isinstance(layer, nn.Conv2d):
        kw = {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation, "groups": layer.groups}
    return F.linear(z, w) if kw is None else F.conv2d(z, w, None, **kw)


@torch.no_grad()
def stream(model: nn.Module, x: torch.Tensor, state: dict[str, torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Outputs h_1..h_L of every residual block on ``x`` (with parameters ``state`` if given)."""
    record = record_of(model)
    modules = dict(model.named_modules())
    with _capture([modules[b] for b in record.blocks], inputs=False) as hs:
        functional_call(model, state, (x,)) if state is not None else model(x)
    return list(hs)


@dataclass
class FeatureUpdates:
    """r[l, j] = rms(dW_{l,j} z_{l,j}) for block l and internal layer j; ``scaled[j] = sqrt(L) mean_l r[l, j]``;
    ``stream_change`` = rms(h_L(t) - h_L(0))."""

    r: np.ndarray
    scaled: np.ndarray
    stream_change: float


@torch.no_grad()
def feature_updates(model: nn.Module, init_state: dict[str, torch.Tensor], x: torch.Tensor) -> FeatureUpdates:
    """Feature-update magnitude per layer (spec 3.2 item 1); ``init_state`` from :func:`snapshot`."""
    record = record_of(model)
    modules = dict(model.named_modules())
    k = min(len(layers) for layers in record.block_layers)
    layers = [[modules[n] for n in names[:k]] for names in record.block_layers]
    flat = [m for row in layers for m in row]
    with _capture(flat, inputs=True) as zs:
        model(x)
    r = np.zeros((record.depth, k))
    for i, names in enumerate(record.block_layers):
        for j in range(k):
            layer = layers[i][j]
            dw = layer.weight - init_state[names[j] + ".weight"]
            r[i, j] = _rms(_apply(layer, zs[i * k + j], dw))
    h_t = stream(model, x)[-1]
    h_0 = stream(model, x, init_state)[-1]
    return FeatureUpdates(r, math.sqrt(record.depth) * r.mean(0), _rms(h_t - h_0))


@torch.no_grad()
def knockouts(model: nn.Module, init_state: dict[str, torch.Tensor], x: torch.Tensor) -> np.ndarray:
    """Knock-out contributions ko_j, j = 0..k-1 (spec 3.2 item 5b): ko[0] is ko1, ko[-1] is ko2."""
    record = record_of(model)
    k = min(len(layers) for layers in record.block_layers)
    current = snapshot(model)
    h_t = stream(model, x)[-1]
    ko = np.zeros(k)
    for j in range(k):
        state = dict(current)
        for names in record.block_layers:
            key = names[j] + ".weight"
            state[key] = init_state[key]
        ko[j] = _rms(h_t - stream(model, x, state)[-1])
    return ko


@dataclass
class CoordCheck:
    """Coordinate-check records: one dict per (width, depth, step, quantity) with its ``value``.

    Quantities: ``h@t`` (rms of the residual stream at relative depth t), ``dh`` (rms(h_L - h_L(0))),
    ``r[j]`` (sqrt(L) mean_l r_{l,j}), ``out`` (rms of the network output), ``dout`` (rms of its change
    since init; under muP with a non-zero readout init ``out`` itself decays like n^-1/2 at t = 0).
    """

    records: list[dict] = field(default_factory=list)

    def value(self, quantity: str, width: int, depth: int, step: int = -1) -> float:
        rows = [r for r in self.records if r["quantity"] == quantity and r["width"] == width and r["depth"] == depth]
        if not rows:
            raise ValueError(f"no records for quantity={quantity!r}, width={width}, depth={depth}")
        rows.sort(key=lambda r: r["step"])
        return rows[step]["value"]

    @property
    def widths(self) -> list[int]:
        return sorted({r["width"] for r in self.records})

    @property
    def depths(self) -> list[int]:
        return sorted({r["depth"] for r in self.records})

    @property
    def quantities(self) -> list[str]:
        return list(dict.fromkeys(r["quantity"] for r in self.records))

    def slope(self, quantity: str, along: str = "width", at: int | None = None, step: int = -1) -> float:
        """Log-log slope of ``quantity`` against width (at depth ``at``) or depth (at width ``at``);
        about 0 for a correct parametrisation, ``inf`` when a value is non-finite (a diverged run)."""
        if along not in ("width", "depth"):
            raise ValueError(f"along must be 'width' or 'depth', got {along!r}")
        if along == "width":
            at = at if at is not None else self.depths[0]
            xs = self.widths
            ys = [self.value(quantity, w, at, step) for w in xs]
        else:
            at = at if at is not None else self.widths[0]
            xs = self.depths
            ys = [self.value(quantity, at, d, step) for d in xs]
        if len(xs) < 2:
            raise ValueError(f"need at least two {along}s for a slope")
        ys = np.asarray(ys, float)
        if not np.isfinite(ys).all():
            return math.inf
        ys = np.maximum(ys, 1e-30)
        return float(np.polyfit(np.log2(xs), np.log2(ys), 1)[0])

    def plot(self, quantities: list[str] | None = None):
        """Figure: each quantity against width (first row, at the smallest depth) and depth (second row,
        at the smallest width), one line per step, log-log axes. Flat lines = correct scaling."""
        import matplotlib.pyplot as plt

        qs = quantities or self.quantities
        steps = sorted({r["step"] for r in self.records})
        fig, axes = plt.subplots(2, len(qs), figsize=(3 * len(qs), 5.5), squeeze=False)
        for c, q in enumerate(qs):
            for row, (along, xs) in enumerate((("width", self.widths), ("depth", self.depths))):
                ax = axes[row, c]
                for s in steps:
                    if along == "width":
                        ys = [self.value(q, w, self.depths[0], s) for w in xs]
                    else:
                        ys = [self.value(q, self.widths[0], d, s) for d in xs]
                    ax.plot(xs, ys, marker="o", label=f"t={s}")
                ax.set_xscale("log", base=2)
                ax.set_yscale("log")
                ax.set_xlabel(along)
                ax.set_title(q, fontsize=9)
        axes[0, 0].legend(fontsize=7)
        fig.tight_layout()
        return fig


def coord_check(models: Mapping[tuple[int, int], Callable[[], nn.Module]], task: Task, *, lr: float,
                steps: int = 3, optimizer: str = "sgd", batch_size: int = 64, seed: int = 0,
                roles: tuple[str, ...] | None = None, progress: bool | None = None) -> CoordCheck:
    """Coordinate check over widths and depths (spec 6; ``mup.coord_check`` extended to depth).

    Args:
        models: ``{(width, depth): zero-argument function building a parametrised model}``.
        task: data; the first ``batch_size`` rows of a seeded permutation are the probe and training batch.
        lr: a deliberately large base LR (``mup`` README tip); steps: optimiser steps (records t = 0..steps).
        progress: tqdm bar over the models (None: shown on a terminal only; False: never).
    """
    from tqdm.auto import tqdm

    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping {(width, depth): builder}")
    _check_int(steps, "steps", 0)
    _check_int(batch_size, "batch_size")
    idx = torch.randperm(len(task.X), generator=torch.Generator().manual_seed(int(seed)))[:batch_size]
    x, y = task.X[idx], task.y[idx]
    out = CoordCheck()
    for (width, depth), build in tqdm(models.items(), desc="coord check", leave=False,
                                      disable=None if progress is None else not progress):
        model = build()
        record = record_of(model)
        if (record.width, record.depth) != (width, depth):
            raise ValueError(f"models[{(width, depth)}] built a model of width {record.width}, depth {record.depth}")
        opt = make_optimizer(model, lr, optimizer, roles)
        init = snapshot(model)
        h0 = stream(model, x)[-1]
        with torch.no_grad():
            f0 = model(x)
        for t in range(steps + 1):
            with torch.no_grad():
                hs = stream(model, x)
                vals = {f"h@{p:g}": _rms(hs[max(math.ceil(p * depth) - 1, 0)]) for p in PROBE_DEPTHS}
                vals["dh"] = _rms(hs[-1] - h0)
                f = model(x)
                vals["out"] = _rms(f)
                vals["dout"] = _rms(f - f0)
            fu = feature_updates(model, init, x)
            vals.update({f"r[{j}]": float(v) for j, v in enumerate(fu.scaled)})
            out.records += [{"width": width, "depth": depth, "step": t, "quantity": q, "value": v}
                            for q, v in vals.items()]
            if t < steps:
                loss = task.loss_fn(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return out
