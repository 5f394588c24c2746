"""Attack base class, result type and the lockstep driver shared by every attack.

Each attack writes its per-sample algorithm as a Python generator that ``yield``s a batch of points
``(k, d)`` and receives their adversarial flags. The driver advances all samples in lockstep: the
pending requests of every active sample go to the oracle in ONE call (cut into the oracle's fastest
batch shape), so all probes of one iteration are one request and many images share each forward
(docs/attacks.md, "Design"). A sample that finished, failed or exhausted its budget simply stops yielding
and costs nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from stablelearn._conventions import check_statuses, progress_disabled

from .oracle import HardLabelOracle, _as_float64, _int_labels, distances_at

__all__ = ["AttackResult", "Attack", "Sample", "STATUSES"]

#: The statuses an attack result can carry (words of :data:`stablelearn._conventions.STATUS_WORDS`).
STATUSES = check_statuses(("success", "budget_exhausted", "init_failed", "non_finite", "already_adversarial"),
                          "attacks")

Probe = Generator[np.ndarray, np.ndarray, Any]


@dataclass
class AttackResult:
    """Outcome of an attack on ``N`` samples, read from the oracle's own records.

    Attributes
    ----------
    x_adv : numpy.ndarray
        ``(N, *shape)`` best-so-far adversarial points (the original where none was found).
    distance : numpy.ndarray
        ``(N,)`` their l2 distance (``inf`` where none; 0 for ``already_adversarial``).
    success : numpy.ndarray
        ``(N,)`` whether an adversarial point was found.
    queries : numpy.ndarray
        ``(N,)`` queries spent.
    trace : list of numpy.ndarray
        ``trace[i]`` is an (m, 2) array of (queries, best l2) at each improvement.
    status : list of str
        One word of :data:`STATUSES` per sample.
    info : list of dict
        Per-sample attack diagnostics; ``info[i]["history"]`` holds per-iteration arrays (ARS-OPT/PARS-OPT:
        D_hat, zeta, alpha, f, g1_norm, clipped, m_step).
    wall_time : float
        Seconds the attack took.
    """

    x_adv: np.ndarray
    distance: np.ndarray
    success: np.ndarray
    queries: np.ndarray
    trace: list[np.ndarray]
    status: list[str]
    info: list[dict[str, Any]] = field(default_factory=list)
    wall_time: float = 0.0

    def distance_at(self, budgets: Sequence[int]) -> np.ndarray:
        """Best-so-far l2 after each budget.

        Parameters
        ----------
        budgets : sequence of int
            Query counts.

        Returns
        -------
        numpy.ndarray
            ``(N, len(budgets))``; ``inf`` before a sample's first adversarial point.
        """
        return distances_at(self.trace, budgets)


class Sample:
    """Per-sample context handed to an attack's generator: original, labels, rng, oracle facts."""

    def __init__(self, index: int, x: np.ndarray, y: int, target: int | None, rng: np.random.Generator,
                 oracle: HardLabelOracle, others: np.ndarray, start: np.ndarray | None) -> None:
        self.index, self.x, self.y, self.target, self.rng = index, x, y, target, rng
        self.d = x.size
        self.shape = oracle.shape
        self.clip = oracle.clip
        self.others = others  # flat originals of other samples with another label (init fallback)
        self.start = start  # flat starting point (targeted image / user's starting point) or None
        self.info: dict[str, Any] = {}
        self.nonfinite = False
        self._oracle = oracle

    def cap(self, k: int) -> int:
        """``k`` capped at the queries left + 1: a batch larger than that would be truncated by the oracle
        and end the sample anyway, so drawing more random vectors would only waste memory."""
        return int(min(k, self._oracle.remaining(self.index) + 1))

    def query(self, points: np.ndarray) -> Probe:
        """Generator: ask the oracle about ``points`` (k, d); returns the flags."""
        return (yield np.atleast_2d(points))


def _sample_rngs(seed: Any, n: int) -> list[np.random.Generator]:
    """One generator per sample: ``default_rng([seed, i])`` for an int seed (so sample i's run does not
    depend on the other samples), spawned children for a Generator, SeedSequence or None."""
    if isinstance(seed, (bool, np.bool_)):
        raise TypeError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}")
    if isinstance(seed, (int, np.integer)):
        if seed < 0:
            raise ValueError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}")
        return [np.random.default_rng([int(seed), i]) for i in range(n)]
    if isinstance(seed, np.random.Generator):
        return [np.random.default_rng(int(s)) for s in seed.integers(0, 2**63 - 1, size=n)]
    if seed is None or isinstance(seed, np.random.SeedSequence):
        ss = seed if seed is not None else np.random.SeedSequence()
        return [np.random.default_rng(child) for child in ss.spawn(n)]
    raise TypeError(f"seed must be None, a non-negative int or a numpy Generator, got {type(seed).__name__}")


