"""Finite-network diagnostics of arXiv 2512.21075 (NFD) and a coordinate check over width and depth.

The measurements are described in ``docs/depth.md`` ("Diagnostics"); the coordinate check extends
``mup``'s to depth.

* :func:`feature_updates`: per-layer feature-update size r_{l,j} = rms(dW_{l,j} z_{l,j}) on a probe batch,
  with dW = W_t - W_0 and z the layer's current input; depth-muP predicts r ~ L^-1/2 (sqrt(L) r flat).
* :func:`knockouts`: ko_j = rms(h_L(theta_t) - h_L(theta_t with every W_{l,j} reset to W_{l,j}^0)).
* :func:`coord_check`: activation sizes over a few steps against width and depth (flat is correct).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from stablelearn._conventions import check_choice, check_float, check_int, progress_disabled, torch_generator

from .parametrize import record_of
from .training import Task, check_task_fits, make_optimizer

__all__ = ["snapshot", "stream", "feature_updates", "knockouts", "coord_check", "CoordCheck", "FeatureUpdates"]

PROBE_DEPTHS = (0.25, 0.5, 0.75, 1.0)


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model``'s parameters and buffers (the W_0 of the diagnostics).

    Parameters
    ----------
    model : nn.Module

    Returns
    -------
    dict of torch.Tensor
    """
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
    """Outputs h_1..h_L of every residual block on ``x`` (with parameters ``state`` if given).

    Parameters
    ----------
    model : nn.Module
        A parametrised network.
    x : torch.Tensor
    state : dict, optional
        Parameters and buffers to use instead of the model's own.

    Returns
    -------
    list of torch.Tensor
    """
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
    """Feature-update magnitude per layer, r_{l,j} = rms(dW_{l,j} z_{l,j}) (``docs/depth.md``, "Diagnostics").

    Parameters
    ----------
    model : nn.Module
    init_state : dict
        From :func:`snapshot` at initialisation.
    x : torch.Tensor
        Probe batch.

    Returns
    -------
    FeatureUpdates
    """
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
    """Knock-out contributions ko_j = rms(h_L(theta_t) - h_L(theta_t with every W_{l,j} reset to W_{l,j}^0)).

    Parameters
    ----------
    model : nn.Module
    init_state : dict
        From :func:`snapshot` at initialisation.
    x : torch.Tensor
        Probe batch.

    Returns
    -------
    numpy.ndarray
        ko[j] for j = 0..k-1: ko[0] is ko1, ko[-1] is ko2 for two-layer blocks.
    """
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

    Attributes
    ----------
    records : list of dict
        ``{"width", "depth", "step", "quantity", "value"}``.
    statuses : dict
        ``{(width, depth): status}``: ``"completed"``, or ``"non_finite"`` when a value became NaN or
        infinite (the records stop at the last step whose values were all finite).
    """

    records: list[dict] = field(default_factory=list)
    statuses: dict = field(default_factory=dict)

    def value(self, quantity: str, width: int, depth: int, step: int = -1) -> float:
        """The recorded value of ``quantity`` at (width, depth) and ``step`` (an index into the steps).

        Parameters
        ----------
        quantity : str
        width, depth : int
        step : int, default -1

        Returns
        -------
        float
        """
        rows = [r for r in self.records if r["quantity"] == quantity and r["width"] == width and r["depth"] == depth]
        if not rows:
            raise ValueError(f"no records for quantity={quantity!r}, width={width}, depth={depth}")
        rows.sort(key=lambda r: r["step"])
        return rows[step]["value"]

    @property
    def widths(self) -> list[int]:
        """Widths recorded."""
        return sorted({r["width"] for r in self.records})

    @property
    def depths(self) -> list[int]:
        """Depths recorded."""
        return sorted({r["depth"] for r in self.records})

    @property
    def quantities(self) -> list[str]:
        """Quantities recorded."""
        return list(dict.fromkeys(r["quantity"] for r in self.records))

    def slope(self, quantity: str, along: str = "width", at: int | None = None, step: int = -1) -> float:
        """Log-log slope of ``quantity`` against width (at depth ``at``) or depth (at width ``at``).

        About 0 for a correct parametrisation; ``inf`` when a model's run was not ``"completed"``.

        Parameters
        ----------
        quantity : str
        along : {"width", "depth"}
        at : int, optional
            The depth (or width) held fixed; default the smallest.
        step : int, default -1

        Returns
        -------
        float
        """
        check_choice(along, "along", ("width", "depth"))
        if along == "width":
            at = at if at is not None else self.depths[0]
            xs = self.widths
            shapes = [(w, at) for w in xs]
        else:
            at = at if at is not None else self.widths[0]
            xs = self.depths
            shapes = [(at, d) for d in xs]
        if any(self.statuses.get(sh, "completed") != "completed" for sh in shapes):
            return math.inf
        ys = [self.value(quantity, w, d, step) for w, d in shapes]
        if len(xs) < 2:
            raise ValueError(f"need at least two {along}s for a slope")
        ys = np.asarray(ys, float)
        if not np.isfinite(ys).all():
            return math.inf
        ys = np.maximum(ys, 1e-30)
        return float(np.polyfit(np.log2(xs), np.log2(ys), 1)[0])

    def _maybe(self, quantity: str, width: int, depth: int, step: int) -> float:
        rows = [r for r in self.records if r["quantity"] == quantity and r["width"] == width
                and r["depth"] == depth and r["step"] == step]
        return rows[0]["value"] if rows else math.nan

    def plot(self, quantities: list[str] | None = None) -> Any:
        """Figure: each quantity against width (first row, at the smallest depth) and depth (second row,
        at the smallest width), one line per step, log-log axes. Flat lines = correct scaling.

        Parameters
        ----------
        quantities : list of str, optional

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        qs = quantities or self.quantities
        steps = sorted({r["step"] for r in self.records})
        fig, axes = plt.subplots(2, len(qs), figsize=(3 * len(qs), 5.5), squeeze=False)
        for c, q in enumerate(qs):
            for row, (along, xs) in enumerate((("width", self.widths), ("depth", self.depths))):
                ax = axes[row, c]
                for s in steps:
                    shapes = [(w, self.depths[0]) for w in xs] if along == "width" else \
                        [(self.widths[0], d) for d in xs]
                    ys = [self._maybe(q, w, d, s) for w, d in shapes]
                    ax.plot(xs, ys, marker="o", label=f"t={s}")
                ax.set_xscale("log", base=2)
                ax.set_yscale("log")
                ax.set_xlabel(along)
                ax.set_title(q, fontsize=9)
        axes[0, 0].legend(fontsize=7)
        fig.tight_layout()
        return fig


