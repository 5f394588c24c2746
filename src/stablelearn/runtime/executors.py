"""Executors: one interface, ``map(fn, items)`` with a progress bar, in-process, in a process pool
or on Ray.

Every item is run through :func:`call_seeded`, which seeds the global generators from the item
itself, so results do not depend on which executor ran the item, in which order, or where; the
caller's own global generators are restored afterwards. Worker processes (pool and Ray) run torch with
one thread per task, so two workers use two cores.
"""

from __future__ import annotations

import ast
import contextlib
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from stablelearn._conventions import check_choice, check_int, limit_threads, progress_disabled
from stablelearn.runtime.seeding import seed_everything, seed_from

#: When this module was imported (after the ``__main__`` script started): a script whose file is newer
#: was edited while it runs, so its guard cannot be read back from disk.
_IMPORTED_AT = time.time()

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "get_executor", "call_seeded"]


@contextlib.contextmanager
def _global_rngs_restored() -> Iterator[None]:
    """Restore Python's, NumPy's and torch's (CPU and initialised CUDA) global RNG states after a block."""
    import torch

    py_state, np_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def call_seeded(fn: Callable[[Any], Any], item: Any) -> Any:
    """``fn(item)`` with the global generators seeded from ``item``, then restored.

    Inside the call, Python's ``random``, NumPy's legacy global generator and torch's generators are
    seeded from a hash of ``item`` (0 when ``item`` is not JSON-serialisable), so code that draws from
    them gives the same result wherever the item runs. After the call, the caller's global states are
    restored, so running cells in-process leaves the caller's randomness untouched.

    Parameters
    ----------
    fn : callable
        A function of one argument.
    item : Any
        Its argument; a JSON-serialisable value (a cell dict) determines the seed.

    Returns
    -------
    Any
        ``fn(item)``.
    """
    try:
        seed = seed_from(item)
    except TypeError:
        seed = 0
    with _global_rngs_restored():
        seed_everything(seed)
        return fn(item)


def _init_worker() -> None:
    # before the task's modules (and so OpenMP) are loaded in a fresh worker process
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _worker_call(fn: Callable[[Any], Any], item: Any) -> Any:
    """:func:`call_seeded` with one torch thread: what a pool or Ray worker runs for one item."""
    with limit_threads(1):
        return call_seeded(fn, item)