class Attack:
    """Base of every attack: validation, per-sample seeding, lockstep driving, result assembly.

    Subclasses implement ``_attack(s: Sample) -> generator`` and may override ``_check(oracle, x, y, target)``
    to refuse a configuration that cannot run before any query is spent.
    """

    name = "attack"

    def _attack(self, s: Sample) -> Probe:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check(self, shape: tuple[int, ...], x: np.ndarray, y: np.ndarray, target: np.ndarray | None) -> None:
        """Refuse a configuration that cannot run on inputs of ``shape`` (before any query)."""

    def __call__(self, oracle: HardLabelOracle, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, *,
                 target: np.ndarray | torch.Tensor | None = None,
                 starting_points: np.ndarray | torch.Tensor | None = None, seed: Any = 0,
                 progress: bool | None = None,
                 callback: Callable[[int, int, float], None] | None = None) -> AttackResult:
        """Attack every row of ``x`` (arXiv 2512.21241, Sec. 3: minimise the l2 distortion under hard labels).

        Parameters
        ----------
        oracle : HardLabelOracle
            The victim; it counts every query and enforces its budget.
        x : array_like
            Originals ``(N, *shape)``; inside the oracle's clip box when it has one.
        y : array_like
            True labels ``(N,)`` (any integers).
        target : array_like, optional
            Target labels ``(N,)`` for a targeted attack (each different from ``y``).
        starting_points : array_like, optional
            Adversarial starting points ``(N, *shape)``, used instead of the random-direction init.
        seed : None, int or numpy.random.Generator, default 0
            An int gives sample ``i`` the generator ``numpy.random.default_rng([seed, i])``; a Generator or
            None spawns one independent generator per sample.
        progress : bool, optional
            Progress bar (``None``: on a terminal only).
        callback : callable, optional
            ``callback(sample, queries, best_l2)``, called whenever a sample's best distance improves.

        Returns
        -------
        AttackResult
        """
        if not isinstance(oracle, HardLabelOracle):
            raise TypeError(f"oracle must be a HardLabelOracle, got {type(oracle).__name__}")
        disable = progress_disabled(progress)
        x = _as_float64(x, "x")
        n = len(x)
        y = _int_labels(y, n, "y")
        if oracle.clip is not None and (x.min() < oracle.clip[0] or x.max() > oracle.clip[1]):
            raise ValueError(f"x must lie inside the oracle's clip box {oracle.clip}, "
                             f"got values in [{x.min():.4g}, {x.max():.4g}]")
        if target is not None:
            target = _int_labels(target, n, "target")
            if np.any(target == y):
                raise ValueError(f"target must differ from the true label y for every sample; equal at "
                                 f"indices {np.flatnonzero(target == y).tolist()}")
        if starting_points is not None:
            starting_points = _as_float64(starting_points, "starting_points")
            if starting_points.shape != x.shape:
                raise ValueError(f"starting_points must have the shape of x {x.shape}, got {starting_points.shape}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        rngs = _sample_rngs(seed, n)
        self._check(tuple(x.shape[1:]), x, y, target)

        t0 = time.perf_counter()
        clean = oracle.start(x, y, target)
        flat = oracle.x0
        attacked = ~oracle.is_adversarial_label(clean, np.arange(n))
        status = ["already_adversarial" if not a else "" for a in attacked]
        samples: dict[int, Sample] = {}
        gens: dict[int, Probe] = {}
        for i in np.flatnonzero(attacked):
            others = flat[(y != y[i]) & attacked] if target is None else flat[(y == target[i]) & attacked]
            start = None if starting_points is None else starting_points[i].reshape(-1)
            s = Sample(int(i), flat[i], int(y[i]), None if target is None else int(target[i]),
                       rngs[i], oracle, others, start)
            samples[int(i)], gens[int(i)] = s, self._attack(s)
        self._drive(oracle, gens, samples, status, disable, callback)

        for i, s in samples.items():
            if not np.isfinite(oracle.best_l2[i]):
                status[i] = "non_finite" if s.nonfinite else "init_failed"
            elif s.nonfinite:
                status[i] = "non_finite"
        trace = [np.array(t, dtype=np.float64).reshape(-1, 2) for t in oracle.trace]
        dist = np.where(attacked, oracle.best_l2, 0.0)
        return AttackResult(
            x_adv=oracle.best_x.copy().reshape(x.shape), distance=dist, success=np.isfinite(dist) & attacked,
            queries=oracle.queries.copy(), trace=trace, status=status,
            info=[samples[i].info if i in samples else {} for i in range(n)], wall_time=time.perf_counter() - t0)

    @staticmethod
    def _drive(oracle: HardLabelOracle, gens: dict[int, Probe], samples: dict[int, Sample], status: list[str],
               disable: bool | None, callback: Callable[[int, int, float], None] | None) -> None:
        pending: dict[int, np.ndarray] = {}

        def advance(i: int, value: np.ndarray | None) -> None:
            try:
                pending[i] = gens[i].send(value)
            except StopIteration:
                status[i] = "success"
            except FloatingPointError:
                samples[i].nonfinite = True
                status[i] = "non_finite"

        for i in list(gens):
            advance(i, None)
        bar = tqdm(total=oracle.budget * len(gens), desc="queries", disable=disable, leave=False)
        while pending:
            requests, pending = pending, {}
            before = oracle.queries.sum() if not bar.disable else 0
            best = oracle.best_l2.copy() if callback is not None else None
            answers = oracle.query(requests)
            if not bar.disable:
                bar.update(int(oracle.queries.sum() - before))
            for i, ans in answers.items():
                if callback is not None and oracle.best_l2[i] < best[i]:
                    callback(i, int(oracle.queries[i]), float(oracle.best_l2[i]))
                if oracle.nonfinite[i]:  # the model returned NaN/inf scores: stop this sample, report it
                    gens[i].close()
                    samples[i].nonfinite = True
                    status[i] = "non_finite"
                elif oracle.exhausted[i]:
                    gens[i].close()
                    status[i] = "budget_exhausted"
                else:
                    advance(i, ans)
        bar.close()