def coord_check(models: Mapping[tuple[int, int], Callable[[], nn.Module]], task: Task, *, lr: float,
                steps: int = 3, optimizer: str = "sgd", batch_size: int = 64,
                seed: int | np.random.Generator | torch.Generator | None = 0,
                roles: tuple[str, ...] | None = None, progress: bool | None = None) -> CoordCheck:
    """Coordinate check over widths and depths (``mup``'s ``get_coord_data`` extended to depth).

    Parameters
    ----------
    models : mapping
        ``{(width, depth): zero-argument function building a parametrised model}``.
    task : Task
        Data; ``batch_size`` rows of a seeded permutation are the probe and training batch.
    lr : float
        A deliberately large base LR (``mup`` README tip); finite, > 0.
    steps : int, default 3
        Optimizer steps (records t = 0..steps).
    optimizer : {"sgd", "adam"}
    batch_size : int
    seed : int, None, numpy.random.Generator or torch.Generator
        Which rows form the batch.
    roles : tuple of str, optional
        Train only these roles.
    progress : bool or None
        Progress bar over the models (``progress_disabled``).

    Returns
    -------
    CoordCheck
        A model whose values become NaN or infinite gets status ``"non_finite"`` and no records past
        its last finite step.
    """
    from tqdm.auto import tqdm

    if not isinstance(task, Task):
        raise TypeError(f"task must be a stablelearn.depth.Task (e.g. teacher_task()), got {task!r}")
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping {(width, depth): builder}")
    for key, build in models.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"models keys must be (width, depth) pairs, got {key!r}")
        check_int(key[0], "models key width", low=1)
        check_int(key[1], "models key depth", low=1)
        if not callable(build):
            raise TypeError(f"models[{key!r}] must be a function of no argument building a model, got {build!r}")
    steps = check_int(steps, "steps", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    lr = check_float(lr, "lr", low=0.0, low_inclusive=False)
    idx = torch.randperm(len(task.X), generator=torch_generator(seed))[:batch_size]
    x, y = task.X[idx], task.y[idx]
    out = CoordCheck()
    for (width, depth), build in tqdm(models.items(), desc="coord check", leave=False,
                                      disable=progress_disabled(progress)):
        width, depth = int(width), int(depth)
        model = build()
        record = record_of(model)
        if (record.width, record.depth) != (width, depth):
            raise ValueError(f"models[{(width, depth)}] built a model of width {record.width}, depth {record.depth}")
        check_task_fits(model, task)
        opt = make_optimizer(model, lr, optimizer, roles)
        init = snapshot(model)
        h0 = stream(model, x)[-1]
        with torch.no_grad():
            f0 = model(x)
        status = "completed"
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
            if not all(math.isfinite(v) for v in vals.values()):
                status = "non_finite"
                break
            out.records += [{"width": width, "depth": depth, "step": t, "quantity": q, "value": v}
                            for q, v in vals.items()]
            if t < steps:
                loss = task.loss_fn(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        out.statuses[(width, depth)] = status
    return out