def _guard_lines(path: str) -> list[tuple[int, int]]:
    """Line ranges of the bodies of ``if __name__ == "__main__":`` blocks in the file ``path``."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return []
    ranges = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1 \
                and isinstance(node.test.ops[0], ast.Eq):
            sides = [node.test.left, *node.test.comparators]
            names = {s.id for s in sides if isinstance(s, ast.Name)}
            values = {s.value for s in sides if isinstance(s, ast.Constant)}
            if names == {"__name__"} and values == {"__main__"}:
                ranges.append((node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno))
    return ranges


def _check_main_guarded(what: str) -> None:
    """Refuse to start spawned workers from the unguarded top level of the ``__main__`` script.

    A spawned worker re-runs the main script's top level (unless it is a package's ``__main__``); an
    unguarded call that starts workers would start workers again in each of them, which Python stops
    with a ``BrokenProcessPool`` that does not say why. Raised here, in the parent, with the fix.
    """
    main = sys.modules.get("__main__")
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if main is None or (spec_name is None and getattr(main, "__file__", None) is None):
        return  # interactive or ``python -c``: nothing is re-run
    if spec_name is not None and (spec_name == "__main__" or spec_name.endswith(".__main__")):
        return  # ``python -m package``: multiprocessing does not re-run a package's __main__
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    if frame is None:
        return
    line, path = frame.f_lineno, frame.f_code.co_filename
    try:
        if os.path.getmtime(path) > _IMPORTED_AT:
            return  # the script was edited while it runs: its source on disk may not be what runs
    except OSError:
        return
    if any(lo <= line <= hi for lo, hi in _guard_lines(path)):
        return
    raise RuntimeError(
        f"{what} starts worker processes with the 'spawn' method, and each worker re-runs the top level "
        f"of {frame.f_code.co_filename}, which starts workers again (line {line}). Put the script's "
        "top-level code under `if __name__ == \"__main__\":` (define the functions the workers run above "
        "it), or use jobs=1.")


class Executor:
    """Base class of the executors.

    Subclasses implement :meth:`imap`; :meth:`map` adds the ordering and the progress bar.
    """

    name = "executor"

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(items[index]))`` as items finish, in any order.

        Parameters
        ----------
        fn : callable
            A function of one item (module-level, so that it pickles, for process pools and Ray).
        items : sequence
            The items.

        Yields
        ------
        tuple of (int, Any)
            The index of an item and its result.
        """
        raise NotImplementedError

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str | None = None,
            progress: bool | None = None) -> list[Any]:
        """Results of ``fn`` on every item, in the order of ``items``.

        Parameters
        ----------
        fn : callable
            A function of one item, run through :func:`call_seeded`.
        items : sequence
            The items.
        desc : str, optional
            The progress bar's label.
        progress : bool or None, default None
            The house progress rule (:func:`stablelearn._conventions.progress_disabled`): ``None`` shows a
            bar on a terminal only.

        Returns
        -------
        list
            ``[fn(item) for item in items]``.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {fn!r} ({type(fn).__name__})")
        disable = progress_disabled(progress)
        items = list(items)
        out: list[Any] = [None] * len(items)
        with tqdm(total=len(items), desc=desc, leave=False, disable=disable) as bar:
            for i, value in self.imap(fn, items):
                out[i] = value
                bar.update(1)
        return out

    def close(self) -> None:
        """Release workers (pools, Ray); the executor can be used again afterwards."""


class LocalExecutor(Executor):
    """In-process when ``jobs == 1``; otherwise a pool of ``jobs`` spawned worker processes.

    Functions given to a pool must be picklable (defined at module level), and a script that uses a pool
    must keep its top-level code under ``if __name__ == "__main__":`` (a clear error says so otherwise).

    Parameters
    ----------
    jobs : int, default 1
        The number of worker processes (1: none, items run in the calling process).
    """

    name = "local"

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = check_int(jobs, "jobs", low=1)
        self._pool: ProcessPoolExecutor | None = None

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        if self.jobs == 1:
            for i, item in enumerate(items):
                yield i, call_seeded(fn, item)
            return
        if self._pool is None:
            import multiprocessing as mp

            _check_main_guarded(f"LocalExecutor(jobs={self.jobs})")
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=mp.get_context("spawn"),
                                             initializer=_init_worker)
        futures = {self._pool.submit(_worker_call, fn, item): i for i, item in enumerate(items)}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class RayExecutor(Executor):
    """Ray tasks, one CPU each.

    ``ray.init(address=...)``, or a local instance when no address is given: started with ``jobs`` CPUs
    (default: all) and the driver's ``sys.path``, so that functions defined in the caller's modules can be
    imported by the workers.

    Parameters
    ----------
    address : str, optional
        The address of a running Ray cluster.
    jobs : int, optional
        The CPUs of a local instance (default: all).

    Raises
    ------
    ValueError
        If the ``ray`` package is not installed.
    """

    name = "ray"

    def __init__(self, address: str | None = None, jobs: int | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError("executor 'ray' needs the ray package: pip install 'stablelearn[ray]'") from None
        if address is not None and not isinstance(address, str):
            raise TypeError(f"address must be a string, got {address!r} ({type(address).__name__})")
        self.address = address
        self.jobs = None if jobs is None else check_int(jobs, "jobs", low=1)
        self._remote: Any = None

    def _start(self) -> Any:
        import ray

        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(ignore_reinit_error=True, include_dashboard=False,
                                          log_to_driver=False, logging_level="ERROR")
            if self.address is None:
                path = os.pathsep.join(p for p in sys.path if p)
                kwargs["num_cpus"] = self.jobs or os.cpu_count()
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}}
            else:
                kwargs["address"] = self.address
            ray.init(**kwargs)
        if self._remote is None:
            self._remote = ray.remote(num_cpus=1)(_worker_call)
        return ray

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        ray = self._start()
        refs = {self._remote.remote(fn, item): i for i, item in enumerate(items)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield refs[ref], ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        import ray

        if ray.is_initialized() and self.address is None:
            ray.shutdown()
        self._remote = None


def get_executor(kind: str = "local", jobs: int | None = None, address: str | None = None) -> Executor:
    """The executor named ``kind``.

    Parameters
    ----------
    kind : {"local", "ray"}, default "local"
        In-process or a process pool (``"local"``), or Ray.
    jobs : int, optional
        Worker processes (``"local"``, default 1) or CPUs of a local Ray instance (default: all).
    address : str, optional
        A running Ray cluster (``"ray"`` only).

    Returns
    -------
    Executor

    Raises
    ------
    ValueError
        For an unknown ``kind``, ``jobs < 1``, an ``address`` without Ray, or Ray not installed.
    TypeError
        For a ``jobs`` that is not an integer.
    """
    kind = check_choice(kind, "executor", ("local", "ray"))
    if kind == "local":
        if address is not None:
            raise ValueError("address is only used by the 'ray' executor")
        return LocalExecutor(1 if jobs is None else jobs)
    return RayExecutor(address=address, jobs=jobs)
