"""LR x depth (x width) transfer sweeps through ``stablelearn.runtime.sweep``.

The protocol of ``docs/depth.md`` ("Reproduction", sweep A). With ``batched=True`` (the default) every
(scheme, width, depth, seed) is one cell that trains all its learning rates at once as one stacked
model (:func:`~stablelearn.depth.batched.train_batched`); with ``batched=False`` every (scheme, width,
depth, log2 LR, seed) is its own cell (:func:`train_cell`). Cells are handed out costliest first. Either way the cells run on the runtime's
executor (in-process, a process pool or Ray) and are cached on disk when ``cache_dir`` is given, so an
interrupted sweep resumes. The optimum per (scheme, width, depth) is the vertex of a parabola through
the three grid points around the minimum of the seed-mean loss; its drift with depth is the slope of
log2 eta* against log2 L, with a bootstrap over seeds.
"""
from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from stablelearn._conventions import as_rng, check_array, check_bool, check_choice, check_int

from .batched import train_batched
from .models import ResidualMLP
from .schemes import Parametrization, check_optimizer, check_scheme, scheme_from_dict
from .training import TASKS, Task, make_task, train

__all__ = ["HIDDEN_ROLES", "Optimum", "Slope", "LRSweepResult", "fit_optimum", "lr_sweep", "train_cell",
           "train_group"]

HIDDEN_ROLES = ("block", "block_inner", "block_middle", "block_vector", "hidden")


def _resolve(path: str, what: str) -> Any:
    """The object named by ``"package.module:attribute"``."""
    module, _, attr = path.partition(":")
    if not module or not attr:
        raise ValueError(f"{what} must be a built-in name or 'package.module:function', got {path!r}")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"{what} {path!r} cannot be imported: {err}") from err


def _task(name: str) -> Task:
    task = make_task(name) if name in TASKS else _resolve(name, "task")()
    if not isinstance(task, Task):
        raise TypeError(f"task {name!r} must build a stablelearn.depth.Task, got {type(task).__name__}")
    return task


def _build(cell: dict, task: Task, seed: int) -> torch.nn.Module:
    build = ResidualMLP if cell.get("model") is None else _resolve(cell["model"], "model")
    return build(task.in_dim, cell["width"], cell["depth"], task.out_dim,
                 block_layers=cell["block_layers"], scheme=scheme_from_dict(cell["scheme"]),
                 base_width=cell["base_width"], base_depth=cell["base_depth"], seed=seed)


def train_cell(cell: dict) -> dict:
    """Train one network described by a JSON-able ``cell`` and return its final loss and status.

    Parameters
    ----------
    cell : dict
        Keys: task, model (None: :class:`ResidualMLP`), scheme (``Parametrization.to_dict()``), width,
        depth, block_layers, base_width, base_depth, log2_lr, optimizer, steps, batch_size, seed, train
        ("hidden" freezes stem and readout).

    Returns
    -------
    dict
        ``final_loss``, ``status``, ``diverged_at``.
    """
    task = _task(cell["task"])
    model = _build(cell, task, cell["seed"])
    roles = HIDDEN_ROLES if cell["train"] == "hidden" else None
    res = train(model, task, lr=2.0 ** cell["log2_lr"], steps=cell["steps"], optimizer=cell["optimizer"],
                batch_size=cell["batch_size"], seed=cell["seed"], roles=roles)
    return {"final_loss": res.final_loss, "status": res.status, "diverged_at": res.diverged_at}


def train_group(cell: dict) -> dict:
    """Train every (log2 LR, seed) of one (scheme, width, depth) at once (:func:`train_batched`); ``lr_sweep``
    gives it one seed per cell.

    Parameters
    ----------
    cell : dict
        As :func:`train_cell`, with lists ``log2_lrs`` and ``seeds`` instead of ``log2_lr`` and ``seed``.

    Returns
    -------
    dict
        ``final_loss``, ``status`` and ``diverged_at``, each a list over log2 LRs of lists over seeds.
    """
    task = _task(cell["task"])
    models = {s: _build(cell, task, s) for s in cell["seeds"]}
    pairs = [(e, s) for e in cell["log2_lrs"] for s in cell["seeds"]]
    roles = HIDDEN_ROLES if cell["train"] == "hidden" else None
    res = train_batched([models[s] for _, s in pairs], task, lrs=[2.0 ** e for e, _ in pairs],
                        seeds=[s for _, s in pairs], steps=cell["steps"], optimizer=cell["optimizer"],
                        batch_size=cell["batch_size"], roles=roles)
    k = len(cell["seeds"])

    def grid(values: list) -> list[list]:
        return [values[i:i + k] for i in range(0, len(values), k)]

    return {"final_loss": grid([r.final_loss for r in res]), "status": grid([r.status for r in res]),
            "diverged_at": grid([r.diverged_at for r in res])}


