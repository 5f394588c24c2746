"""``StabilityMonitor``: the Learning Stability Profile inside any PyTorch training loop (spec §7).

Cheap always-on metrics (gradient, weight and output norms, update/weight ratio) run on every step; the
spectral check (warm-started sharpness, optionally lambda_min and ||J_x||, the probe loss) runs every
``every`` steps, chosen from an overhead budget when not given (spec §2 "overhead rule").
"""

from __future__ import annotations

import csv
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._functional import (
    LossFn,
    ParamSpace,
    as_batches,
    check_positive_float,
    check_positive_int,
    measurement_mode,
    total_loss,
)
from .laws import contraction_factor
from .optim import optimizer_info
from .spectral import input_jacobian_norm, lambda_min, sharpness

__all__ = ["Alert", "MonitorHistory", "StabilityAlert", "StabilityMonitor", "StabilityWarning"]

CHEAP_METRICS = ("grad_norm", "weight_norm", "update_ratio", "output_norm")
CHECK_METRICS = ("sharpness", "probe_loss", "lambda_min", "input_jacobian")
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
    """``kind``: "margin" (sharpness above the edge for ``patience`` checks), "energy" (the probe loss rose
    for ``patience`` checks), "exponent" (running local exponent > 0 for ``patience`` checks) or "nan"."""

    kind: str
    step: int
    value: float
    message: str


class MonitorHistory:
    """A pandas-free table: one row per ``on_step`` call (check columns are NaN between checks)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.layer_rows: list[tuple[int, np.ndarray]] = []
        self.layer_names: list[str] = []

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def columns(self) -> list[str]:
        cols: dict[str, None] = {}
        for r in self.rows:
            cols.update(dict.fromkeys(r))
        return list(cols)

    def column(self, name: str) -> np.ndarray:
        """The column ``name`` as a float array (NaN where a row has no value)."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns are {self.columns}")
        return np.array([r.get(name, np.nan) for r in self.rows], dtype=float)

    def checks(self) -> "MonitorHistory":
        """The rows where the spectral check ran."""
        out = MonitorHistory()
        out.rows = [r for r in self.rows if r.get("check", 0) == 1]
        return out

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)
        return path

    def to_jsonl(self, path: str | Path) -> Path:
        path = Path(path)
        with path.open("w") as fh:
            for r in self.rows:
                fh.write(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}) + "\n")
        return path


