"""Executors: one interface, ``map(fn, items)`` with a progress bar, in-process, in a process pool
or on Ray.

Every item is run through :func:`call_seeded`, which seeds the global generators from the item
itself, so results do not depend on which executor ran the item, in which order, or where.
Worker processes (pool and Ray) run torch with one thread each, so two workers use two cores.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Iterator, Sequence

from tqdm.auto import tqdm

from stablelearn.runtime.seeding import seed_everything, seed_from

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "get_executor", "call_seeded"]


def call_seeded(fn: Callable[[Any], Any], item: Any) -> Any:
    """Seed from ``item`` (when it is JSON-serialisable), then return ``fn(item)``."""
    try:
        seed = seed_from(item)
    except TypeError:
        seed = 0
    seed_everything(seed)
    return fn(item)


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


class Executor:
    """Base class. Subclasses implement :meth:`imap`, yielding ``(index, result)`` as items finish."""

    name = "executor"

    def imap(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str | None = None,
            progress: bool | None = None) -> list:
        """Results of ``fn`` on every item, in the order of ``items``."""
        items = list(items)
        out: list[Any] = [None] * len(items)
        with tqdm(total=len(items), desc=desc, leave=False, disable=_disabled(progress)) as bar:
            for i, value in self.imap(fn, items):
                out[i] = value
                bar.update(1)
        return out

    def close(self) -> None:
        """Release workers (pools, Ray); the executor can be used again afterwards."""


def _disabled(progress: bool | None) -> bool | None:
    # None: tqdm shows the bar on a terminal and stays quiet in logs
    return None if progress is None else not progress


class LocalExecutor(Executor):
    """In-process when ``jobs == 1``; otherwise a pool of ``jobs`` spawned worker processes.

    Functions given to a pool must be picklable (defined at module level).
    """

    name = "local"

    def __init__(self, jobs: int = 1) -> None:
        if not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def imap(self, fn, items):
        if self.jobs == 1:
            for i, item in enumerate(items):
                yield i, call_seeded(fn, item)
            return
        if self._pool is None:
            import multiprocessing as mp

            self._pool = ProcessPoolExecutor(self.jobs, mp_context=mp.get_context("spawn"),
                                             initializer=_init_worker)
        futures = {self._pool.submit(call_seeded, fn, item): i for i, item in enumerate(items)}
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
    """Ray tasks, one CPU each: ``ray.init(address=...)``, or a local instance when no address is given.

    A local instance is started with ``jobs`` CPUs (default: all) and the driver's ``sys.path``,
    so that functions defined in the caller's modules can be imported by the workers.
    """

    name = "ray"

    def __init__(self, address: str | None = None, jobs: int | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError("executor 'ray' needs the ray package: pip install 'stablelearn[ray]'") from None
        if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
            raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
        self.address = address
        self.jobs = jobs
        self._remote = None

    def _start(self):
        import sys

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
            self._remote = ray.remote(num_cpus=1)(_ray_call)
        return ray

    def imap(self, fn, items):
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


def _ray_call(fn, item):
    _init_worker()
    return call_seeded(fn, item)


def get_executor(kind: str = "local", jobs: int | None = None, address: str | None = None) -> Executor:
    """The executor named ``kind`` (``"local"`` or ``"ray"``)."""
    if kind == "local":
        if address is not None:
            raise ValueError("address is only used by the 'ray' executor")
        return LocalExecutor(1 if jobs is None else jobs)
    if kind == "ray":
        return RayExecutor(address=address, jobs=jobs)
    raise ValueError(f"executor must be 'local' or 'ray', got {kind!r}")
