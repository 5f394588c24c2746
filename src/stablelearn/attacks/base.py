"""Attack base class, result type and the lockstep driver shared by every attack.

Each attack writes its per-sample algorithm as a Python generator that ``yield``s a batch of points
``(k, d)`` and receives their adversarial flags. The driver advances all samples in lockstep: the
pending requests of every active sample go to the oracle in ONE forward pass, so all probes of one
iteration are one batch and many images share each forward (spec section 7.2). A sample that finished,
failed or exhausted its budget simply stops yielding and costs nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .oracle import HardLabelOracle, _as_float64

__all__ = ["AttackResult", "Attack", "Sample", "STATUSES"]

STATUSES = ("success", "budget exhausted", "init failed", "non-finite", "already adversarial")

Probe = Generator[np.ndarray, np.ndarray, Any]


@dataclass
class AttackResult:
    """Outcome of an attack on ``N`` samples, read from the oracle's own records.

    ``x_adv`` (N, *shape) best-so-far adversarial points (the original where none was found);
    ``distance`` (N,) their l2 distance (inf where none); ``success`` (N,) whether one was found;
    ``queries`` (N,) queries spent; ``trace[i]`` an (m, 2) array of (queries, best l2) at each
    improvement; ``status[i]`` one of :data:`STATUSES`; ``info`` per-sample attack diagnostics
    (e.g. PARS-OPT's D_hat and zeta histories).
    """

    x_adv: np.ndarray
    distance: np.ndarray
    success: np.ndarray
    queries: np.ndarray
    trace: list[np.ndarray]
    status: list[str]
    info: list[dict[str, Any]] = field(default_factory=list)

    def distance_at(self, budgets: Sequence[int]) -> np.ndarray:
        """(N, len(budgets)) best-so-far l2 after each budget (inf before the first adversarial point)."""
        b = np.asarray(budgets)
        out = np.full((len(self.trace), len(b)), np.inf)
        for i, tr in enumerate(self.trace):
            if len(tr):
                idx = np.searchsorted(tr[:, 0], b, side="right") - 1
                out[i] = np.where(idx >= 0, tr[np.maximum(idx, 0), 1], np.inf)
        return out


class Sample:
    """Per-sample context handed to an attack's generator: original, labels, rng, oracle facts."""

    def __init__(self, index: int, x: np.ndarray, y: int, target: int | None, rng: np.random.Generator,
                 oracle: HardLabelOracle, others: np.ndarray, start: np.ndarray | None) -> None:
        self.index, self.x, self.y, self.target, self.rng = index, x, y, target, rng
        self.d = x.size
        self.shape = oracle.shape
        self.clip = oracle.clip
        self.others = others  # flat originals of other samples with another label (init fallback, spec 6)
        self.start = start  # flat starting point (targeted image / user's starting point) or None
        self.info: dict[str, Any] = {}
        self.nonfinite = False

    def query(self, points: np.ndarray) -> Probe:
        """Generator: ask the oracle about ``points`` (k, d); returns the flags."""
        return (yield np.atleast_2d(points))


class Attack:
    """Base of every attack: validation, per-sample seeding, lockstep driving, result assembly.

    Subclasses implement ``_attack(s: Sample) -> generator``. Call as
    ``attack(oracle, x, y, *, target=None, starting_points=None, seed=0, progress=True, callback=None)``.
    """

    name = "attack"

    def _attack(self, s: Sample) -> Probe:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, oracle: HardLabelOracle, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, *,
                 target: np.ndarray | torch.Tensor | None = None,
                 starting_points: np.ndarray | torch.Tensor | None = None, seed: int = 0,
                 progress: bool = True,
                 callback: Callable[[int, int, float], None] | None = None) -> AttackResult:
        """Attack every row of ``x`` (spec section 1). ``y``: true labels (N,); ``target``: target labels (N,)
        for a targeted attack; ``starting_points``: adversarial starting points (N, *shape), required by
        nothing but used instead of the random-direction init where given; ``seed``: the per-sample
        generator is ``numpy.random.default_rng([seed, i])``; ``callback(sample, queries, best_l2)`` is
        called whenever a sample's best distance improves."""
        if not isinstance(oracle, HardLabelOracle):
            raise TypeError(f"oracle must be a HardLabelOracle, got {type(oracle).__name__}")
        x = _as_float64(x, "x")
        n = len(x)
        y = _labels_arg(y, n, "y")
        if oracle.clip is not None and (x.min() < oracle.clip[0] or x.max() > oracle.clip[1]):
            raise ValueError(f"x must lie inside the oracle's clip box {oracle.clip}, "
                             f"got values in [{x.min():.4g}, {x.max():.4g}]")
        if target is not None:
            target = _labels_arg(target, n, "target")
            if np.any(target == y):
                raise ValueError(f"target must differ from the true label y for every sample; equal at "
                                 f"indices {np.flatnonzero(target == y).tolist()}")
        if starting_points is not None:
            starting_points = _as_float64(starting_points, "starting_points")
            if starting_points.shape != x.shape:
                raise ValueError(f"starting_points must have the shape of x {x.shape}, got {starting_points.shape}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

        clean = oracle.start(x, y, target)
        flat = oracle.x0
        attacked = oracle.is_adversarial_label(clean, np.arange(n)) == False  # noqa: E712
        status = ["already adversarial" if not a else "" for a in attacked]
        samples: dict[int, Sample] = {}
        gens: dict[int, Probe] = {}
        for i in np.flatnonzero(attacked):
            others = flat[(y != y[i]) & attacked] if target is None else flat[(y == target[i]) & attacked]
            start = None if starting_points is None else starting_points[i].reshape(-1)
            s = Sample(int(i), flat[i], int(y[i]), None if target is None else int(target[i]),
                       np.random.default_rng([int(seed), int(i)]), oracle, others, start)
            samples[int(i)], gens[int(i)] = s, self._attack(s)
        self._drive(oracle, gens, samples, status, progress, callback)

        for i, s in samples.items():
            if not np.isfinite(oracle.best_l2[i]):
                status[i] = "non-finite" if s.nonfinite else "init failed"
            elif s.nonfinite:
                status[i] = "non-finite"
        trace = [np.array(t, dtype=np.float64).reshape(-1, 2) for t in oracle.trace]
        best_x = oracle.best_x.copy()
        dist = np.where(attacked, oracle.best_l2, np.inf)
        dist[~attacked] = 0.0
        return AttackResult(
            x_adv=best_x.reshape(x.shape), distance=dist, success=np.isfinite(dist) & attacked,
            queries=oracle.queries.copy(), trace=trace, status=status,
            info=[samples[i].info if i in samples else {} for i in range(n)])

    @staticmethod
    def _drive(oracle: HardLabelOracle, gens: dict[int, Probe], samples: dict[int, Sample], status: list[str],
               progress: bool, callback: Callable[[int, int, float], None] | None) -> None:
        pending: dict[int, np.ndarray] = {}

        def advance(i: int, value: np.ndarray | None) -> None:
            try:
                pending[i] = gens[i].send(value)
            except StopIteration:
                status[i] = "success"
            except FloatingPointError:
                samples[i].nonfinite = True
                status[i] = "non-finite"

        for i in list(gens):
            advance(i, None)
        bar = tqdm(total=oracle.budget * len(gens), desc="queries", disable=not progress, leave=False)
        while pending:
            requests, pending = pending, {}
            before = oracle.queries.sum()
            best = oracle.best_l2.copy()
            answers = oracle.query(requests)
            bar.update(int(oracle.queries.sum() - before))
            for i, ans in answers.items():
                if callback is not None and oracle.best_l2[i] < best[i]:
                    callback(i, int(oracle.queries[i]), float(oracle.best_l2[i]))
                if oracle.nonfinite[i]:  # the model returned NaN/inf scores: stop this sample, report it
                    gens[i].close()
                    samples[i].nonfinite = True
                    status[i] = "non-finite"
                elif oracle.exhausted[i]:
                    gens[i].close()
                    status[i] = "budget exhausted"
                else:
                    advance(i, ans)
        bar.close()


def _labels_arg(v: Any, n: int, name: str) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().numpy()
    arr = np.asarray(v)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be an integer array of shape ({n},) (one label per row of x), got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.integer) or (np.issubdtype(arr.dtype, np.floating) and np.all(arr % 1 == 0))):
        raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must hold non-negative class labels")
    return arr.astype(np.int64)
