"""The hard-label oracle: the only way an attack (ours or a peer's) sees the victim.

Query accounting follows the authors' code (machanic/hard_label_attacks, ``PARS_OPT/pars_opt_l2_norm_attack.py``;
docs/attacks.md, "Query accounting"): one query is one victim forward on one input; every probe of every
search counts; the clean-image check does not. The oracle exposes only the decision "is this point
adversarial", enforces the per-sample budget strictly (a request crossing the limit is truncated and the
sample is marked exhausted, so no sample is ever charged one query over its budget) and records,
independently of the attack's internals, the best-so-far adversarial point and its (queries, l2) trace for
every sample.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from stablelearn._conventions import check_float, check_int

__all__ = ["HardLabelOracle", "BudgetExhausted", "distances_at"]

#: Rows per victim forward. Measured on the digits-32 CNN victims (float64, one thread): 0.27-0.33 ms per row
#: in batches of 4-64, 0.48-0.71 ms in batches of 256-1024 (docs/attacks.md, "Speed"), so larger requests
#: are cut into chunks of this size.
DEFAULT_BATCH = 64


class BudgetExhausted(RuntimeError):
    """Raised by :meth:`HardLabelOracle.as_module` to stop a peer attack once its sample's budget is spent."""


def distances_at(traces: Sequence[Any], budgets: Any) -> np.ndarray:
    """Best-so-far l2 of every sample after each budget.

    Parameters
    ----------
    traces : sequence of (m, 2) arrays or lists of ``(queries, l2)`` pairs
        One trace per sample, in increasing query order (as the oracle records them).
    budgets : array_like of int
        Query counts.

    Returns
    -------
    numpy.ndarray
        ``(len(traces), len(budgets))``; ``inf`` before a sample's first adversarial point.
    """
    b = np.asarray(budgets)
    out = np.full((len(traces), len(b)), np.inf)
    for i, tr in enumerate(traces):
        tr = np.asarray(tr, dtype=np.float64).reshape(-1, 2)
        if len(tr):
            idx = np.searchsorted(tr[:, 0], b, side="right") - 1
            out[i] = np.where(idx >= 0, tr[np.maximum(idx, 0), 1], np.inf)
    return out


def _model_dtype(model: Any) -> torch.dtype:
    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            return p.dtype
    return torch.float32


