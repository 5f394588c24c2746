"""``StabilityMonitor``: the Learning Stability Profile inside any PyTorch training loop.

Cheap metrics (gradient, weight and output norms, update/weight ratio) run every ``cheap_every`` steps; the
spectral check runs every ``every`` steps, or as often as an overhead budget allows. A check *tracks* the
sharpness rather than re-measuring it: Lanczos starts from the previous check's Ritz vector on a fixed probe
subsample and stops as soon as the Ritz residual is below ``tol`` relative (one to a few Hessian-vector
products; :mod:`~stablelearn.stability.tracking`). The exact cold measurement stays
:func:`~stablelearn.stability.sharpness` and :func:`~stablelearn.stability.profile` (docs/stability.md,
"Monitor").
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from stablelearn._conventions import check_choice, check_float, check_int, torch_generator

from ._functional import (
    HessianOperator,
    LossFn,
    ParamSpace,
    Seed,
    as_batches,
    aux_seeds,
    check_loss_fn,
    measurement_mode,
    random_unit,
    total_loss,
)
from .energy import incremental_energy
from .history import MonitorHistory, json_line
from .laws import contraction_factor
from .optim import OptimizerInfo, optimizer_info, unwrap_optimizer
from .spectral import input_jacobian_norm, lambda_min, sharpness
from .tracking import SharpnessTracker

__all__ = ["Alert", "MonitorHistory", "StabilityAlert", "StabilityMonitor", "StabilityWarning"]

CHEAP_METRICS = ("grad_norm", "weight_norm", "update_ratio", "output_norm")
CHECK_METRICS = ("sharpness", "probe_loss", "lambda_min", "input_jacobian", "batch_sharpness", "energy")
DEFAULT_METRICS = ("sharpness", "probe_loss", "grad_norm", "weight_norm", "update_ratio", "output_norm")


class StabilityWarning(UserWarning):
    """Issued by ``StabilityMonitor`` with ``alerts="warn"``."""


class StabilityAlert(RuntimeError):
    """Raised by ``StabilityMonitor`` with ``alerts="raise"``; ``.alert`` holds the ``Alert``."""

    def __init__(self, alert: "Alert") -> None:
        super().__init__(alert.message)
        self.alert = alert


@dataclass
class Alert:
    """One alert of the monitor.

    Attributes
    ----------
    kind : str
        ``"margin"`` (sharpness above the edge for ``patience`` checks), ``"energy"`` (the probe loss rose for
        ``patience`` checks), ``"exponent"`` (running local exponent > 0 for ``patience`` checks) or ``"nan"``.
    step : int
    value : float
    message : str
    """

    kind: str
    step: int
    value: float
    message: str


def _total_norm(tensors: Sequence[torch.Tensor]) -> float:
    return float(torch.nn.utils.get_total_norm(tensors, 2.0)) if tensors else math.nan




def _distributed() -> tuple[int, int]:
    """(rank, world size) of the default process group, (0, 1) without one."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _broadcast(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every rank gets rank 0's probe (same shapes required), so all ranks measure the same probe."""
    dist = torch.distributed
    shapes = [(tuple(x.shape), tuple(y.shape)) for x, y in batches]
    gathered: list = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, shapes)
    if any(g != gathered[0] for g in gathered):
        raise ValueError(f"probe: the ranks hold probes of different shapes {gathered}; pass the same probe shapes")
    out = []
    for x, y in batches:
        x, y = x.clone(), y.clone()
        dist.broadcast(x, src=0)
        dist.broadcast(y, src=0)
        out.append((x, y))
    return out


def _subsample(batches: list, size: int | None, seed: Seed) -> list:
    """A fixed subsample of ``size`` probe rows (drawn once from ``seed``), as one chunk."""
    if size is None:
        return batches
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    if size > x.shape[0]:
        raise ValueError(f"probe_size must be <= the number of probe rows {x.shape[0]}, got {size}")
    idx = torch.randperm(x.shape[0], generator=torch_generator(seed))[:size].sort().values.to(x.device)
    return [(x[idx], y[idx])]


class StabilityMonitor:
    """Track the stability profile during training; call ``on_step(step, optimizer)`` after each optimizer step.

    Parameters
    ----------
    model : nn.Module
        The trained model (a ``DistributedDataParallel`` wrapper is unwrapped).
    loss_fn : callable
        A mean-reduced ``loss_fn(outputs, targets)``.
    probe : tuple or iterable
        A fixed ``(inputs, targets)`` pair (tensors or NumPy arrays) or DataLoader: the probe set of every check.
        Under ``torch.distributed`` every rank measures rank 0's probe (it is broadcast once).
    every : int, optional
        Run the spectral check every ``every`` steps. None (default) schedules checks and cheap metrics from
        ``overhead``: each runs when its share of ``overhead * train_time`` minus the time already spent on it
        covers its last measured cost (cheap metrics 25 %, checks 75 %); the first check runs at the first call
        and is paid back from the budget.
    overhead : float
        The budget in (0, 1] of extra wall time when ``every`` is None (default 0.1 = 10 %).
    metrics : str or sequence of str
        Checks: ``"sharpness"``, ``"probe_loss"``, ``"lambda_min"``, ``"input_jacobian"``, ``"batch_sharpness"``
        (top eigenvalue of the mini-batch Hessian averaged over ``n_batches`` probe batches of ``batch_size``
        rows), ``"energy"`` (tangent window: see ``window``). Cheap: ``"grad_norm"``, ``"weight_norm"``,
        ``"update_ratio"``, ``"output_norm"``.
    alerts : str or callable
        ``"warn"`` (``StabilityWarning``), ``"raise"`` (``StabilityAlert``), ``"off"``, or a callable(Alert).
    patience : int
        Consecutive checks of a margin > 1 / rising probe loss / positive exponent that fire an alert.
    iters : int
        Lanczos budget of a check (keeps ``iters`` vectors of the parameter size in memory).
    tol : float
        Tracking tolerance (default 0.05): every check stops when the Ritz residual is at most ``tol`` relative,
        so the estimate lies within ``tol`` relative of *an* eigenvalue of the probe Hessian; being a Ritz
        value it is also at most the top one (the error to the top is one-sided). The first check starts cold;
        later checks go on from the previous check's vector (see ``tracking``). Measured accuracy against
        exact eigenvalues: docs/stability.md, "Monitor".
    tracking, refresh_every, audit_every
        How a check goes on from the previous one (:class:`~stablelearn.stability.tracking.SharpnessTracker`):
        ``"power"`` (default) costs one HVP while the stored vector is still within ``tol`` and otherwise
        continues Lanczos from it; every ``refresh_every`` checks (default 10) and at every check with
        ``"lanczos"`` the start mixes in the gradient direction. ``audit_every`` (default None) adds, every so
        many checks, a fixed-length Lanczos from a fresh random vector (within ``tol`` of the top eigenvalue,
        relative to the spectral spread, with probability >= 99 %): the larger value is reported and the
        audit's value goes in the ``audit_sharpness`` column.
    seed : None, int or Generator
        Seeds the first start vector, the probe subsample and the tangent direction (independent streams).
    chunk_size : int, optional
        Rows per HVP chunk of the probe.
    mode : str
        BatchNorm/dropout semantics of the checks: ``"eval"`` (default: frozen BN statistics, dropout off; the
        model's modes are restored afterwards) or ``"train"``.
    max_every : int
        With a budget, a check runs at least every ``max_every`` steps.
    log_dir : str or Path, optional
        Rows are appended to ``log_dir/stability.jsonl`` as they come, and to TensorBoard (tags
        ``stability/<column>``) when ``torch.utils.tensorboard`` is importable. Under ``torch.distributed`` only
        rank 0 writes.
    probe_size : int, optional
        Use a fixed subsample of this many probe rows (drawn once from ``seed``).
    cheap_every : int
        With a fixed ``every``, the cheap metrics run every ``cheap_every`` steps (default 1).
    batch_size, n_batches : int
        Mini-batches of the batch sharpness (the first ``n_batches`` of ``batch_size`` rows of the probe).
    window : int
        Steps of the tangent window that starts at each check when ``"energy"`` is on (GD and heavy ball):
        a tangent delta and the learning-rate tangent u = d theta / d eta are propagated with the probe
        Hessian at the current weights, one HVP each per step; at the window's end the row holds
        ``energy_max_ratio`` (max E_{t+1}/E_t), ``energy_certified`` (1 if every ratio <= 1), ``tangent_growth``
        (||delta_T||/||delta_0||) and ``s_upd`` (||u_T||, the update-mechanism sensitivity).

    Notes
    -----
    The optimizer-aware edge (GD 2/eta, heavy ball (2+2beta)/eta, Adam 38/eta on the preconditioned sharpness)
    is re-read from the optimizer at every check, so schedulers are followed; ``lr = 0`` gives an infinite
    edge and margin 0. Measurements switch ``torch.autocast`` off (float32 HVPs under AMP).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        probe: Any,
        *,
        every: int | None = None,
        overhead: float = 0.1,
        metrics: str | Sequence[str] = DEFAULT_METRICS,
        alerts: str | Callable[[Alert], None] = "warn",
        patience: int = 3,
        iters: int = 20,
        tol: float = 0.05,
        seed: Seed = 0,
        chunk_size: int | None = None,
        mode: str = "eval",
        max_every: int = 10_000,
        log_dir: str | Path | None = None,
        probe_size: int | None = None,
        cheap_every: int = 1,
        batch_size: int = 64,
        n_batches: int = 4,
        window: int = 10,
        tracking: str = "power",
        refresh_every: int | None = 10,
        audit_every: int | None = None,
    ) -> None:
        self.space = ParamSpace(model)
        self.model, self.loss_fn = self.space.model, check_loss_fn(loss_fn)
        self.overhead = check_float(overhead, "overhead", low=0.0, high=1.0, low_inclusive=False)
        self.every = None if every is None else check_int(every, "every", low=1)
        self.max_every = check_int(max_every, "max_every", low=1)
        self.cheap_every = check_int(cheap_every, "cheap_every", low=1)
        if isinstance(metrics, str):
            metrics = (metrics,)
        if not isinstance(metrics, (list, tuple)) or not all(isinstance(m, str) for m in metrics):
            raise TypeError(f"metrics must be a metric name or a sequence of names, got {metrics!r}")
        unknown = set(metrics) - set(CHEAP_METRICS) - set(CHECK_METRICS)
        if unknown:
            raise ValueError(f"metrics: unknown names {sorted(unknown)}; choose from {CHEAP_METRICS + CHECK_METRICS}")
        self.metrics = tuple(metrics)
        self._has_cheap = any(m in self.metrics for m in CHEAP_METRICS)
        self._has_check = any(m in self.metrics for m in CHECK_METRICS)
        if not callable(alerts):
            check_choice(alerts, "alerts", ("warn", "raise", "off"))
        self.alerts = alerts
        self.patience = check_int(patience, "patience", low=1)
        self.iters = check_int(iters, "iters", low=1)
        self.tol = check_float(tol, "tol", low=0.0, low_inclusive=False)
        self.mode = check_choice(mode, "mode", ("eval", "train"))
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.n_batches = check_int(n_batches, "n_batches", low=1)
        self.window = check_int(window, "window", low=1)
        probe_size = None if probe_size is None else check_int(probe_size, "probe_size", low=1)
        self.seed = seed
        start_seed, probe_seed, tangent_seed = aux_seeds(seed, 3)
        self.rank, self.world = _distributed()
        batches = as_batches(probe, chunk_size=chunk_size, device=self.space.device, dtype=self.space.dtype)
        if self.world > 1:
            batches = _broadcast(batches)
        self.probe = _subsample(batches, probe_size, probe_seed)
        if probe_size is not None and chunk_size is not None:
            self.probe = as_batches(self.probe[0], chunk_size=chunk_size)
        with measurement_mode(self.model, self.mode):
            loss0 = total_loss(self.space, self.loss_fn, self.probe)
        if not math.isfinite(loss0):
            raise ValueError(f"probe: the probe loss is not finite at the start ({loss0})")
        self._start_seed, self._tangent_seed = start_seed, tangent_seed
        self.history = MonitorHistory()
        self.history.layer_names = list(self.space.names)
        self.fired: list[Alert] = []
        self.tracker = SharpnessTracker(self.space.size, self.space.dtype, self.space.device, tol=tol, iters=iters,
                                        tracking=tracking, refresh_every=refresh_every, audit_every=audit_every,
                                        seed=start_seed)
        self._streaks = {"margin": 0, "energy": 0, "exponent": 0}
        self._last_loss: float | None = None
        self._log_rho: list[float] = []
        self._prev = [p.detach().clone() for p in self.space.params()] if "update_ratio" in self.metrics else None
        self._prev_norm: float | None = _total_norm(self._prev) if self._prev else None
        self._last_output: torch.Tensor | None = None
        self._hook = self.model.register_forward_hook(self._record_output) if "output_norm" in self.metrics else None
        self._window: dict | None = None
        self._last_check: int | None = None
        self._last_call: float | None = None
        self._last_call_step = 0
        self._cost = {"cheap": math.nan, "check": math.nan}  # estimated cost (s): max of the last 3
        self._recent: dict[str, list[float]] = {"cheap": [], "check": []}
        self._spent = {"cheap": 0.0, "check": 0.0}
        self.train_time = 0.0  # wall time between on_step calls (the user's training)
        self.monitor_time = 0.0  # wall time inside on_step
        self._jsonl = self._writer = None
        if log_dir is not None and self.rank == 0:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            self._jsonl = (Path(log_dir) / "stability.jsonl").open("a")
            try:
                from torch.utils.tensorboard import SummaryWriter  # noqa: PLC0415

                self._writer = SummaryWriter(str(log_dir))
            except ImportError:
                self._writer = None

    # --- cheap metrics -------------------------------------------------------------------------------
    def _record_output(self, module: nn.Module, inputs: tuple, output: object) -> None:
        if isinstance(output, torch.Tensor) and module.training:
            self._last_output = output.detach()  # its norm is taken only when the cheap metrics run

    def _cheap(self, row: dict[str, float]) -> None:
        params = [p.detach() for p in self.space.params()]
        if "grad_norm" in self.metrics:
            row["grad_norm"] = _total_norm([p.grad for p in self.space.params() if p.grad is not None])
        if "weight_norm" in self.metrics or self._prev is not None:
            row["weight_norm"] = _total_norm(params)
        if self._prev is not None:
            # ||theta - theta_prev|| / ||theta_prev||, theta_prev = the weights at the previous cheap measurement
            diff = _total_norm([prev.sub_(p) for prev, p in zip(self._prev, params)])
            if self._prev_norm is not None:
                row["update_ratio"] = diff / max(self._prev_norm, 1e-300)
            for prev, p in zip(self._prev, params):
                prev.copy_(p)
            self._prev_norm = row["weight_norm"]
        if "output_norm" in self.metrics:
            out = self._last_output
            row["output_norm"] = math.nan if out is None else float(out.norm()) / math.sqrt(max(out.shape[0], 1))

    # --- spectral check ------------------------------------------------------------------------------
    def _solve(self, key: str, fn: Callable, *args: Any, **kw: Any):
        est = fn(*args, iters=self.iters, tol=self.tol, seed=self._start_seed, vector=self.tracker.vectors.get(key),
                 mode=self.mode, **kw)
        self.tracker.vectors[key] = est.vector
        return est

    def _gradient(self) -> torch.Tensor | None:
        grads = [p.grad for p in self.space.params()]
        return torch.cat([g.detach().reshape(-1) for g in grads]) if all(g is not None for g in grads) else None

    def _check(self, step: int, optimizer: torch.optim.Optimizer | None, row: dict[str, float]) -> None:
        row["check"] = 1
        info = optimizer_info(optimizer, None, self.space) if optimizer is not None else None
        if info is not None:
            row["lr"], row["edge"] = info.lr, info.edge
        with measurement_mode(self.model, self.mode):
            op = HessianOperator(self.space, self.loss_fn, self.probe)
            if "sharpness" in self.metrics:
                if op.hvp_mode == "retained":
                    op.build()  # the probe loss comes with the gradient graph
                top = self.tracker.track(op, "sharpness", self._gradient())
                row["sharpness"], row["hvps"] = top.value, top.matvecs
                if self.tracker.last_audit is not None:
                    row["audit_sharpness"] = self.tracker.last_audit
                self._margin(row, info, top.value)
            if "probe_loss" in self.metrics:
                row["probe_loss"] = op.loss if op.loss is not None else total_loss(self.space, self.loss_fn, self.probe)
            if "batch_sharpness" in self.metrics:
                row["batch_sharpness"] = self._batch_sharpness()
            if "energy" in self.metrics and info is not None and self._window is None:
                self._open_window(step, info)
        if "lambda_min" in self.metrics:
            low = self._solve("lambda_min", lambda_min, self.model, self.loss_fn, self.probe)
            row["lambda_min"] = low.value
            if info is not None and info.kind == "gd" and "sharpness" in row and math.isfinite(low.value) \
                    and info.lr > 0:
                rho = contraction_factor(info.lr, min(low.value, row["sharpness"]), row["sharpness"])
                row["contraction"] = rho
                self._log_rho.append(math.log(max(rho, 1e-300)))
                row["exponent"] = float(np.mean(self._log_rho))
        if "input_jacobian" in self.metrics:
            x = torch.cat([b[0] for b in self.probe])
            row["input_jacobian"] = self._solve("input_jacobian", input_jacobian_norm, self.model, x).value
        grads = [p.grad for p in self.space.params()]
        self.history.layer_rows.append(
            (step, np.array([float(g.norm()) if g is not None else math.nan for g in grads])))
        self._alerts(step, row)

    def _margin(self, row: dict[str, float], info: OptimizerInfo | None, top: float) -> None:
        if info is None:
            return
        measured = top
        if info.kind == "adam":
            measured = math.nan
            if info.preconditioner is not None:
                pre = self._solve("precond", sharpness, self.model, self.loss_fn, self.probe,
                                  preconditioner=info.preconditioner)
                row["precond_sharpness"] = measured = pre.value
        row["margin"] = measured / info.edge

    def _batch_sharpness(self) -> float:
        """Mean over the first ``n_batches`` probe mini-batches of lambda_max(H_B), each tracked from its own
        previous Ritz vector (the full-probe vector at the first check)."""
        x = torch.cat([b[0] for b in self.probe])
        y = torch.cat([b[1] for b in self.probe])
        values = []
        for i in range(min(self.n_batches, math.ceil(x.shape[0] / self.batch_size))):
            sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
            op = HessianOperator(self.space, self.loss_fn, [(x[sl], y[sl])])
            key = f"batch{i}"
            vectors = self.tracker.vectors
            if key not in vectors and "sharpness" in vectors:
                vectors[key] = vectors["sharpness"]
            values.append(self.tracker.track(op, key, self._gradient()).value)
        return float(np.mean(values))

    # --- tangent window (energy, S_upd) --------------------------------------------------------------
    def _open_window(self, step: int, info: OptimizerInfo) -> None:
        if info.kind not in ("gd", "heavy_ball"):
            return  # the tangent map of Adam's update is not implemented (docs/stability.md, "Monitor")
        delta = random_unit(self.space.size, self._tangent_seed, self.space.dtype, self.space.device)
        zero = torch.zeros_like(delta)
        self._window = {"start": step, "delta": delta, "dm": zero, "u": zero.clone(), "um": zero.clone(),
                        "energies": [1.0]}

    def _window_step(self, step: int, optimizer: torch.optim.Optimizer | None, row: dict[str, float]) -> None:
        """One step of delta' = delta - eta (beta dm + H delta) and u' = u - m' - eta (beta um + H u) (heavy ball;
        beta = 0 for GD), with H the probe Hessian at the current weights and m' the optimizer's update
        direction (the gradient for GD, the momentum buffer for heavy ball)."""
        w = self._window
        info = optimizer_info(optimizer, None, self.space) if optimizer is not None else None
        if info is None or info.kind not in ("gd", "heavy_ball"):
            self._window = None
            return
        with measurement_mode(self.model, self.mode):
            op = HessianOperator(self.space, self.loss_fn, self.probe)
            h_delta, h_u = op(w["delta"]), op(w["u"])
        beta, eta = info.beta, info.lr
        direction = self._update_direction(optimizer, info)
        w["dm"] = beta * w["dm"] + h_delta
        w["delta"] = w["delta"] - eta * w["dm"]
        w["um"] = beta * w["um"] + h_u
        w["u"] = w["u"] - direction - eta * w["um"]
        w["energies"].append(float(w["delta"] @ w["delta"]))
        if step - w["start"] >= self.window or not torch.isfinite(w["delta"]).all():
            e = np.asarray(w["energies"])
            if np.isfinite(e).all() and e.size >= 2:
                rep = incremental_energy(e)
                row.update(energy_max_ratio=rep.max_ratio, energy_certified=float(rep.certified),
                           tangent_growth=float(math.sqrt(e[-1])), s_upd=float(w["u"].norm()))
            self._window = None

    def _update_direction(self, optimizer: torch.optim.Optimizer, info: OptimizerInfo) -> torch.Tensor:
        parts = []
        for p in self.space.params():
            buf = optimizer.state.get(p, {}).get("momentum_buffer") if info.kind == "heavy_ball" else None
            g = buf if buf is not None else p.grad
            parts.append(torch.zeros_like(p).reshape(-1) if g is None else g.detach().reshape(-1))
        return torch.cat(parts).to(self.space.dtype)

    # --- alerts --------------------------------------------------------------------------------------
    def _fire(self, kind: str, step: int, value: float, message: str) -> None:
        alert = Alert(kind, step, value, message)
        self.fired.append(alert)
        if self.alerts == "warn":
            warnings.warn(message, StabilityWarning, stacklevel=4)
        elif self.alerts == "raise":
            raise StabilityAlert(alert)
        elif callable(self.alerts):
            self.alerts(alert)

    def _streak(self, kind: str, condition: bool, step: int, value: float, message: str) -> None:
        self._streaks[kind] = self._streaks[kind] + 1 if condition else 0
        if self._streaks[kind] == self.patience:
            self._fire(kind, step, value, message)

    def _alerts(self, step: int, row: dict[str, float]) -> None:
        if "margin" in row and math.isfinite(row["margin"]):
            self._streak("margin", row["margin"] > 1, step, row["margin"],
                         f"step {step}: sharpness above the optimizer's edge for {self.patience} checks "
                         f"(margin {row['margin']:.3f}); a local linear instability flag")
        if "probe_loss" in row:
            loss = row["probe_loss"]
            if not math.isfinite(loss):
                self._fire("nan", step, loss, f"step {step}: the probe loss is {loss}")
            elif self._last_loss is not None:
                self._streak("energy", loss > self._last_loss, step, loss,
                             f"step {step}: the probe loss (energy) rose for {self.patience} consecutive checks")
            self._last_loss = loss
        if "exponent" in row:
            self._streak("exponent", row["exponent"] > 0, step, row["exponent"],
                         f"step {step}: the running local stability exponent is {row['exponent']:.3g} > 0")

    # --- entry point ---------------------------------------------------------------------------------
    def on_step(self, step: int, optimizer: torch.optim.Optimizer | None = None) -> dict[str, float] | None:
        """Record training step ``step`` (call it after ``optimizer.step()``).

        Parameters
        ----------
        step : int
            The step index (>= 0).
        optimizer : torch.optim.Optimizer, optional
            Gives the learning rate and the edge (any ``lr >= 0``).

        Returns
        -------
        dict or None
            The history row, or None when nothing was measured at this step.
        """
        step = check_int(step, "step", low=0)
        optimizer = None if optimizer is None else unwrap_optimizer(optimizer)
        if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        t0 = time.perf_counter()
        self._last_call_step = step
        if self._last_call is not None:
            self.train_time += t0 - self._last_call  # the training between two calls, monitor time excluded
        row: dict[str, float] | None = None
        if self._has_cheap and self._due("cheap", step):
            row = {"step": step, "check": 0}
            self._cheap(row)
            self._spend("cheap", time.perf_counter() - t0)
            if any(not math.isfinite(row.get(k, 0.0)) for k in ("grad_norm", "weight_norm")):
                self._fire("nan", step, math.nan, f"step {step}: non-finite gradients or weights")
        if self._window is not None and step > self._window["start"]:
            row = row if row is not None else {"step": step, "check": 0}
            c0 = time.perf_counter()
            self._window_step(step, optimizer, row)
            self._spend("check", time.perf_counter() - c0, estimate=False)
        if self._has_check and self._due("check", step):
            c0 = time.perf_counter()
            row = row if row is not None else {"step": step, "check": 0}
            self._check(step, optimizer, row)
            self._spend("check", time.perf_counter() - c0)
            self._last_check = step
        if row is not None:
            self.history.rows.append(row)
            self._log(row)
        self._last_call = time.perf_counter()
        self.monitor_time += self._last_call - t0
        return row

    # A share of the overhead budget for the cheap metrics; the rest pays for the spectral checks.
    CHEAP_SHARE = 0.25

    def _spend(self, kind: str, dt: float, estimate: bool = True) -> None:
        """Charge ``dt`` to ``kind``; its cost estimate is the max of the last 3 costs (conservative: a cold
        or slow check is not underestimated)."""
        self._spent[kind] += dt
        if estimate:
            self._recent[kind] = (self._recent[kind] + [dt])[-3:]
            self._cost[kind] = max(self._recent[kind])

    def _due(self, kind: str, step: int) -> bool:
        """Fixed ``every`` (cheap metrics then every ``cheap_every`` steps), or the overhead budget: run when
        the time accrued for this kind, share * overhead * training time - time spent on it so far, covers
        its last measured cost. Both run at the first call; a check runs at least every ``max_every`` steps."""
        last = self._last_check if kind == "check" else None
        if self.every is not None:
            if kind == "cheap":
                return step % self.cheap_every == 0
            return last is None or step - last >= self.every
        if math.isnan(self._cost[kind]) or (kind == "check" and step - last >= self.max_every):
            return True
        share = self.CHEAP_SHARE if kind == "cheap" else 1 - self.CHEAP_SHARE
        return share * self.overhead * self.train_time - self._spent[kind] >= self._cost[kind]

    @property
    def effective_every(self) -> float:
        """Steps per check at the current costs: check time / (overhead * mean training step time)."""
        if self.every is not None:
            return float(self.every)
        steps = max(self._last_call_step, 1)
        return self._cost["check"] / max((1 - self.CHEAP_SHARE) * self.overhead * self.train_time / steps, 1e-12)

    def _log(self, row: dict[str, float]) -> None:
        if self._jsonl is not None:
            self._jsonl.write(json_line(row))
            self._jsonl.flush()
        if self._writer is not None:
            for k, v in row.items():
                if k not in ("step", "check") and isinstance(v, (int, float)) and math.isfinite(v):
                    self._writer.add_scalar(f"stability/{k}", v, row["step"])

    def close(self) -> None:
        """Remove the forward hook and close the log files (flushing TensorBoard's event file)."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        for fh in (self._jsonl, self._writer):
            if fh is not None:
                fh.close()
        self._jsonl = self._writer = None

    def plot(self) -> Any:
        """A matplotlib Figure: sharpness against the edge, the profile over time (log y), the per-layer
        gradient-norm heat map, the probe-loss energy ratios and the running exponent against the horizon.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt  # noqa: PLC0415

        checks = self.history.checks()
        fig, ax = plt.subplots(2, 3, figsize=(14, 7))
        ax = ax.ravel()
        cols = checks.columns
        steps = checks.column("step") if len(checks) else np.zeros(0)
        if "sharpness" in cols:
            ax[0].plot(steps, checks.column("sharpness"), "o-", label="sharpness")
            if "batch_sharpness" in cols:
                ax[0].plot(steps, checks.column("batch_sharpness"), "^-", label="batch sharpness")
            if "precond_sharpness" in cols:
                ax[0].plot(steps, checks.column("precond_sharpness"), "s-", label="preconditioned")
            if "edge" in cols:
                ax[0].plot(steps, checks.column("edge"), "k--", label="edge (2/eta, ...)")
            ax[0].legend()
        ax[0].set_title("sharpness vs edge")
        all_steps = self.history.column("step") if len(self.history) else np.zeros(0)
        for name in ("grad_norm", "weight_norm", "output_norm", "update_ratio"):
            if name in self.history.columns:
                ax[1].semilogy(all_steps, self.history.column(name), label=name)
        for name in ("input_jacobian", "sharpness"):
            if name in cols:
                ax[1].semilogy(steps, checks.column(name), "o", label=name)
        ax[1].set_title("profile over time")
        ax[1].legend(fontsize=7)
        if self.history.layer_rows:
            heat = np.array([r[1] for r in self.history.layer_rows]).T
            ax[2].imshow(np.log10(heat + 1e-30), aspect="auto", interpolation="nearest")
            ax[2].set_ylabel("parameter tensor")
        ax[2].set_title("log10 per-layer grad norm (checks)")
        if "probe_loss" in cols and len(checks) > 1:
            loss = checks.column("probe_loss")
            ax[3].plot(steps[1:], loss[1:] / loss[:-1], "o-")
            ax[3].axhline(1.0, color="k", ls="--")
        ax[3].set_title("energy ratio (probe loss)")
        if "exponent" in cols:
            ax[4].plot(steps, checks.column("exponent"), "o-")
            ax[4].axhline(0.0, color="k", ls="--")
        else:
            ax[4].text(0.5, 0.5, "enable metric 'lambda_min' (GD/SGD)", ha="center", transform=ax[4].transAxes)
        ax[4].set_title("running local exponent vs horizon")
        if "margin" in cols:
            ax[5].plot(steps, checks.column("margin"), "o-")
            ax[5].axhline(1.0, color="k", ls="--")
        ax[5].set_title("margin (sharpness / edge)")
        fig.tight_layout()
        return fig
