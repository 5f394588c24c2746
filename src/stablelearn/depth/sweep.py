"""LR x depth (x width) transfer sweeps (spec 6, sweep A) through ``stablelearn.runtime.sweep``.

Every (scheme, width, depth, log2 LR, seed) is one cell, run by :func:`train_cell` on the runtime's
executor (in-process, a process pool or Ray) and cached on disk when ``cache_dir`` is given, so an
interrupted sweep resumes. The optimum per (scheme, width, depth) is the vertex of a parabola through
the three grid points around the minimum of the seed-mean loss; its drift with depth is the slope of
log2 eta* against log2 L, with a bootstrap over seeds.
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .models import ResidualMLP
from .parametrize import _check_int
from .schemes import Parametrization, check_optimizer, check_scheme, scheme_from_dict
from .training import TASKS, Task, make_task, train

HIDDEN_ROLES = ("block", "block_inner", "block_vector", "hidden")


def _resolve(path: str, what: str):
    """The object named by ``"package.module:attribute"``."""
    module, _, attr = path.partition(":")
    if not module or not attr:
        raise ValueError(f"{what} must be a built-in name or 'package.module:function', got {path!r}")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"{what} {path!r} cannot be imported: {err}") from err


def _task(spec: str) -> Task:
    task = make_task(spec) if spec in TASKS else _resolve(spec, "task")()
    if not isinstance(task, Task):
        raise TypeError(f"task {spec!r} must build a stablelearn.depth.Task, got {type(task).__name__}")
    return task


def train_cell(cell: dict) -> dict:
    """Train one network described by a JSON-able ``cell`` and return its final loss and status.

    Keys: task, model (None: :class:`ResidualMLP`), scheme (``Parametrization.to_dict()``), width,
    depth, block_layers, base_width, base_depth, log2_lr, optimizer, steps, batch_size, seed, train
    ("hidden" freezes stem and readout).
    """
    task = _task(cell["task"])
    build = ResidualMLP if cell.get("model") is None else _resolve(cell["model"], "model")
    model = build(task.in_dim, cell["width"], cell["depth"], task.out_dim,
                  block_layers=cell["block_layers"], scheme=scheme_from_dict(cell["scheme"]),
                  base_width=cell["base_width"], base_depth=cell["base_depth"], seed=cell["seed"])
    roles = HIDDEN_ROLES if cell["train"] == "hidden" else None
    res = train(model, task, lr=2.0 ** cell["log2_lr"], steps=cell["steps"], optimizer=cell["optimizer"],
                batch_size=cell["batch_size"], seed=cell["seed"], roles=roles)
    return {"final_loss": res.final_loss, "status": res.status}


@dataclass
class Optimum:
    """Fitted optimum: ``log2_lr`` (parabola vertex), its predicted ``loss``, and ``at_edge`` when the
    grid minimum lies on the grid's boundary (then the grid point itself is returned)."""

    log2_lr: float
    loss: float
    at_edge: bool


def fit_optimum(log2_lrs: Sequence[float], losses: Sequence[float]) -> Optimum:
    """Quadratic fit of loss against log2 LR through the three points around the minimum (spec 6).

    Non-finite losses (diverged runs) are treated as +inf. Raises ValueError if every loss is inf.
    """
    x = np.asarray(log2_lrs, float)
    y = np.where(np.isfinite(losses), np.asarray(losses, float), np.inf)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError("log2_lrs and losses must be 1-D of equal length >= 3")
    if not np.isfinite(y).any():
        raise ValueError("every run diverged: no optimum")
    i = int(np.argmin(y))
    if i == 0 or i == len(x) - 1 or not np.isfinite(y[i - 1 : i + 2]).all():
        return Optimum(float(x[i]), float(y[i]), True)
    a, b, c = np.polyfit(x[i - 1 : i + 2], y[i - 1 : i + 2], 2)
    if a <= 0:
        return Optimum(float(x[i]), float(y[i]), False)
    xv = float(np.clip(-b / (2 * a), x[i - 1], x[i + 1]))
    return Optimum(xv, float(np.polyval([a, b, c], xv)), False)


@dataclass
class Slope:
    """Slope of log2 eta* against log2 L: point estimate and a bootstrap 95% interval over seeds."""

    slope: float
    low: float
    high: float


@dataclass
class LRSweepResult:
    """``losses[scheme, width, depth, lr, seed]`` (inf where diverged) with the grid it was run on."""

    schemes: list[str]
    widths: list[int]
    depths: list[int]
    log2_lrs: list[float]
    seeds: list[int]
    losses: np.ndarray

    def _idx(self, scheme: str, width: int | None) -> tuple[int, int]:
        if scheme not in self.schemes:
            raise ValueError(f"scheme must be one of {self.schemes}, got {scheme!r}")
        width = self.widths[0] if width is None else width
        if width not in self.widths:
            raise ValueError(f"width must be one of {self.widths}, got {width!r}")
        return self.schemes.index(scheme), self.widths.index(width)

    def mean_curve(self, scheme: str, depth: int, width: int | None = None) -> np.ndarray:
        s, w = self._idx(scheme, width)
        return self.losses[s, w, self.depths.index(depth)].mean(-1)

    def optimum(self, scheme: str, depth: int, width: int | None = None) -> Optimum:
        """The fitted optimum of the seed-mean loss curve."""
        return fit_optimum(self.log2_lrs, self.mean_curve(scheme, depth, width))

    def best_loss(self, scheme: str, depth: int, width: int | None = None) -> float:
        """The lowest seed-mean loss on the grid."""
        return float(np.min(self.mean_curve(scheme, depth, width)))

    def drift(self, scheme: str, width: int | None = None, n_boot: int = 200, seed: int = 0) -> Slope:
        """Slope of log2 eta*(L) against log2 L (0 = the LR transfers across depth), with a bootstrap
        over seeds (each depth's seeds resampled with replacement)."""
        s, w = self._idx(scheme, width)
        logL = np.log2(self.depths)
        block = self.losses[s, w]

        def slope_of(curves: np.ndarray) -> float:
            opts = [fit_optimum(self.log2_lrs, c).log2_lr for c in curves]
            return float(np.polyfit(logL, opts, 1)[0])

        point = slope_of(block.mean(-1))
        rng = np.random.default_rng(seed)
        k = block.shape[-1]
        boots = []
        for _ in range(n_boot):
            pick = rng.integers(0, k, size=(len(self.depths), k))
            curves = np.stack([block[d][:, pick[d]].mean(-1) for d in range(len(self.depths))])
            try:
                boots.append(slope_of(curves))
            except ValueError:
                continue
        low, high = (np.percentile(boots, [2.5, 97.5]) if boots else (math.nan, math.nan))
        return Slope(point, float(low), float(high))

    def plot_curves(self, scheme: str, width: int | None = None):
        """Figure: seed-mean loss against log2 LR, one line per depth."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 3.5))
        for d in self.depths:
            y = self.mean_curve(scheme, d, width)
            ax.plot(self.log2_lrs, np.where(np.isfinite(y), y, np.nan), marker=".", label=f"L={d}")
        ax.set_xlabel("log2 LR")
        ax.set_ylabel("final train loss")
        ax.set_yscale("log")
        ax.set_title(scheme, fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig

    def plot_optima(self, width: int | None = None):
        """Figure: fitted optimal log2 LR against depth, one line per scheme."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 3.5))
        for sch in self.schemes:
            ax.plot(self.depths, [self.optimum(sch, d, width).log2_lr for d in self.depths], marker="o", label=sch)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("depth L")
        ax.set_ylabel("optimal log2 LR")
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


def lr_sweep(task: str, schemes: dict[str, Parametrization], depths: Sequence[int], log2_lrs: Sequence[float],
             *, widths: Sequence[int] = (128,), seeds: Sequence[int] = (0, 1), block_layers: int = 2,
             optimizer: str = "adam", steps: int = 100, batch_size: int = 128, base_width: int | None = None,
             base_depth: int = 1, train: str = "hidden", model: str | None = None, executor=None,
             cache_dir=None, fresh: bool = False, progress: bool | None = None) -> LRSweepResult:
    """LR x depth x width sweep of residual networks on ``task``, spec 6 sweep A.

    Cells must be JSON-able (they are cached and may run on other processes or Ray), so your own data
    and network are named by import path: ``task`` is "teacher", "digits" or ``"pkg.module:make_task"``
    (a function of no argument returning a :class:`Task`); ``model`` is None (:class:`ResidualMLP`) or
    ``"pkg.module:build"`` called like ``ResidualMLP(in_dim, width, depth, out_dim, block_layers=...,
    scheme=..., base_width=..., base_depth=..., seed=...)`` and returning a parametrised network.

    Args:
        schemes: ``{label: scheme}``; depths, widths, seeds: the grid; log2_lrs: base LRs as log2.
        base_width: n0 (default: the smallest width). train: "hidden" (stem and readout frozen, as TP6
            and spec 6) or "all".
        executor: a ``stablelearn.runtime`` executor (``get_executor("local", jobs=2)`` or ``"ray"``);
            default in-process. cache_dir: folder of finished cells (resume); fresh: recompute them.
    """
    from stablelearn.runtime import sweep

    if not isinstance(task, str) or (task not in TASKS and ":" not in task):
        raise ValueError(f"task must be one of {TASKS} or 'package.module:function', got {task!r}")
    if task not in TASKS:
        _resolve(task, "task")
    if model is not None:
        _resolve(model, "model")
    if not isinstance(schemes, dict) or not schemes:
        raise ValueError("schemes must be a non-empty dict {label: Parametrization}")
    for label, sch in schemes.items():
        check_scheme(sch)
    if train not in ("hidden", "all"):
        raise ValueError(f"train must be 'hidden' or 'all', got {train!r}")
    for name, seq in (("depths", depths), ("widths", widths), ("seeds", seeds), ("log2_lrs", log2_lrs)):
        if len(seq) == 0:
            raise ValueError(f"{name} must be non-empty")
    for d in depths:
        _check_int(d, "depth")
    for w in widths:
        _check_int(w, "width")
    if len(log2_lrs) < 3 or not all(math.isfinite(v) for v in log2_lrs):
        raise ValueError("log2_lrs must hold at least 3 finite values")
    opt = check_optimizer(optimizer)
    n0 = base_width if base_width is not None else min(widths)
    labels = list(schemes)
    cells = [{"task": task, "scheme": schemes[s].to_dict(), "width": int(w), "depth": int(d),
              "block_layers": int(block_layers), "base_width": int(n0), "base_depth": int(base_depth),
              "log2_lr": float(e), "optimizer": opt, "steps": int(steps), "batch_size": int(batch_size),
              "seed": int(k), "train": train, **({"model": model} if model else {})}
             for s in labels for w in widths for d in depths for e in log2_lrs for k in seeds]
    outs = sweep(train_cell, cells, executor=executor, cache_dir=cache_dir, fresh=fresh,
                 desc="lr sweep", progress=progress)
    losses = np.array([o["final_loss"] for o in outs], float).reshape(
        len(labels), len(widths), len(depths), len(log2_lrs), len(seeds))
    return LRSweepResult(labels, [int(w) for w in widths], [int(d) for d in depths],
                         [float(e) for e in log2_lrs], [int(k) for k in seeds], losses)