class HardLabelOracle:
    """Budget-exact, decision-only access to a classifier.

    Parameters
    ----------
    model : torch.nn.Module or callable
        A module returning logits, or any callable mapping a batch ``(N, *shape)`` (a float tensor for
        modules, a float64 NumPy array for other callables) to ``N`` integer labels (any integers,
        negative ones included) or an ``(N, C)`` array of scores (e.g. a scikit-learn ``predict``). Modules
        are put in ``eval`` mode and called under ``torch.no_grad``; inputs are cast to the module's
        parameter dtype.
    budget : int
        Maximum number of queries per sample (>= 1).
    clip : tuple of two floats or None, default (0.0, 1.0)
        ``(low, high)``: every queried point is clipped to this box before the model sees it, and distances
        are measured at the clipped point. ``None``: no clipping, as in the paper (arXiv 2512.21241, Eq. 3)
        and the authors' code.
    batch_size : int, default 64
        Rows per victim forward; larger requests are cut into chunks of this size (the fastest shape on
        the measured CNN victims, docs/attacks.md "Speed").
    device : str or torch.device, optional
        Device for module victims (default: the module's device, else CPU).

    Notes
    -----
    Call :meth:`start` before :meth:`query`; attacks do so themselves.
    """

    def __init__(self, model: Callable[..., Any], *, budget: int, clip: tuple[float, float] | None = (0.0, 1.0),
                 batch_size: int = DEFAULT_BATCH, device: str | torch.device | None = None) -> None:
        if not callable(model):
            raise TypeError(f"model must be a torch.nn.Module or a callable, got {type(model).__name__}")
        self.budget = check_int(budget, "budget", low=1)
        if clip is not None:
            if isinstance(clip, (str, bytes)) or not isinstance(clip, (Sequence, np.ndarray)) or len(clip) != 2:
                raise TypeError(f"clip must be None or a pair (low, high), got {clip!r}")
            low, high = check_float(clip[0], "clip[0]"), check_float(clip[1], "clip[1]")
            if not low < high:
                raise ValueError(f"clip must be None or (low, high) with low < high, got {clip!r}")
            clip = (low, high)
        self.batch_size = check_int(batch_size, "batch_size", low=1)
        self.model = model
        self.clip = clip
        self._is_module = isinstance(model, torch.nn.Module)
        if self._is_module:
            model.eval()
            if device is None:
                params = list(model.parameters())
                device = params[0].device if params else "cpu"
        try:
            self.device = torch.device(device) if device is not None else torch.device("cpu")
            torch.empty(0, device=self.device)  # an unavailable device (no CUDA, a bad index) fails here
        except (RuntimeError, TypeError, AssertionError) as e:
            raise ValueError(f"device must name an available torch device such as 'cpu' or 'cuda:0', "
                             f"got {device!r}") from e
        self._dtype = _model_dtype(model)
        self.n = 0

    # ------------------------------------------------------------------ raw model access
    def _labels(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels of flat float64 points ``(k, d)`` (uncounted; callers count) and a mask of the rows whose
        scores were finite (a label row is always finite)."""
        labels, finite = [], []
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
            if raw.dtype.kind not in "biuf":
                raise TypeError(f"model must return integer labels or real scores, got dtype {raw.dtype}")
            if raw.ndim == 2 and raw.shape[0] == len(chunk) and raw.shape[1] >= 2:
                fin = np.isfinite(raw)
                if fin.all():  # the common case: the same argmax without the masked copy
                    ok, lab = np.ones(len(raw), dtype=bool), raw.argmax(axis=1)
                else:
                    ok, lab = fin.all(axis=1), np.argmax(np.where(fin, raw, -np.inf), axis=1)
            elif raw.ndim == 1 and raw.shape[0] == len(chunk) and (
                    raw.dtype.kind in "biu" or np.all(np.isfinite(raw) & (np.mod(raw, 1) == 0))):
                ok, lab = np.ones(len(raw), dtype=bool), raw.astype(np.int64)
            else:
                raise ValueError("model must return N integer labels or an (N, C>=2) array of logits/scores "
                                 f"for a batch of N={len(chunk)}, got an array of shape {raw.shape}, dtype {raw.dtype}")
            labels.append(lab)
            finite.append(ok)
        if len(labels) == 1:
            return labels[0], finite[0]
        if not labels:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        return np.concatenate(labels), np.concatenate(finite)

    def _clipped(self, flat: np.ndarray) -> np.ndarray:
        return np.clip(flat, *self.clip) if self.clip is not None else flat

    def predict(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Uncounted labels of ``x`` (shape ``(N, *shape)``); for verification only, never used by attacks.

        Parameters
        ----------
        x : array_like
            Inputs, ``(N, *shape)``.

        Returns
        -------
        numpy.ndarray
            ``(N,)`` int64 labels (the argmax of non-finite scores is taken over their finite entries).
        """
        x = _as_float64(x, "x")
        self.shape = tuple(x.shape[1:])
        return self._labels(x.reshape(len(x), -1))[0]

    # ------------------------------------------------------------------ per-run state
    def start(self, x: np.ndarray, y: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        """Reset counters and records for a new run.

        Parameters
        ----------
        x : numpy.ndarray
            Originals ``(N, *shape)``, float64.
        y : numpy.ndarray
            True labels ``(N,)`` (any integers).
        target : numpy.ndarray, optional
            Target labels ``(N,)``; switches to targeted success (predicted label == target).

        Returns
        -------
        numpy.ndarray
            The clean labels (an uncounted check).
        """
        x = _as_float64(x, "x")
        self.shape = tuple(x.shape[1:])
        self.n = len(x)
        self.x0 = x.reshape(self.n, -1).astype(np.float64)
        self.y = _int_labels(y, self.n, "y")
        self.target = None if target is None else _int_labels(target, self.n, "target")
        self.queries = np.zeros(self.n, dtype=np.int64)
        self.exhausted = np.zeros(self.n, dtype=bool)
        self.nonfinite = np.zeros(self.n, dtype=bool)
        self.best_l2 = np.full(self.n, np.inf)
        self.best_x = self.x0.copy()
        self.trace: list[list[tuple[int, float]]] = [[] for _ in range(self.n)]
        clean, finite = self._labels(self.x0)
        if not finite.all():
            raise ValueError(f"model returned non-finite scores for x at indices {np.flatnonzero(~finite).tolist()}")
        return clean

    def _started(self) -> None:
        if not self.n:
            raise RuntimeError("HardLabelOracle.start(x, y) must be called before query/remaining/as_module")

    def is_adversarial_label(self, labels: np.ndarray, sample: np.ndarray | int) -> np.ndarray:
        """Success indicator of the paper's Eq. 1 for predicted ``labels`` of points of ``sample``.

        Parameters
        ----------
        labels : numpy.ndarray
            Predicted labels.
        sample : int or numpy.ndarray
            The sample index (or one index per label).

        Returns
        -------
        numpy.ndarray
            Boolean flags: label differs from ``y`` (untargeted) or equals the target (targeted).
        """
        self._started()
        if self.target is not None:
            return labels == self.target[sample]
        return labels != self.y[sample]

    def remaining(self, sample: int) -> int:
        """Queries left for ``sample`` (an index below the number of started samples)."""
        self._started()
        i = check_int(sample, "sample", low=0, high=self.n - 1)
        return int(self.budget - self.queries[i])

    def query(self, requests: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Answer several samples' requests in one batched forward.

        Parameters
        ----------
        requests : dict of int to numpy.ndarray
            ``{sample: points (k, d) float64}``.

        Returns
        -------
        dict of int to numpy.ndarray
            ``{sample: adversarial flags}``. A request larger than the sample's remaining budget is
            truncated (only the first ``remaining`` points are answered and counted) and the sample is
            marked ``exhausted``; the returned array is then shorter than the request. A point whose scores
            are not finite is never adversarial and marks the sample ``nonfinite``.
        """
        self._started()
        ids, ks, chunks = [], [], []
        d = self.x0.shape[1]
        for i, pts in requests.items():
            if not (isinstance(pts, np.ndarray) and pts.dtype == np.float64 and pts.ndim == 2 and pts.shape[1] == d):
                pts = np.asarray(pts, dtype=np.float64).reshape(-1, d)
            k = min(len(pts), int(self.budget - self.queries[i]))
            if k < len(pts):
                self.exhausted[i] = True
                pts = pts[:k]
            ids.append(i)
            ks.append(k)
            chunks.append(pts)
        if not chunks:
            return {}
        flat = self._clipped(np.concatenate(chunks) if len(chunks) > 1 else chunks[0])
        labels, finite = self._labels(flat)
        # every row's decision, the query counts and the distances of the adversarial rows at once; then
        # the best-so-far records of the samples that hit, in query order
        ids_a, ks_a = np.asarray(ids), np.asarray(ks)
        owner = np.repeat(np.arange(len(ids)), ks_a)
        goal = (self.target if self.target is not None else self.y)[ids_a][owner]
        adv = ((labels == goal) if self.target is not None else (labels != goal)) & finite
        q0 = self.queries[ids_a]
        self.queries[ids_a] = q0 + ks_a
        ends = np.cumsum(ks_a)
        starts = ends - ks_a
        if not finite.all():
            self.nonfinite[ids_a[np.bincount(owner[~finite], minlength=len(ids)) > 0]] = True
        rows = np.flatnonzero(adv)
        if rows.size:
            dist = _l2(flat[rows] - self.x0[ids_a[owner[rows]]])
            hit = np.unique(owner[rows])  # the samples with an adversarial row, and where their rows begin
            first = np.searchsorted(rows, starts[hit])
            improved = np.minimum.reduceat(dist, first) < self.best_l2[ids_a[hit]]
            last = np.append(first[1:], len(rows))
            for n, lo, hi in zip(hit[improved].tolist(), first[improved].tolist(), last[improved].tolist()):
                self._best(ids[n], q0[n], flat, rows[lo:hi], dist[lo:hi], starts[n])
        return {i: adv[a:e] for i, a, e in zip(ids, starts.tolist(), ends.tolist())}

    def _record(self, i: int, pts: np.ndarray, adv: np.ndarray) -> None:
        """Count ``len(pts)`` queries in order and update the best-so-far record of sample ``i``."""
        q0 = self.queries[i]
        self.queries[i] += len(pts)
        rows = np.flatnonzero(adv)
        if rows.size:
            self._best(i, q0, pts, rows, _l2(pts[rows] - self.x0[i]), 0)

    def _best(self, i: int, q0: int, pts: np.ndarray, rows: np.ndarray, dist: np.ndarray, start: int) -> None:
        """Update sample ``i``'s best-so-far point and trace: ``pts[rows]`` are its adversarial points, at
        distances ``dist``, asked as its queries ``q0 + 1 + rows - start`` (rows in query order)."""
        best = self.best_l2[i]
        if len(rows) == 1:  # the common case (one probe of a search)
            if dist[0] < best:
                self.trace[i].append((int(q0 + rows[0] - start + 1), float(dist[0])))
                self.best_l2[i], self.best_x[i] = dist[0], pts[rows[0]]
            return
        # improvements in query order (strict new minima of the running best), so the trace is exact
        prev = np.minimum.accumulate(np.concatenate([[best], dist]))[:-1]
        for j in np.flatnonzero(dist < prev):
            self.trace[i].append((int(q0 + rows[j] - start + 1), float(dist[j])))
        j = int(np.argmin(dist))
        if dist[j] < best:
            self.best_l2[i], self.best_x[i] = dist[j], pts[rows[j]]

    # ------------------------------------------------------------------ measuring peers
    def as_module(self, sample: int, num_classes: int) -> torch.nn.Module:
        """A ``torch.nn.Module`` for peer libraries (ART, Foolbox) attacking one sample alone.

        Parameters
        ----------
        sample : int
            Index of a started sample.
        num_classes : int
            Width of the one-hot output (>= 2 and above every label the victim returns).

        Returns
        -------
        torch.nn.Module
            It returns one-hot "logits" of the victim's label (decision only), charges every row of every
            batch to ``sample`` through the oracle's records, and raises :class:`BudgetExhausted` once a batch
            crosses the budget (the answered part is still counted and recorded).
        """
        self._started()
        sample = check_int(sample, "sample", low=0, high=self.n - 1)
        return _CountingModule(self, sample, check_int(num_classes, "num_classes", low=2))

    def distances_at(self, budgets: Any) -> np.ndarray:
        """Best-so-far l2 of every sample after each budget (see :func:`distances_at`)."""
        self._started()
        return distances_at(self.trace, budgets)


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
        labels, finite = o._labels(pts)
        if not finite.all():
            o.nonfinite[i] = True
        o._record(i, pts, o.is_adversarial_label(labels, i) & finite)
        if k < len(flat):
            o.exhausted[i] = True
            raise BudgetExhausted(f"sample {i}: budget of {o.budget} queries spent")
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"num_classes={self.num_classes} does not cover the victim's labels "
                             f"{sorted(set(labels.tolist()))}")
        return torch.nn.functional.one_hot(torch.as_tensor(labels), self.num_classes).to(x.dtype)


def _l2(diff: np.ndarray) -> np.ndarray:
    """Row norms of ``(k, d)`` differences (the same operations, hence the same bits, as ``np.linalg.norm(diff,
    axis=1)`` and as ``np.sqrt(np.sum(row ** 2))`` per row)."""
    return np.sqrt(np.sum(diff * diff, axis=1))


def _as_float64(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real-valued array or tensor, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim < 2 or len(arr) == 0 or arr[0].size == 0:
        raise ValueError(f"{name} must have shape (N, *input_shape) with N >= 1 and a non-empty input, "
                         f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _int_labels(v: Any, n: int, name: str) -> np.ndarray:
    """``v`` as an int64 array of shape (n,): any integers (negative ones included), or integral floats."""
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    arr = np.asarray(v)
    if arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"{name} must be an integer array of shape ({n},) (one label per row of x), got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr % 1 == 0)):
        raise ValueError(f"{name} must hold integer class labels, got non-integral values")
    return arr.astype(np.int64)