class StabilityMonitor:
    """Track the stability profile during training; call ``on_step(step, optimizer)`` after each optimizer step.

    Parameters
    ----------
    model, loss_fn: the trained model and a mean-reduced ``loss_fn(outputs, targets)``.
    probe: a fixed ``(inputs, targets)`` pair or DataLoader: the probe set of every check (spec §2).
    every: run the spectral check every ``every`` steps (and the cheap metrics every step); None (default)
        schedules both from ``overhead``: each runs when its share of ``overhead * train_time`` minus the
        time already spent on it covers its last measured cost (cheap metrics 25 %, checks 75 %), so the
        monitor's total time stays near ``overhead`` x the training time (spec §2 "overhead rule"). The
        first check runs at the first call and is paid back from the budget, so on runs shorter than about
        (cold check time / overhead) the overhead exceeds the budget.
    overhead: the budget in (0, 1] of extra wall time (default 0.1 = 10 %).
    max_every: a check runs at least every ``max_every`` steps even over budget.
    metrics: any of "sharpness", "probe_loss", "lambda_min", "input_jacobian" (checks) and "grad_norm",
        "weight_norm", "update_ratio", "output_norm" (cheap, every step).
    alerts: "warn" (``StabilityWarning``), "raise" (``StabilityAlert``), "off", or a callable(Alert).
    patience: the k consecutive checks of a margin > 1 / rising probe loss / positive exponent that fire an alert.
    iters, tol: Lanczos budget of a check (warm-started from the previous eigenvector; keeps ``iters``
        vectors of the parameter size in memory).
    mode: BatchNorm/dropout semantics of the checks (spec §7): "eval" (default: frozen BN statistics,
        dropout off; the model's modes are restored afterwards) or "train".
    log_dir: when given, rows are appended to ``log_dir/stability.jsonl`` as they come, and to TensorBoard
        when ``torch.utils.tensorboard`` is importable.

    The optimizer-aware edge (GD 2/eta, heavy ball (2+2beta)/eta, Adam 38/eta on the preconditioned
    sharpness) is re-read from the optimizer at every check, so schedulers are followed.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        probe,
        *,
        every: int | None = None,
        overhead: float = 0.1,
        metrics: Sequence[str] = DEFAULT_METRICS,
        alerts: str | Callable[[Alert], None] = "warn",
        patience: int = 3,
        iters: int = 20,
        tol: float = 1e-3,
        seed: int = 0,
        chunk_size: int | None = None,
        mode: str = "eval",
        max_every: int = 10_000,
        log_dir: str | Path | None = None,
    ) -> None:
        self.space = ParamSpace(model)
        self.model, self.loss_fn = model, loss_fn
        self.probe = as_batches(probe, chunk_size=chunk_size, device=self.space.device)
        if isinstance(overhead, bool) or not isinstance(overhead, (int, float)) or not 0 < overhead <= 1:
            raise ValueError(f"overhead must be in (0, 1], got {overhead!r}")
        self.overhead = float(overhead)
        self.every = None if every is None else check_positive_int("every", every)
        self.max_every = check_positive_int("max_every", max_every)
        unknown = set(metrics) - set(CHEAP_METRICS) - set(CHECK_METRICS)
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {CHEAP_METRICS + CHECK_METRICS}")
        self.metrics = tuple(metrics)
        if not (callable(alerts) or alerts in ("warn", "raise", "off")):
            raise ValueError(f"alerts must be 'warn', 'raise', 'off' or a callable, got {alerts!r}")
        self.alerts = alerts
        self.patience = check_positive_int("patience", patience)
        self.iters = check_positive_int("iters", iters)
        self.tol = check_positive_float("tol", tol)
        self.seed, self.mode = seed, mode
        with measurement_mode(model, mode):
            loss0 = total_loss(model, loss_fn, self.probe)
        if not math.isfinite(loss0):
            raise ValueError(f"the probe loss is not finite at the start ({loss0})")
        self.history = MonitorHistory()
        self.history.layer_names = list(self.space.names)
        self.fired: list[Alert] = []
        self._vectors: dict[str, torch.Tensor | None] = {}
        self._streaks = {"margin": 0, "energy": 0, "exponent": 0}
        self._last_loss: float | None = None
        self._log_rho: list[float] = []
        self._prev = [p.detach().clone() for p in self._params()] if "update_ratio" in self.metrics else None
        self._prev_norm: float | None = (
            float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(self._prev)))) if self._prev else None)
        self._last_output: torch.Tensor | None = None
        self._hook = model.register_forward_hook(self._record_output) if "output_norm" in self.metrics else None
        self._last_check: int | None = None
        self._last_call: float | None = None
        self._last_call_step = 0
        self._cost = {"cheap": math.nan, "check": math.nan}  # estimated cost (s): max of the last 3
        self._recent: dict[str, list[float]] = {"cheap": [], "check": []}
        self._spent = {"cheap": 0.0, "check": 0.0}
        self.train_time = 0.0  # wall time between on_step calls (the user's training)
        self.monitor_time = 0.0  # wall time inside on_step
        self._jsonl = self._writer = None
        if log_dir is not None:
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            self._jsonl = (Path(log_dir) / "stability.jsonl").open("a")
            try:
                from torch.utils.tensorboard import SummaryWriter  # noqa: PLC0415

                self._writer = SummaryWriter(str(log_dir))
            except ImportError:
                self._writer = None

    # --- cheap metrics -------------------------------------------------------------------------------
    def _params(self) -> list[torch.Tensor]:
        named = dict(self.model.named_parameters())
        return [named[n] for n in self.space.names]

    def _record_output(self, module: nn.Module, inputs: tuple, output: object) -> None:
        if isinstance(output, torch.Tensor) and module.training:
            self._last_output = output.detach()  # its norm is taken only when the cheap metrics run

    def _cheap(self, row: dict[str, float]) -> None:
        params = [p.detach() for p in self._params()]
        if "grad_norm" in self.metrics:
            grads = [p.grad for p in self._params() if p.grad is not None]
            row["grad_norm"] = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))) if grads else math.nan
        if "weight_norm" in self.metrics or self._prev is not None:
            row["weight_norm"] = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(params))))
        if self._prev is not None:
            # ||theta - theta_prev|| / ||theta_prev||, theta_prev = the weights at the previous cheap measurement
            torch._foreach_sub_(self._prev, params)
            diff = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(self._prev))))
            if self._prev_norm is not None:
                row["update_ratio"] = diff / max(self._prev_norm, 1e-300)
            torch._foreach_copy_(self._prev, params)
            self._prev_norm = row["weight_norm"]
        if "output_norm" in self.metrics:
            out = self._last_output
            row["output_norm"] = math.nan if out is None else float(out.norm()) / math.sqrt(max(out.shape[0], 1))

    # --- spectral check ------------------------------------------------------------------------------
    def _solve(self, key: str, fn: Callable, *args, **kw):
        est = fn(*args, iters=self.iters, tol=self.tol, seed=self.seed, vector=self._vectors.get(key), mode=self.mode, **kw)
        self._vectors[key] = est.vector
        return est

    def _check(self, step: int, optimizer: torch.optim.Optimizer | None, row: dict[str, float]) -> None:
        model, loss_fn, probe = self.model, self.loss_fn, self.probe
        row["check"] = 1
        info = optimizer_info(optimizer, None, self.space) if optimizer is not None else None
        if info is not None:
            row["lr"], row["edge"] = info.lr, info.edge
        if "probe_loss" in self.metrics:
            with measurement_mode(model, self.mode):
                row["probe_loss"] = total_loss(model, loss_fn, probe)
        if "sharpness" in self.metrics:
            top = self._solve("sharpness", sharpness, model, loss_fn, probe)
            row["sharpness"] = top.value
            measured = top.value
            if info is not None and info.kind == "adam":
                measured = math.nan
                if info.preconditioner is not None:
                    pre = self._solve("precond", sharpness, model, loss_fn, probe,
                                      preconditioner=info.preconditioner)
                    row["precond_sharpness"] = measured = pre.value
            if info is not None:
                row["margin"] = measured / info.edge
        if "lambda_min" in self.metrics:
            low = self._solve("lambda_min", lambda_min, model, loss_fn, probe)
            row["lambda_min"] = low.value
            if info is not None and info.kind == "gd" and "sharpness" in row and math.isfinite(low.value):
                rho = contraction_factor(info.lr, min(low.value, row["sharpness"]), row["sharpness"])
                row["contraction"] = rho
                self._log_rho.append(math.log(max(rho, 1e-300)))
                row["exponent"] = float(np.mean(self._log_rho))
        if "input_jacobian" in self.metrics:
            x = torch.cat([b[0] for b in probe])
            row["input_jacobian"] = self._solve("input_jacobian", input_jacobian_norm, model, x).value
        grads = [p.grad for p in self._params()]
        self.history.layer_rows.append(
            (step, np.array([float(g.norm()) if g is not None else math.nan for g in grads])))
        self._alerts(step, row)

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
                         f"(margin {row['margin']:.3f}); a local linear instability flag (spec 4.7)")
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
        """Record training step ``step`` (call it after ``optimizer.step()``); returns the row, or None when
        the overhead budget skipped this step."""
        t0 = time.perf_counter()
        self._last_call_step = step
        if self._last_call is not None:
            self.train_time += t0 - self._last_call  # the training between two calls, monitor time excluded
        row: dict[str, float] | None = None
        if self._due("cheap", step):
            row = {"step": int(step), "check": 0}
            self._cheap(row)
            self._spend("cheap", time.perf_counter() - t0)
            if any(not math.isfinite(row.get(k, 0.0)) for k in ("grad_norm", "weight_norm")):
                self._fire("nan", step, math.nan, f"step {step}: non-finite gradients or weights")
        if any(m in self.metrics for m in CHECK_METRICS) and self._due("check", step):
            c0 = time.perf_counter()
            row = row if row is not None else {"step": int(step), "check": 0}
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

    def _spend(self, kind: str, dt: float) -> None:
        """Charge ``dt`` to ``kind``; its cost estimate is the max of the last 3 costs (conservative: a cold
        or slow check is not underestimated)."""
        self._spent[kind] += dt
        self._recent[kind] = (self._recent[kind] + [dt])[-3:]
        self._cost[kind] = max(self._recent[kind])

    def _due(self, kind: str, step: int) -> bool:
        """Fixed ``every`` (cheap metrics then run every step), or the overhead budget: run when the time
        accrued for this kind, share * overhead * training time - time spent on it so far, covers its
        last measured cost. Both run at the first call (the cold first check is then paid back from the
        budget); a check runs at least every ``max_every`` steps."""
        last = self._last_check if kind == "check" else None
        if self.every is not None:
            return kind == "cheap" or last is None or step - last >= self.every
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
            self._jsonl.write(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}) + "\n")
            self._jsonl.flush()
        if self._writer is not None:
            for k, v in row.items():
                if k not in ("step", "check") and isinstance(v, float) and math.isfinite(v):
                    self._writer.add_scalar(f"stability/{k}", v, row["step"])

    def close(self) -> None:
        """Remove the forward hook and close the log files."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        for fh in (self._jsonl, self._writer):
            if fh is not None:
                fh.close()
        self._jsonl = self._writer = None

    def plot(self):
        """A matplotlib Figure: sharpness against the edge, the profile over time (log y), the per-layer
        gradient-norm heat map, the probe-loss energy ratios and the running exponent against the horizon."""
        import matplotlib.pyplot as plt  # noqa: PLC0415

        checks = self.history.checks()
        fig, ax = plt.subplots(2, 3, figsize=(14, 7))
        ax = ax.ravel()
        cols = checks.columns
        steps = checks.column("step") if len(checks) else np.zeros(0)
        if "sharpness" in cols:
            ax[0].plot(steps, checks.column("sharpness"), "o-", label="sharpness")
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