@dataclass
class Optimum:
    """Fitted optimum of a loss-versus-log2-LR curve.

    Attributes
    ----------
    log2_lr : float
        The parabola's vertex (or the grid minimum when it cannot be bracketed).
    loss : float
        The predicted loss there.
    at_edge : bool
        True when the grid minimum lies on the grid's boundary (then the grid point itself is returned).
    """

    log2_lr: float
    loss: float
    at_edge: bool


def fit_optimum(log2_lrs: Sequence[float], losses: Sequence[float]) -> Optimum:
    """Quadratic fit of loss against log2 LR through the three grid points around the minimum.

    The grid is sorted first (any order is accepted). Non-finite losses (diverged runs) count as +inf.

    Parameters
    ----------
    log2_lrs : sequence of float
        At least 3 finite, distinct values.
    losses : sequence of float
        One loss per grid point (NaN and inf allowed).

    Returns
    -------
    Optimum

    Raises
    ------
    ValueError
        For a grid with fewer than 3 or repeated points, shapes that differ, or when every loss is inf.
    """
    x = check_array(log2_lrs, "log2_lrs", ndim=1, min_size=3)
    y = check_array(losses, "losses", ndim=1, finite=False)
    if x.shape != y.shape:
        raise ValueError(f"log2_lrs and losses must have the same length, got {len(x)} and {len(y)}")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if (np.diff(x) == 0).any():
        raise ValueError(f"log2_lrs must be distinct, got {x.tolist()}")
    y = np.where(np.isfinite(y), y, np.inf)
    if not np.isfinite(y).any():
        raise ValueError("every run diverged: no optimum")
    i = int(np.argmin(y))
    if i == 0 or i == len(x) - 1 or not np.isfinite(y[i - 1 : i + 2]).all():
        return Optimum(float(x[i]), float(y[i]), True)
    a, b, c = np.polyfit(x[i - 1 : i + 2], y[i - 1 : i + 2], 2)
    if not a > 0:                                   # flat or concave through the three points
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
    """The losses of an LR sweep with the grid it was run on.

    Attributes
    ----------
    schemes : list of str
    widths, depths : list of int
    log2_lrs : list of float
        Sorted ascending.
    seeds : list of int
    losses : numpy.ndarray
        ``losses[scheme, width, depth, lr, seed]``, inf where a run did not complete.
    statuses : numpy.ndarray, optional
        The matching status words (``STATUSES``).
    """

    schemes: list[str]
    widths: list[int]
    depths: list[int]
    log2_lrs: list[float]
    seeds: list[int]
    losses: np.ndarray
    statuses: np.ndarray | None = None

    def _idx(self, scheme: str, width: int | None) -> tuple[int, int]:
        if scheme not in self.schemes:
            raise ValueError(f"scheme must be one of {self.schemes}, got {scheme!r}")
        width = self.widths[0] if width is None else width
        if width not in self.widths:
            raise ValueError(f"width must be one of {self.widths}, got {width!r}")
        return self.schemes.index(scheme), self.widths.index(width)

    def _depth(self, depth: int) -> int:
        if depth not in self.depths:
            raise ValueError(f"depth must be one of {self.depths}, got {depth!r}")
        return self.depths.index(depth)

    def mean_curve(self, scheme: str, depth: int, width: int | None = None) -> np.ndarray:
        """Seed-mean loss against log2 LR (inf where any seed did not complete).

        Parameters
        ----------
        scheme : str
        depth : int
        width : int, optional
            Default: the first width.

        Returns
        -------
        numpy.ndarray
        """
        s, w = self._idx(scheme, width)
        return self.losses[s, w, self._depth(depth)].mean(-1)

    def optimum(self, scheme: str, depth: int, width: int | None = None) -> Optimum:
        """The fitted optimum of the seed-mean loss curve (:func:`fit_optimum`).

        Parameters
        ----------
        scheme : str
        depth : int
        width : int, optional

        Returns
        -------
        Optimum
        """
        return fit_optimum(self.log2_lrs, self.mean_curve(scheme, depth, width))

    def best_loss(self, scheme: str, depth: int, width: int | None = None) -> float:
        """The lowest seed-mean loss on the grid.

        Parameters
        ----------
        scheme : str
        depth : int
        width : int, optional

        Returns
        -------
        float
        """
        return float(np.min(self.mean_curve(scheme, depth, width)))

    def drift(self, scheme: str, width: int | None = None, n_boot: int = 200,
              seed: int | np.random.Generator | None = 0) -> Slope:
        """Slope of log2 eta*(L) against log2 L (0 = the LR transfers across depth), with a bootstrap
        over seeds (each depth's seeds resampled with replacement).

        Parameters
        ----------
        scheme : str
        width : int, optional
        n_boot : int, default 200
        seed : int, None or numpy.random.Generator

        Returns
        -------
        Slope

        Raises
        ------
        ValueError
            With fewer than two depths, or when every run of a depth diverged.
        """
        s, w = self._idx(scheme, width)
        if len(self.depths) < 2:
            raise ValueError(f"drift needs at least two depths, got depths={self.depths}")
        n_boot = check_int(n_boot, "n_boot", low=1)
        logL = np.log2(self.depths)
        block = self.losses[s, w]

        def slope_of(curves: np.ndarray) -> float:
            opts = [fit_optimum(self.log2_lrs, c).log2_lr for c in curves]
            return float(np.polyfit(logL, opts, 1)[0])

        point = slope_of(block.mean(-1))
        rng = as_rng(seed)
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

    def plot_curves(self, scheme: str, width: int | None = None) -> Any:
        """Figure: seed-mean loss against log2 LR, one line per depth.

        Parameters
        ----------
        scheme : str
        width : int, optional

        Returns
        -------
        matplotlib.figure.Figure
        """
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

    def plot_optima(self, width: int | None = None) -> Any:
        """Figure: fitted optimal log2 LR against depth, one line per scheme.

        Parameters
        ----------
        width : int, optional

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 3.5))
        for sch in self.schemes:
            ys = []
            for d in self.depths:
                try:
                    ys.append(self.optimum(sch, d, width).log2_lr)
                except ValueError:
                    ys.append(np.nan)
            ax.plot(self.depths, ys, marker="o", label=sch)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("depth L")
        ax.set_ylabel("optimal log2 LR")
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


def _ints(values: Any, name: str, low: int) -> list[int]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{name} must be non-empty")
    out = [check_int(v, name, low=low) for v in values]
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct, got {out}")
    return out


def lr_sweep(task: str, schemes: dict[str, Parametrization], depths: Sequence[int], log2_lrs: Sequence[float],
             *, widths: Sequence[int] = (128,), seeds: Sequence[int] = (0, 1), block_layers: int = 2,
             optimizer: str = "adam", steps: int = 100, batch_size: int = 128, base_width: int | None = None,
             base_depth: int = 1, train: str = "hidden", model: str | None = None, batched: bool = True,
             executor: Any = None, cache_dir: Any = None, fresh: bool = False,
             progress: bool | None = None) -> LRSweepResult:
    """LR x depth x width sweep of residual networks on ``task`` (``docs/depth.md``, sweep A).

    Cells must be JSON-able (they are cached and may run on other processes or Ray), so your own data
    and network are named by import path: ``task`` is "teacher", "digits" or ``"pkg.module:make_task"``
    (a function of no argument returning a :class:`Task`); ``model`` is None (:class:`ResidualMLP`) or
    ``"pkg.module:build"`` called like ``ResidualMLP(in_dim, width, depth, out_dim, block_layers=...,
    scheme=..., base_width=..., base_depth=..., seed=...)`` and returning a parametrised network.

    Parameters
    ----------
    task : str
    schemes : dict
        ``{label: Parametrization}``.
    depths, widths, seeds : sequence of int
        The grid (NumPy integers accepted; distinct values; seeds >= 0).
    log2_lrs : sequence of float
        Base LRs as log2: at least 3 finite distinct values, any order (the result is sorted).
    block_layers : int, default 2
    optimizer : {"adam", "sgd"}
    steps, batch_size : int
    base_width : int, optional
        n0 (default: the smallest width).
    base_depth : int, default 1
    train : {"hidden", "all"}
        "hidden" freezes stem and readout (as TP6 does).
    model : str, optional
    batched : bool, default True
        Train all LRs of one (scheme, width, depth, seed) as one stacked model (one cell); False runs
        one cell per network. Same numbers up to float32 round-off; use False for a user model that
        ``torch.func.vmap`` cannot handle.
    executor : Executor, "local", "ray" or None
        A ``stablelearn.runtime`` executor or its name (default in-process).
    cache_dir : path, optional
        Folder of finished cells (resume).
    fresh : bool
        Recompute finished cells.
    progress : bool or None
        The progress bar rule of ``stablelearn._conventions.progress_disabled``.

    Returns
    -------
    LRSweepResult
    """
    from stablelearn.runtime import Executor, get_executor, sweep

    if not isinstance(task, str) or (task not in TASKS and ":" not in task):
        raise ValueError(f"task must be one of {TASKS} or 'package.module:function', got {task!r}")
    if task not in TASKS:
        _resolve(task, "task")
    if model is not None:
        _resolve(model, "model")
    if not isinstance(schemes, dict) or not schemes:
        raise ValueError("schemes must be a non-empty dict {label: Parametrization}")
    for sch in schemes.values():
        check_scheme(sch)
    check_choice(train, "train", ("hidden", "all"))
    depths = _ints(depths, "depths", 1)
    widths = _ints(widths, "widths", 1)
    seeds = _ints(seeds, "seeds", 0)
    grid = check_array(log2_lrs, "log2_lrs", ndim=1, min_size=3)
    if len(set(grid.tolist())) != len(grid):
        raise ValueError(f"log2_lrs must be distinct, got {grid.tolist()}")
    grid = sorted(float(v) for v in grid)
    block_layers = check_int(block_layers, "block_layers", low=1)
    steps = check_int(steps, "steps", low=0)
    batch_size = check_int(batch_size, "batch_size", low=1)
    base_depth = check_int(base_depth, "base_depth", low=1)
    n0 = check_int(base_width, "base_width", low=1) if base_width is not None else min(widths)
    batched = check_bool(batched, "batched")
    fresh = check_bool(fresh, "fresh")
    opt = check_optimizer(optimizer)
    if isinstance(executor, str):
        executor = get_executor(executor)
    elif executor is not None and not isinstance(executor, Executor):
        raise TypeError(f"executor must be a stablelearn.runtime Executor, 'local', 'ray' or None, got {executor!r}")
    labels = list(schemes)
    base = {"task": task, "block_layers": block_layers, "base_width": n0, "base_depth": base_depth,
            "optimizer": opt, "steps": steps, "batch_size": batch_size, "train": train,
            **({"model": model} if model else {})}
    groups = [{**base, "scheme": schemes[s].to_dict(), "width": w, "depth": d}
              for s in labels for w in widths for d in depths]
    shape = (len(labels), len(widths), len(depths), len(grid), len(seeds))
    if batched:     # one cell per (scheme, width, depth, seed): all LRs of one initialisation and data order
        cells = [{**g, "log2_lrs": grid, "seeds": [k]} for g in groups for k in seeds]
        fn, desc = train_group, "lr sweep (batched)"
    else:
        cells = [{**g, "log2_lr": e, "seed": k} for g in groups for e in grid for k in seeds]
        fn, desc = train_cell, "lr sweep"
    # the costliest cells first, so that a pool's workers finish together; results back in grid order
    order = sorted(range(len(cells)), key=lambda i: -cells[i]["depth"] * cells[i]["block_layers"] * cells[i]["width"] ** 2)
    done = sweep(fn, [cells[i] for i in order], executor=executor, cache_dir=cache_dir, fresh=fresh, desc=desc,
                 progress=progress)
    outs = [None] * len(cells)
    for i, o in zip(order, done):
        outs[i] = o

    def gather(key: str, dtype: Any) -> np.ndarray:
        if not batched:
            return np.array([o[key] for o in outs], dtype=dtype).reshape(shape)
        per_seed = np.array([[row[0] for row in o[key]] for o in outs], dtype=dtype)    # [group x seed, lr]
        return per_seed.reshape(len(groups), len(seeds), len(grid)).transpose(0, 2, 1).reshape(shape)

    return LRSweepResult(labels, widths, depths, grid, seeds, gather("final_loss", float), gather("status", object))
