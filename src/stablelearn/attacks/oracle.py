"""The hard-label oracle: the only way an attack (ours or a peer's) sees the victim.

Spec ``papers/hardlabel.md`` section 4 (query accounting) and section 7, checklist item 1: one query is one
victim forward on one input; every probe of every search counts; the clean-image check does not.
The oracle exposes only the decision "is this point adversarial", enforces the per-sample budget
strictly (a request crossing the limit is truncated and the sample is marked exhausted, so no sample is
ever charged one query over its budget) and records, independently of the attack's internals, the
best-so-far adversarial point and its (queries, l2) trace for every sample.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["HardLabelOracle", "BudgetExhausted", "NONFINITE"]

#: label recorded for a point whose scores are NaN/inf: never adversarial, and it stops the sample.
NONFINITE = -1


class BudgetExhausted(RuntimeError):
    """Raised by :meth:`HardLabelOracle.as_module` to stop a peer attack once its sample's budget is spent."""


def _model_dtype(model: Any) -> torch.dtype:
    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            return p.dtype
    return torch.float32


class HardLabelOracle:
    """Budget-exact, decision-only access to a classifier (spec sections 1, 4, 7.1).

    Parameters
    ----------
    model:
        A ``torch.nn.Module`` returning logits, or any callable mapping a batch ``(N, *shape)`` (a
        float tensor for modules, a float64 NumPy array for other callables) to ``N`` integer labels or
        an ``(N, C)`` array of scores (e.g. a scikit-learn ``predict``). Modules are put in ``eval`` mode
        and called under ``torch.no_grad``; inputs are cast to the module's parameter dtype.
    budget:
        Maximum number of queries per sample (positive int).
    clip:
        ``(low, high)``: every queried point is clipped to this box before the model sees it, and
        distances are measured at the clipped point. ``None``: no clipping (paper-faithful, spec section 1).
    batch_size:
        Maximum number of inputs per forward pass.
    device:
        Device for ``torch.nn.Module`` victims (default: the module's device, else CPU).
    """

    def __init__(self, model: Callable[..., Any], *, budget: int, clip: tuple[float, float] | None = (0.0, 1.0),
                 batch_size: int = 1024, device: str | torch.device | None = None) -> None:
        if not callable(model):
            raise TypeError(f"model must be a torch.nn.Module or a callable, got {type(model).__name__}")
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget <= 0:
            raise ValueError(f"budget must be a positive integer, got {budget!r}")
        if clip is not None:
            if len(clip) != 2 or not np.all(np.isfinite(clip)) or not clip[0] < clip[1]:
                raise ValueError(f"clip must be None or (low, high) with low < high, got {clip!r}")
            clip = (float(clip[0]), float(clip[1]))
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.model = model
        self.budget = int(budget)
        self.clip = clip
        self.batch_size = int(batch_size)
        self._is_module = isinstance(model, torch.nn.Module)
        if self._is_module:
            model.eval()
            if device is None:
                params = list(model.parameters())
                device = params[0].device if params else "cpu"
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self._dtype = _model_dtype(model)
        self.n = 0

    # ------------------------------------------------------------------ raw model access
    def _labels(self, flat: np.ndarray) -> np.ndarray:
        """Labels of flat float64 points ``(k, d)`` (uncounted; callers count); :data:`NONFINITE` where the
        model's scores are not finite."""
        out = []
        for s in range(0, len(flat), self.batch_size):
            chunk = flat[s:s + self.batch_size].reshape((-1,) + self.shape)
            if self._is_module:
                with torch.no_grad():
                    raw = self.model(torch.as_tensor(chunk, dtype=self._dtype, device=self.device))
            else:
                raw = self.model(chunk)
            if isinstance(raw, torch.Tensor):
                raw = raw.detach().cpu().numpy()
            raw = np.asarray(raw)
            if raw.ndim == 2 and raw.shape[0] == len(chunk) and raw.shape[1] >= 2:
                lab = np.argmax(raw, axis=1)
                lab[~np.all(np.isfinite(raw), axis=1)] = NONFINITE
            elif raw.ndim == 1 and raw.shape[0] == len(chunk) and (
                    np.issubdtype(raw.dtype, np.integer) or np.all(np.mod(raw, 1) == 0)):
                lab = raw.astype(np.int64)
            else:
                raise ValueError("model must return N integer labels or an (N, C>=2) array of logits/scores "
                                 f"for a batch of N={len(chunk)}, got an array of shape {raw.shape}, dtype {raw.dtype}")
            out.append(lab)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def _clipped(self, flat: np.ndarray) -> np.ndarray:
        return np.clip(flat, *self.clip) if self.clip is not None else flat

    def predict(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Uncounted labels of ``x`` (shape ``(N, *shape)``); for verification only, never used by attacks."""
        x = _as_float64(x, "x")
        self.shape = tuple(x.shape[1:])
        return self._labels(x.reshape(len(x), -1))

    # ------------------------------------------------------------------ per-run state
    def start(self, x: np.ndarray, y: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        """Reset counters and records for the originals ``x`` (N, *shape) with labels ``y`` (N,).

        Returns the clean labels (uncounted check). ``target`` (N,) switches to targeted success.
        """
        self.shape = tuple(x.shape[1:])
        self.n = len(x)
        self.x0 = x.reshape(self.n, -1).astype(np.float64)
        self.y = np.asarray(y, dtype=np.int64)
        self.target = None if target is None else np.asarray(target, dtype=np.int64)
        self.queries = np.zeros(self.n, dtype=np.int64)
        self.exhausted = np.zeros(self.n, dtype=bool)
        self.nonfinite = np.zeros(self.n, dtype=bool)
        self.best_l2 = np.full(self.n, np.inf)
        self.best_x = self.x0.copy()
        self.trace: list[list[tuple[int, float]]] = [[] for _ in range(self.n)]
        clean = self._labels(self.x0)
        if np.any(clean == NONFINITE):
            raise ValueError(f"model returned non-finite scores for x at indices {np.flatnonzero(clean == NONFINITE).tolist()}")
        return clean

    def is_adversarial_label(self, labels: np.ndarray, sample: np.ndarray | int) -> np.ndarray:
        """Success indicator Phi (spec section 1) for predicted ``labels`` of points of ``sample``."""
        if self.target is not None:
            return labels == self.target[sample]
        return (labels != self.y[sample]) & (labels != NONFINITE)

    def remaining(self, sample: int) -> int:
        """Queries left for ``sample``."""
        return int(self.budget - self.queries[sample])

    def query(self, requests: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Answer ``{sample: points (k, d) float64}`` in one batched forward.

        Returns ``{sample: adversarial flags}``. A request larger than the sample's remaining budget is
        truncated (only the first ``remaining`` points are answered and counted) and the sample is marked
        ``exhausted``; the returned array is then shorter than the request.
        """
        samples, chunks = [], []
        for i, pts in requests.items():
            pts = np.asarray(pts, dtype=np.float64).reshape(-1, self.x0.shape[1])
            k = min(len(pts), self.remaining(i))
            if k < len(pts):
                self.exhausted[i] = True
            samples.append((i, k))
            chunks.append(self._clipped(pts[:k]))
        flat = np.concatenate(chunks) if chunks else np.zeros((0, self.x0.shape[1]))
        labels = self._labels(flat) if len(flat) else np.zeros(0, dtype=np.int64)
        out, s = {}, 0
        for (i, k), pts in zip(samples, chunks):
            adv = self.is_adversarial_label(labels[s:s + k], i)
            if np.any(labels[s:s + k] == NONFINITE):
                self.nonfinite[i] = True
            self._record(i, pts, adv)
            out[i] = adv
            s += k
        return out

    def _record(self, i: int, pts: np.ndarray, adv: np.ndarray) -> None:
        """Count ``len(pts)`` queries in order and update the best-so-far record of sample ``i``."""
        q0 = self.queries[i]
        self.queries[i] += len(pts)
        if not adv.any():
            return
        d = np.full(len(pts), np.inf)
        d[adv] = np.linalg.norm(pts[adv] - self.x0[i], axis=1)
        # improvements in query order (strict new minima of the running best), so the trace is exact
        prev = np.minimum.accumulate(np.concatenate([[self.best_l2[i]], d]))[:-1]
        for j in np.flatnonzero(d < prev):
            self.trace[i].append((int(q0 + j + 1), float(d[j])))
        if d.min() < self.best_l2[i]:
            j = int(np.argmin(d))
            self.best_l2[i], self.best_x[i] = d[j], pts[j]

    # ------------------------------------------------------------------ measuring peers
    def as_module(self, sample: int, num_classes: int) -> torch.nn.Module:
        """A ``torch.nn.Module`` for peer libraries (ART, Foolbox) attacking ``sample`` alone.

        It returns one-hot "logits" of the victim's label (decision only), charges every row of every
        batch to ``sample`` through :meth:`query`, and raises :class:`BudgetExhausted` once a batch
        crosses the budget (the answered part is still counted and recorded).
        """
        return _CountingModule(self, sample, num_classes)

    def distances_at(self, budgets: np.ndarray) -> np.ndarray:
        """Best-so-far l2 of every sample after each budget in ``budgets`` (inf before the first success)."""
        out = np.full((self.n, len(budgets)), np.inf)
        for i, tr in enumerate(self.trace):
            if not tr:
                continue
            q = np.array([t[0] for t in tr])
            d = np.array([t[1] for t in tr])
            idx = np.searchsorted(q, budgets, side="right") - 1
            out[i] = np.where(idx >= 0, d[np.maximum(idx, 0)], np.inf)
        return out


class _CountingModule(torch.nn.Module):
    def __init__(self, oracle: HardLabelOracle, sample: int, num_classes: int) -> None:
        super().__init__()
        self.oracle, self.sample, self.num_classes = oracle, sample, num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o, i = self.oracle, self.sample
        if o.remaining(i) <= 0:
            o.exhausted[i] = True
            raise BudgetExhausted(f"sample {i}: budget of {o.budget} queries spent")
        flat = x.detach().cpu().double().numpy().reshape(len(x), -1)
        k = min(len(flat), o.remaining(i))
        pts = o._clipped(flat[:k])
        labels = o._labels(pts)
        o._record(i, pts, o.is_adversarial_label(labels, i))
        if k < len(flat):
            o.exhausted[i] = True
            raise BudgetExhausted(f"sample {i}: budget of {o.budget} queries spent")
        return torch.nn.functional.one_hot(torch.as_tensor(labels), self.num_classes).to(x.dtype)


def _as_float64(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a float array or tensor, got {type(x).__name__}") from e
    if arr.ndim < 2:
        raise ValueError(f"{name} must have shape (N, *input_shape) with N >= 1, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr
