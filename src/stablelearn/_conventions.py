"""The conventions every stablelearn library follows, in one place.

Each library (``anderson``, ``stability``, ``rbno``, ``attacks``, ``depth``) is usable on its own; they share
only this module, which depends on NumPy alone (torch is imported lazily, where a helper needs it).

Validation
    :func:`check_int`, :func:`check_float`, :func:`check_bool`, :func:`check_choice` and :func:`check_array`
    follow scikit-learn's ``check_scalar``: the value is passed first and the argument's name second;
    a value of the wrong *type* raises :class:`TypeError`, a value of the right type outside its range a
    :class:`ValueError`; every message has the shape ``"{name} must be ..., got {value!r}"``. NumPy
    integers and floats are accepted wherever Python ones are; ``bool`` is never a number.
Randomness
    Every ``seed=`` argument accepts ``None``, a non-negative int, a :class:`numpy.random.SeedSequence` or a
    :class:`numpy.random.Generator` (:func:`as_rng`); torch code takes a :class:`torch.Generator` built by
    :func:`torch_generator`, or builds its modules inside :func:`torch_seeded`. Nothing touches NumPy's or
    torch's global random state on a user's behalf. Independent auxiliary streams come from
    :func:`spawn_seeds`, never from ``seed + i``.
Threads
    :func:`limit_threads` sets torch's intra-op threads for a block and restores them afterwards.
Progress
    Every long-running entry point takes ``progress: bool | None = None``; :func:`progress_disabled` is the
    one rule (``None``: a bar on a terminal, quiet in logs; ``True``/``False``: always/never).
Results
    Results are dataclasses with the same field names across the libraries: ``status`` (one word from
    the library's ``STATUSES``, each word defined in :data:`STATUS_WORDS`; details such as the step at
    which a run diverged go in their own fields), ``n_iter`` (iterations or steps taken), ``wall_time``
    (seconds) and ``history`` (a dict of NumPy arrays, one entry per iteration).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_int", "check_float", "check_bool", "check_choice", "check_array", "check_statuses",
    "as_rng", "spawn_seeds", "torch_generator", "torch_seeded", "limit_threads", "progress_disabled",
    "STATUS_WORDS",
]

#: The one vocabulary of statuses. A library's ``STATUSES`` tuple is drawn from these words.
STATUS_WORDS: dict[str, str] = {
    "converged": "a stopping tolerance was met",
    "completed": "a run of fixed length (steps, epochs) ran to its end",
    "max_iter": "the iteration limit was reached before the tolerance was met",
    "diverged": "the iterates or the loss grew past the run's divergence threshold",
    "non_finite": "a NaN or infinity appeared; the last finite state is returned",
    "stalled": "no further progress was possible (a breakdown or a step that cannot decrease)",
    "success": "an attack found an adversarial example within its budget",
    "budget_exhausted": "the query budget was spent before the attack could go on",
    "init_failed": "no adversarial starting point was found",
    "already_adversarial": "the clean input is already misclassified; no query was spent on it",
}


def _type_name(value: Any) -> str:
    return type(value).__name__


def _bounds_text(low: float | None, high: float | None, low_inclusive: bool, high_inclusive: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {high:g}")
    return " and ".join(parts)


def _check_bounds(v: float, value: Any, name: str, what: str, low: float | None, high: float | None,
                  low_inclusive: bool, high_inclusive: bool) -> None:
    too_low = low is not None and (v < low or (not low_inclusive and v == low))
    too_high = high is not None and (v > high or (not high_inclusive and v == high))
    if too_low or too_high:
        raise ValueError(f"{name} must be {what} {_bounds_text(low, high, low_inclusive, high_inclusive)}, "
                         f"got {value!r}")


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None,
              low_inclusive: bool = True, high_inclusive: bool = True) -> int:
    """``value`` as a Python ``int`` within ``[low, high]``.

    Any :class:`numbers.Integral` (NumPy integers included) is accepted; ``bool`` and floats, even
    integral ones such as ``2.0``, raise :class:`TypeError`.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({_type_name(value)})")
    v = int(value)
    _check_bounds(v, value, name, "an integer", low, high, low_inclusive, high_inclusive)
    return v


def check_float(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                low_inclusive: bool = True, high_inclusive: bool = True, finite: bool = True) -> float:
    """``value`` as a Python ``float`` within the bounds (and finite unless ``finite=False``).

    Any :class:`numbers.Real` (NumPy floats and integers included) is accepted; ``bool``, strings and
    complex numbers raise :class:`TypeError`. NaN is always a :class:`ValueError`.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({_type_name(value)})")
    v = float(value)
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    _check_bounds(v, value, name, "a number", low, high, low_inclusive, high_inclusive)
    return v


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a Python ``bool`` (``numpy.bool_`` accepted; 0/1 and strings are not)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({_type_name(value)})")
    return bool(value)


def check_choice(value: Any, name: str, options: Iterable[str]) -> str:
    """``value`` if it is one of ``options`` (compared as strings), else a :class:`ValueError` listing them."""
    options = tuple(options)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {options}, got {value!r} ({_type_name(value)})")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_array(value: Any, name: str, *, ndim: int | Sequence[int] | None = None, dtype: Any = np.float64,
                finite: bool = True, min_size: int = 1) -> np.ndarray:
    """``value`` as a NumPy array of ``dtype`` with ``ndim`` dimensions, at least ``min_size`` entries,
    and (if ``finite``) no NaN or infinity. Strings, objects and complex numbers raise :class:`TypeError`."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists, objects NumPy cannot hold
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{name} must have {want} dimension(s), got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries, got shape {arr.shape}")
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN or infinite entries")
    return arr


def check_statuses(statuses: Iterable[str], library: str) -> tuple[str, ...]:
    """A library's ``STATUSES`` tuple, checked against the shared vocabulary :data:`STATUS_WORDS`."""
    statuses = tuple(statuses)
    unknown = [s for s in statuses if s not in STATUS_WORDS]
    if unknown:
        raise ValueError(f"{library}: status words {unknown} are not in the shared vocabulary "
                         f"{sorted(STATUS_WORDS)}")
    return statuses


def as_rng(seed: Any = None, name: str = "seed") -> np.random.Generator:
    """A :class:`numpy.random.Generator` from ``None``, a non-negative int, a ``SeedSequence`` or a Generator.

    A Generator is returned as is (the caller's stream advances); nothing global is read or changed.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence) or seed is None:
        return np.random.default_rng(seed)
    return np.random.default_rng(check_int(seed, name, low=0))


def spawn_seeds(seed: Any, n: int, name: str = "seed") -> list[int]:
    """``n`` independent 32-bit seeds derived from ``seed`` (int, SeedSequence or Generator).

    The children of ``numpy.random.SeedSequence(seed)``: use these for auxiliary streams instead of
    ``seed + 1``, ``seed + i``, which overlap between neighbouring seeds.
    """
    n = check_int(n, "n", low=0)
    if isinstance(seed, np.random.Generator):
        return [int(s) for s in seed.integers(0, 2**32, size=n)]
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(check_int(seed, name, low=0))
    return [int(child.generate_state(1)[0]) for child in ss.spawn(n)]


def _torch_seed(seed: Any, name: str) -> int:
    """The integer a torch generator is seeded with: ``seed`` itself, or a draw from a NumPy Generator."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    return check_int(seed, name, low=0)


def torch_generator(seed: Any = None, device: Any = "cpu", name: str = "seed"):
    """A :class:`torch.Generator` on ``device`` seeded from ``seed`` (None: fresh entropy); a Generator
    is returned as is. The global torch RNG is neither read nor changed."""
    import torch

    if isinstance(seed, torch.Generator):
        return seed
    gen = torch.Generator(device=device)
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(_torch_seed(seed, name))
    return gen


@contextlib.contextmanager
def torch_seeded(seed: Any, name: str = "seed") -> Iterator[None]:
    """Run a block (typically building ``nn`` modules, whose default initialisers draw from torch's
    global RNG) with torch's CPU RNG seeded from ``seed``, then restore the caller's RNG state exactly."""
    import torch

    value = None if seed is None else _torch_seed(seed, name)
    with torch.random.fork_rng(devices=[]):
        if value is not None:
            torch.manual_seed(value)
        yield


@contextlib.contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """Set torch's intra-op thread count to ``n`` for a block and restore the previous count after it
    (``None``: leave it as it is)."""
    import torch

    if n is None:
        yield
        return
    n = check_int(n, "threads", low=1)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def progress_disabled(progress: bool | None) -> bool | None:
    """The one progress rule, as tqdm's ``disable=`` argument.

    ``None`` (every entry point's default): a bar on a terminal, none in logs and pipes;
    ``True``: always a bar; ``False``: never.
    """
    if progress is None:
        return None
    return not check_bool(progress, "progress")
